// Planning messages to exact token counts (loadgen/prompt-sizing.ts), the history copy of replies
// with reasoning, and the LMCache fork's statistics figures: the pure parts. The tokenizers here
// are small functions standing in for a server's /tokenize; test/real-servers/ checks the same
// code against vLLM's own tokenizer.
import { describe, expect, it } from 'vitest';
import { WORDS, PromptBuilder, ASSUMED_CALIBRATION, messageRandom, plannedText } from '../../loadgen/prompt.ts';
import { measureWordTable, planWords, reportMessageSizes, sizeMessages, type CountTokens } from '../../loadgen/prompt-sizing.ts';
import { historyReply } from '../../loadgen/conversation.ts';
import { lmcacheStatsFigures } from '../../loadgen/lmcache-stats.ts';
import type { TraceTurn } from '../../loadgen/trace-parse.ts';

/** A word-splitting tokenizer like byte-level BPE: a word is ceil(letters / 3) tokens, one more at the start of a text. */
const wordwise: CountTokens = async (text) =>
  text.split(' ').reduce((sum, word, i) => sum + Math.ceil(word.length / 3) + (i === 0 && word.length > 4 ? 1 : 0), 0);

/** The same, plus one token per 40 words: counts are not additive, so plans need correcting. */
const merging: CountTokens = async (text) => (await wordwise(text)) + Math.floor(text.split(' ').length / 40);

function turns(lengths: number[]): TraceTurn[] {
  return lengths.map((queryTokens, index) => ({ index, offsetMs: index, conversationId: `c${index % 7}`, turn: Math.floor(index / 7) + 1, queryTokens, replyTokens: 9, modelName: null, line: index + 2 }));
}

const LENGTHS = [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597, 4, 7, 60, 61, 62, 250, 251, 1000];

describe('message sizes planned with the server tokenizer', () => {
  it('measures every word alone and after another word, and finds one-token fillers', async () => {
    const table = await measureWordTable(wordwise);
    expect(table.first).toHaveLength(WORDS.length);
    expect(table.rest[WORDS.indexOf('the')]).toBe(1);
    expect(table.rest[WORDS.indexOf('between')]).toBe(3);
    expect(table.first[WORDS.indexOf('between')]).toBe(4);
    expect(table.rest[table.filler]).toBe(1);
    expect(table.first[table.fillerFirst]).toBe(1);
  });

  it('plans every message to exactly its length when counts add up', async () => {
    const table = await measureWordTable(wordwise);
    const trace = turns(LENGTHS);
    const sized = await sizeMessages(trace, 3, false, table, wordwise);
    for (const turn of trace) {
      const text = new PromptBuilder(3, ASSUMED_CALIBRATION, sized.plans).userMessage(turn.conversationId, turn.turn, turn.queryTokens, turn.index);
      expect(await wordwise(text), `turn ${turn.index}`).toBe(turn.queryTokens);
      expect(sized.measured[turn.index]).toBe(turn.queryTokens);
    }
    const report = reportMessageSizes(sized, 'x');
    expect(report).toMatchObject({ method: 'tokenize', checked: LENGTHS.length, exact: LENGTHS.length, within_1: LENGTHS.length, max_abs_error: 0, error_counts: { '0': LENGTHS.length } });
  });

  it('re-plans the messages a tokenizer counts otherwise, to within one token', async () => {
    const table = await measureWordTable(merging);
    const sized = await sizeMessages(turns(LENGTHS), 3, false, table, merging);
    const report = reportMessageSizes(sized, 'x');
    expect(report.within_1).toBe(LENGTHS.length);
    expect(report.exact).toBeGreaterThan(LENGTHS.length - 3);
  });

  it('sizes mock-decoding messages to query plus reply', async () => {
    const table = await measureWordTable(wordwise);
    const sized = await sizeMessages(turns([10, 20]), 3, true, table, wordwise);
    expect([...sized.measured]).toEqual([19, 29]);
  });

  it('keeps the texts a seed gives: the plan is a prefix of the turn\'s word sequence plus fillers', async () => {
    const table = await measureWordTable(wordwise);
    const plan = planWords(messageRandom(1, 'a', 2), 40, table);
    const text = plannedText(messageRandom(1, 'a', 2), plan.words, plan.fill, table.filler, table.fillerFirst);
    const unplanned = new PromptBuilder(1, ASSUMED_CALIBRATION).userMessage('a', 2, plan.words);
    expect(text.startsWith(unplanned)).toBe(true);
    expect(plan.fill).toBeLessThan(3);
  });
});

describe('replies with reasoning in the history', () => {
  it('rewrites </think> to <think> only when asked, and counts the rewrites', () => {
    const replies = { rewriteReasoning: true, rewritten: 0 };
    expect(historyReply('<think>\nwhy\n</think>\n\nanswer', replies)).toBe('<think>\nwhy\n<think>\n\nanswer');
    expect(historyReply('no reasoning here', replies)).toBe('no reasoning here');
    expect(replies.rewritten).toBe(1);
    const verbatim = { rewriteReasoning: false, rewritten: 0 };
    expect(historyReply('<think>x</think>y', verbatim)).toBe('<think>x</think>y');
    expect(verbatim.rewritten).toBe(0);
  });
});

describe("the LMCache fork's /lmcache/stats figures", () => {
  const url = 'http://127.0.0.1:9000/lmcache/stats';
  it('counts are deltas, rates and averages as the server reports them, conversation stats as they are', () => {
    const before = { ok: true as const, lmcache: { requests: 0, query_tokens: 0, hit_tokens: 0, retrieved_tokens: 0, hit_rate: 0, retrieved_rate: 0 }, conversation: {} };
    const after = {
      ok: true as const,
      lmcache: { requests: 20, query_tokens: 4000, hit_tokens: 1000, retrieved_tokens: 800, hit_rate: 0.25, retrieved_rate: 0.2 },
      conversation: { requests: 20, nonzero_turn_ratio: 0.45, avg_interval: '3.2s' },
    };
    const f = lmcacheStatsFigures(url, before, after);
    expect(f).toMatchObject({ url, status: 'ok', figures: { requests: 20, query_tokens: 4000, hit_tokens: 1000, retrieved_tokens: 800, hit_rate: 0.25, retrieved_rate: 0.2 } });
    expect(f.conversation).toEqual({ requests: 20, nonzero_turn_ratio: 0.45, avg_interval: '3.2s' });
    const later = lmcacheStatsFigures(url, { ...after, conversation: {} }, { ...after, lmcache: { ...after.lmcache, requests: 25, hit_rate: 0.3 } });
    expect(later.figures).toMatchObject({ requests: 5, query_tokens: 0, hit_rate: 0.3 });
    expect(later.detail).toContain('had served requests before the run');
  });

  it('an endpoint that does not answer is unavailable, with the reason', () => {
    const f = lmcacheStatsFigures(url, { ok: false, detail: 'GET x failed: ECONNREFUSED' }, { ok: false, detail: 'GET x failed: ECONNREFUSED' });
    expect(f).toEqual({ url, status: 'unavailable', detail: 'GET x failed: ECONNREFUSED', figures: {}, conversation: {} });
  });
});
