// Exact message sizes, planned and checked with the server's own tokenizer before the clock starts.
// One average of tokens per word sized every message before, and with a real BPE tokenizer that
// was off by 13% on average (docs/loadgen.md). Tokenizers that split text into words before
// merging (GPT-2/Llama-3/Qwen byte-level BPE, SentencePiece) count a text of words as the sum of
// its words' counts, so the client asks /tokenize once per word of its list (alone, and after
// another word), plans each message's words to its trace length with that table, then counts
// every planned message with /tokenize and re-plans the few that came out otherwise. The plans
// are small typed arrays; the texts are generated again at send time from the same seed.
import type { TraceTurn } from './trace-parse.ts';
import { WORDS, messageRandom, plannedText, type MessagePlans } from './prompt.ts';
import type { SeededRandom } from './random.ts';
import type { MessageSizeReport } from './result-schema.ts';

/** Tokens of each word of WORDS at the start of a text (`first`) and after a space (`rest`). */
export interface WordTable {
  first: Int32Array;
  rest: Int32Array;
  /** A word counted as one token after a space, and one counted as one token at the start. */
  filler: number;
  fillerFirst: number;
}

/** Counts the tokens of a text (POST /tokenize with add_special_tokens false). */
export type CountTokens = (text: string) => Promise<number>;

/** /tokenize calls in flight at once while sizing: enough to hide a round trip, not a burst. */
export const SIZING_CONCURRENCY = 8;
/** Re-plans of a message whose count came out off its length (a tokenizer that merges across words). */
const MAX_REPLANS = 3;
/** The word the `rest` counts are measured after: count("the w") - count("the"). */
const ANCHOR = 'the';

/** Runs `task` for 0..n-1, at most `limit` at a time; rejects with the first failure. */
export async function forEachLimited(n: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

/** Asks the server for every word's count; throws when no word is a single token (no filler). */
export async function measureWordTable(count: CountTokens): Promise<WordTable> {
  const first = new Int32Array(WORDS.length);
  const rest = new Int32Array(WORDS.length);
  const anchor = await count(ANCHOR);
  await forEachLimited(WORDS.length * 2, SIZING_CONCURRENCY, async (i) => {
    const w = i >> 1;
    if ((i & 1) === 0) first[w] = await count(WORDS[w]!);
    else rest[w] = (await count(`${ANCHOR} ${WORDS[w]}`)) - anchor;
  });
  const filler = rest.findIndex((n) => n === 1);
  const fillerFirst = first.findIndex((n) => n === 1);
  if (filler < 0 || fillerFirst < 0) throw new Error('no word of the list is a single token for this tokenizer');
  return { first, rest, filler, fillerFirst };
}

/**
 * The plan of a message of `target` tokens: the words of the turn's sequence while they fit,
 * then one-token fillers for what is left (fewer tokens than the next word takes).
 */
export function planWords(random: SeededRandom, target: number, table: WordTable): { words: number; fill: number } {
  let total = 0;
  let words = 0;
  while (total < target) {
    const w = random.int(WORDS.length);
    const c = words === 0 ? table.first[w]! : table.rest[w]!;
    if (total + c > target) break;
    total += c;
    words++;
  }
  return { words, fill: target - total };
}

export interface SizedMessages {
  plans: MessagePlans;
  /** The server's count of each planned message (by turn index); -1: not sized. */
  measured: Int32Array;
  /** The length each message was sized to (the trace's query length, plus the reply's with mock decoding). */
  targets: Int32Array;
}

/**
 * Plans each turn's message and checks it with the server's count, re-planning where it is off.
 * `sized(index)` false skips a turn that cannot be sent (scheduled after the time limit): it keeps
 * no plan, and -1 as its count.
 */
export async function sizeMessages(
  turns: readonly TraceTurn[],
  seed: number,
  mockDecoding: boolean,
  table: WordTable,
  count: CountTokens,
  sized: (index: number) => boolean = () => true,
): Promise<SizedMessages> {
  const n = turns.length;
  const plans: MessagePlans = { words: new Int32Array(n).fill(-1), fill: new Uint16Array(n), filler: table.filler, fillerFirst: table.fillerFirst };
  const measured = new Int32Array(n).fill(-1);
  const targets = new Int32Array(n).fill(-1);
  const todo = turns.filter((turn) => sized(turn.index));
  await forEachLimited(todo.length, SIZING_CONCURRENCY, async (i) => {
    const turn = todo[i]!;
    const target = mockDecoding ? turn.queryTokens + turn.replyTokens : turn.queryTokens;
    targets[turn.index] = target;
    let nominal = target;
    let best: { words: number; fill: number; tokens: number } | null = null;
    for (let round = 0; round <= MAX_REPLANS; round++) {
      const plan = planWords(messageRandom(seed, turn.conversationId, turn.turn), nominal, table);
      const text = plannedText(messageRandom(seed, turn.conversationId, turn.turn), plan.words, plan.fill, table.filler, table.fillerFirst);
      const tokens = await count(text);
      if (best === null || Math.abs(tokens - target) <= Math.abs(best.tokens - target)) best = { ...plan, tokens };
      if (tokens === target) break;
      nominal = Math.max(1, nominal + target - tokens);
    }
    plans.words[turn.index] = best!.words;
    plans.fill[turn.index] = best!.fill;
    measured[turn.index] = best!.tokens;
  });
  return { plans, measured, targets };
}

/** Errors of at most this many tokens are counted one by one in `error_counts`; larger ones together. */
const ERROR_BUCKET_LIMIT = 10;

/** How close the messages came to their trace lengths (server count minus length). */
export function reportMessageSizes(sized: SizedMessages, detail: string): MessageSizeReport {
  const counts = new Map<string, number>();
  let exact = 0;
  let within1 = 0;
  let sum = 0;
  let sumAbs = 0;
  let maxAbs = 0;
  let n = 0;
  for (let i = 0; i < sized.measured.length; i++) {
    if (sized.measured[i]! < 0) continue; // not sized: never sent
    n++;
    const error = sized.measured[i]! - sized.targets[i]!;
    const abs = Math.abs(error);
    if (abs === 0) exact++;
    if (abs <= 1) within1++;
    sum += error;
    sumAbs += abs;
    maxAbs = Math.max(maxAbs, abs);
    const key = abs <= ERROR_BUCKET_LIMIT ? String(error) : error < 0 ? `<-${ERROR_BUCKET_LIMIT}` : `>${ERROR_BUCKET_LIMIT}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return {
    method: 'tokenize',
    detail,
    checked: n,
    exact,
    within_1: within1,
    mean_error: n > 0 ? sum / n : null,
    mean_abs_error: n > 0 ? sumAbs / n : null,
    max_abs_error: n > 0 ? maxAbs : null,
    error_counts: Object.fromEntries([...counts].sort((a, b) => bucketOrder(a[0]) - bucketOrder(b[0]))),
  };
}

function bucketOrder(key: string): number {
  if (key.startsWith('<')) return -Infinity;
  if (key.startsWith('>')) return Infinity;
  return Number(key);
}

/** What result.json says when messages were sized by the calibration alone (no /tokenize). */
export function estimatedMessageSizes(detail: string): MessageSizeReport {
  return { method: 'estimate', detail, checked: 0, exact: 0, within_1: 0, mean_error: null, mean_abs_error: null, max_abs_error: null, error_counts: {} };
}
