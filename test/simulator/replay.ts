// A minimal sequential conversation replayer for ground-truth tests: each turn sends the whole
// history (earlier user messages and the replies actually received) plus the new user message.
import { chat, type ChatResult } from './sim-process.ts';

/** `n` words of letters only (one token each), unique per (conversation, turn). */
export function words(conversation: number, turn: number, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    let x = conversation * 1_000_003 + turn * 10_007 + i;
    let w = '';
    do {
      w += String.fromCharCode(97 + (x % 26));
      x = Math.floor(x / 26);
    } while (x > 0);
    out.push(w);
  }
  return out.join(' ');
}

export interface Turn {
  conversation: number;
  userTokens: number;
  replyTokens: number;
}

export interface TurnResult extends ChatResult {
  turn: Turn;
  index: number; // turn number within its conversation, from 0
}

/** Replays `turns` one at a time, in order. */
export async function replay(baseUrl: string, model: string, turns: Turn[]): Promise<TurnResult[]> {
  const histories = new Map<number, { role: string; content: string }[]>();
  const results: TurnResult[] = [];
  for (const t of turns) {
    const history = histories.get(t.conversation) ?? [];
    const index = history.length / 2;
    history.push({ role: 'user', content: words(t.conversation, index, t.userTokens) });
    const r = await chat(baseUrl, {
      model,
      messages: history,
      max_completion_tokens: t.replyTokens,
      min_tokens: t.replyTokens,
      ignore_eos: true,
      user: `conv-${t.conversation}`,
      temperature: 0,
    });
    history.push({ role: 'assistant', content: r.text });
    histories.set(t.conversation, history);
    results.push({ ...r, turn: t, index });
  }
  return results;
}
