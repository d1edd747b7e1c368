// Synthetic conversation traces in the production CSV format: conversations arrive as a Poisson
// process, each has a geometric number of turns, lengths are log-normal, and the gap between two
// turns of a conversation is a log-normal think time. Same options and seed, same file.
import { SeededRandom } from './random.ts';

export interface SynthOptions {
  conversations: number;
  seed: number;
  /** New conversations per second (Poisson arrivals). */
  conversationRate: number;
  /** Mean turns per conversation (geometric, at least 1), capped by maxTurns. */
  turnsMean: number;
  maxTurns: number;
  /** Median tokens of the first user message (often longer: instructions, pasted context). */
  firstQueryMedian: number;
  /** Median tokens of later user messages. */
  queryMedian: number;
  querySigma: number;
  replyMedian: number;
  replySigma: number;
  /** Largest query and reply lengths written (log-normal tails are long). */
  maxQueryTokens: number;
  maxReplyTokens: number;
  /** Median seconds between the request times of two consecutive turns of a conversation. */
  thinkTimeMedian: number;
  thinkTimeSigma: number;
  /** Epoch milliseconds of the first conversation's arrival. */
  startMs: number;
  idFormat: 'int' | 'uuid';
  /** When set, a ModelName column with this value. */
  modelName: string | null;
}

export const DEFAULT_SYNTH_OPTIONS: SynthOptions = {
  conversations: 100,
  seed: 1,
  conversationRate: 1,
  turnsMean: 4,
  maxTurns: 32,
  firstQueryMedian: 200,
  queryMedian: 60,
  querySigma: 0.8,
  replyMedian: 150,
  replySigma: 0.7,
  maxQueryTokens: 4096,
  maxReplyTokens: 2048,
  thinkTimeMedian: 20,
  thinkTimeSigma: 0.8,
  startMs: Date.UTC(2025, 0, 1, 0, 0, 0),
  idFormat: 'int',
  modelName: null,
};

export interface SynthRow {
  timestampMs: number;
  conversationId: string;
  queryTokens: number;
  replyTokens: number;
}

/** The rows of a synthetic trace, sorted by time. */
export function synthesizeTrace(options: SynthOptions): SynthRow[] {
  const random = new SeededRandom(options.seed);
  const rows: SynthRow[] = [];
  const length = (median: number, sigma: number, max: number): number =>
    Math.min(max, Math.max(1, Math.round(random.logNormal(median, sigma))));
  let arrivalS = 0;
  for (let c = 0; c < options.conversations; c++) {
    if (c > 0) arrivalS += random.exponential(1 / options.conversationRate);
    const id = options.idFormat === 'uuid' ? uuidFrom(random) : String(c + 1);
    const turns = Math.min(options.maxTurns, random.geometric(options.turnsMean));
    let timeS = arrivalS;
    for (let t = 0; t < turns; t++) {
      if (t > 0) timeS += random.logNormal(options.thinkTimeMedian, options.thinkTimeSigma);
      rows.push({
        timestampMs: options.startMs + Math.round(timeS * 1000),
        conversationId: id,
        queryTokens: length(t === 0 ? options.firstQueryMedian : options.queryMedian, options.querySigma, options.maxQueryTokens),
        replyTokens: length(options.replyMedian, options.replySigma, options.maxReplyTokens),
      });
    }
  }
  // Stable sort: turns of one conversation at the same millisecond keep their order.
  return rows.sort((a, b) => a.timestampMs - b.timestampMs);
}

/** `2025-05-29 05:00:07.053`: the production traces' timestamp format (UTC). */
export function formatTimestamp(epochMs: number): string {
  return new Date(epochMs).toISOString().replace('T', ' ').replace('Z', '');
}

function uuidFrom(random: SeededRandom): string {
  const hex = Array.from({ length: 4 }, () => random.nextUint32().toString(16).padStart(8, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
