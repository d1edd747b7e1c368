// The request stream every offline input is read into: one entry per turn, in arrival order, as
// columns (a million-turn trace stays a few tens of MB). A turn's prompt is either built from its
// conversation's history as a live replay builds it (trace CSV: the new user message's tokens are
// given) or given whole as a server counted it (an earlier run's requests.jsonl, the old tool's
// logs); either way a conversation's turns extend one token stream, so turn N's prompt begins with
// turn N-1's prompt and reply.
import { z } from 'zod';

export const InputKind = z.enum(['trace_csv', 'requests_jsonl', 'server_log']);
export type InputKind = z.infer<typeof InputKind>;

export interface RequestStream {
  kind: InputKind;
  path: string;
  /** Conversation ids, by conversation number. */
  conversationIds: string[];
  size: number;
  /** Conversation number of each turn. */
  conversation: Int32Array;
  /** 1-based position of the turn in its conversation. */
  turn: Int32Array;
  /** Milliseconds after the first turn, as recorded (a replay at rate R divides them by R). */
  offsetMs: Float64Array;
  /** Tokens of the turn's new user message (prompt built from the history); -1 when the prompt is given. */
  queryTokens: Int32Array;
  /** The whole prompt as a server counted it; -1 when it is built from the history. */
  promptTokens: Int32Array;
  replyTokens: Int32Array;
  /** What the reader dropped or assumed, one line each. */
  notes: string[];
}

/** One turn as a reader collects it, before ordering. */
export interface TurnRow {
  conversationId: string;
  turn: number;
  offsetMs: number;
  queryTokens: number;
  promptTokens: number;
  replyTokens: number;
  /** Tie-breaker for equal times: position in the input. */
  order: number;
}

/**
 * Orders rows by time (input order breaks ties), keeps the first `limit`, renumbers the turns of
 * each conversation from 1 in that order, and makes the times relative to the first kept row.
 */
export function buildStream(kind: InputKind, path: string, rows: TurnRow[], limit: number | null, notes: string[]): RequestStream {
  rows.sort((a, b) => a.offsetMs - b.offsetMs || a.order - b.order);
  const kept = limit === null ? rows : rows.slice(0, limit);
  if (limit !== null && rows.length > kept.length) notes.push(`${rows.length - kept.length} turns beyond num_prompts ${limit} left out`);
  const n = kept.length;
  const stream = emptyStream(kind, path, n, notes);
  const numbers = new Map<string, number>();
  const turns: number[] = [];
  const first = n > 0 ? kept[0]!.offsetMs : 0;
  for (let i = 0; i < n; i++) {
    const row = kept[i]!;
    let c = numbers.get(row.conversationId);
    if (c === undefined) {
      c = stream.conversationIds.length;
      numbers.set(row.conversationId, c);
      stream.conversationIds.push(row.conversationId);
      turns.push(0);
    }
    stream.conversation[i] = c;
    stream.turn[i] = ++turns[c]!;
    stream.offsetMs[i] = row.offsetMs - first;
    stream.queryTokens[i] = row.queryTokens;
    stream.promptTokens[i] = row.promptTokens;
    stream.replyTokens[i] = row.replyTokens;
  }
  return stream;
}

/** A stream of `n` turns with zeroed columns, for a reader to fill. */
export function emptyStream(kind: InputKind, path: string, n: number, notes: string[]): RequestStream {
  return {
    kind,
    path,
    conversationIds: [],
    size: n,
    conversation: new Int32Array(n),
    turn: new Int32Array(n),
    offsetMs: new Float64Array(n),
    queryTokens: new Int32Array(n),
    promptTokens: new Int32Array(n),
    replyTokens: new Int32Array(n),
    notes,
  };
}
