// The old simulator's scorers (OLD-TOOL.md section 4). Each has a per-event part (`eventBase`, from
// the conversation's features when a turn is stored) and a score at a time. Arithmetic follows the
// old tool's order of operations, so equal inputs give bit-equal scores and ties break the same way.
import type { ConversationEvent } from '../lightgbm/training-set.ts';
import { ConversationFeatures, FEATURE_COUNT } from '../lightgbm/features.ts';
import type { LightgbmModel } from '../lightgbm/model.ts';
import type { Entry } from './entries.ts';
import type { Scorer } from './policies.ts';

/** Seconds over which a stored entry's score falls by 1 (conversation_aware and lightgbm). */
export const AGE_DECAY_SECONDS = 120;

export interface EventScorer extends Scorer {
  /** The value an entry stored now for `conversation` starts from. */
  eventBase(conversation: number, features: ConversationFeatures): number;
}

/** Score minus age / 120 s, age counted from the entry's store. */
function decayed(entry: Entry, now: number, start: number): number {
  const age = now - (entry.access - start);
  return entry.base + -age / AGE_DECAY_SECONDS;
}

export interface RuleWeights {
  lengthNorm: number;
  reuseReference: number;
  baseScore: number;
  lengthWeight: number;
  reuseWeight: number;
}

/** conversation_aware's defaults (rule_scorer.py:20-27). */
export const RULE_DEFAULTS: RuleWeights = { lengthNorm: 100, reuseReference: 2000, baseScore: 0, lengthWeight: 0.5, reuseWeight: 0.5 };

/** conversation_aware: 0.5 min(query/100, 1) + 0.5 exp(-previous interval / 2000), 0 for a first turn's interval. */
export function ruleScorer(w: RuleWeights = RULE_DEFAULTS): EventScorer {
  return {
    eventBase(conversation, features) {
      const lengthScore = Math.min(features.latestQueryLength(conversation) / w.lengthNorm, 1);
      const interval = features.latestInterval(conversation);
      const reuseScore = interval === 0 ? 0 : Math.exp(-interval / w.reuseReference);
      return w.baseScore + w.lengthWeight * lengthScore + w.reuseWeight * reuseScore;
    },
    score: decayed,
  };
}

/** lightgbm: the model's prediction for the conversation's features + 1e-6, minus age / 120 s. */
export function lightgbmScorer(model: LightgbmModel): EventScorer {
  const vector = new Float64Array(FEATURE_COUNT);
  return {
    eventBase(conversation, features) {
      return model.predict(features.vector(conversation, vector)) + 1e-6;
    },
    score: decayed,
  };
}

const NEVER_AGAIN = -1e8;

/**
 * oracle: minus the seconds until the conversation's next send after now, -1e8 when it never sends
 * again. Send times are taken relative to the earliest send of the whole replay.
 */
export function oracleScorer(events: readonly ConversationEvent[]): EventScorer {
  let first = Infinity;
  for (const e of events) if (e.kind === 'send' && e.time < first) first = e.time;
  const sends = new Map<number, number[]>();
  for (const e of events) {
    if (e.kind !== 'send') continue;
    let list = sends.get(e.conversation);
    if (!list) sends.set(e.conversation, (list = []));
    list.push(e.time - first);
  }
  for (const list of sends.values()) list.sort((a, b) => a - b);
  return {
    eventBase: () => 0,
    score(entry, now) {
      const list = sends.get(entry.conversation);
      if (!list) return NEVER_AGAIN;
      // First send strictly after now.
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (list[mid]! > now) hi = mid;
        else lo = mid + 1;
      }
      if (lo === list.length) return NEVER_AGAIN;
      return -Math.max(0, list[lo]! - now);
    },
  };
}
