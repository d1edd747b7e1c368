// Training rows for a LightGBM eviction scorer: one row per done event (the moment a turn's whole
// context is cached), its eight features and the seconds until that conversation's next send. The
// label is made from those seconds by the training script, per mode.
import { ConversationFeatures, FEATURE_COUNT } from './features.ts';

/** A send (a turn's prompt of `tokens`, the whole context) or a done (a reply of `tokens`). */
export interface ConversationEvent {
  kind: 'send' | 'done';
  conversation: number;
  turn: number;
  /** Seconds (any origin; only differences matter). */
  time: number;
  tokens: number;
}

export interface TrainingSet {
  /** Row-major features, FEATURE_COUNT per row. */
  features: Float64Array;
  /** Seconds from the done to the conversation's next send; null when it never sends again. */
  secondsToNextSend: Array<number | null>;
  rows: number;
}

/** Seconds to the next send of the same conversation after each event index (null: none). */
function nextSendGaps(events: readonly ConversationEvent[]): Array<number | null> {
  const gaps: Array<number | null> = new Array(events.length).fill(null);
  const nextSendTime = new Map<number, number>();
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    const next = nextSendTime.get(e.conversation);
    gaps[i] = next === undefined ? null : next - e.time;
    if (e.kind === 'send') nextSendTime.set(e.conversation, e.time);
  }
  return gaps;
}

/**
 * Rows from events in replay order. Query lengths are measured against the context recorded at
 * the previous done (the prompt of this turn's send plus its reply), as the old tool's training does.
 */
export function buildTrainingSet(events: readonly ConversationEvent[]): TrainingSet {
  const tracker = new ConversationFeatures();
  const sendTokens = new Map<string, number>();
  const gaps = nextSendGaps(events);
  const rows: number[] = [];
  const vectors: Float64Array[] = [];
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (e.kind === 'send') {
      sendTokens.set(`${e.conversation}:${e.turn}`, e.tokens);
      const query = tracker.queryLength(e.conversation, e.tokens);
      tracker.record(e.conversation, e.turn, e.time, 'send', query, 0);
    } else {
      const input = sendTokens.get(`${e.conversation}:${e.turn}`) ?? 0;
      tracker.setContext(e.conversation, input + e.tokens);
      tracker.record(e.conversation, e.turn, e.time, 'done', 0, e.tokens);
      vectors.push(tracker.vector(e.conversation));
      rows.push(i);
    }
  }
  const features = new Float64Array(rows.length * FEATURE_COUNT);
  vectors.forEach((v, r) => features.set(v, r * FEATURE_COUNT));
  return { features, secondsToNextSend: rows.map((i) => gaps[i]!), rows: rows.length };
}
