// What the replay knows before it starts: each turn's scheduled time and the order of each
// conversation's turns. The driver follows it; the oracle reads the future from it.
import { scheduleTimes } from '../loadgen/schedule.ts';
import type { RequestStream } from './inputs/stream.ts';

export interface ReplayPlan {
  stream: RequestStream;
  /** Scheduled send time of each turn, ms after the start (the recorded time / rate, or Poisson). */
  scheduledMs: Float64Array;
  /** The same in seconds (the virtual clock's unit). */
  scheduledS: Float64Array;
  /** The conversation's next turn after each turn; -1 after its last. */
  nextTurn: Int32Array;
  /** Each conversation's first turn. */
  firstTurn: Int32Array;
}

export function planReplay(stream: RequestStream, arrival: 'trace' | 'poisson', rate: number, seed: number): ReplayPlan {
  const n = stream.size;
  const scheduledS = new Float64Array(n);
  const scheduledMs = scheduleTimes(stream.offsetMs, arrival, rate, seed);
  for (let i = 0; i < n; i++) scheduledS[i] = scheduledMs[i]! / 1000;
  const conversations = stream.conversationIds.length;
  const firstTurn = new Int32Array(conversations).fill(-1);
  const last = new Int32Array(conversations).fill(-1);
  const nextTurn = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const c = stream.conversation[i]!;
    if (firstTurn[c] === -1) firstTurn[c] = i;
    else nextTurn[last[c]!] = i;
    last[c] = i;
  }
  return { stream, scheduledMs, scheduledS, nextTurn, firstTurn };
}
