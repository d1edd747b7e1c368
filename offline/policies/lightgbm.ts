// The lightgbm policy in kvsweep's model: a model trained with the real `lightgbm` library
// (offline/lightgbm: the old tool's eight conversation features, its label per mode, the project's
// trainer script) ranks the conversations holding CPU-tier chunks; the lowest value (expected back
// last) is evicted first. It plugs into the CPU tier's scored-conversation seam and hears each
// send and each reply from the replay.
//
// Training events come from a replay of the same engine with lru: the first `train_fraction` of the
// input's requests (default), or every request of another input (`train_on`). With a split, the
// replay still runs the whole input (the cache is warmed by the training part) and result.json says
// which requests were trained on and gives the hit rates of the rest, the evaluated part.
import type { ConversationScorer } from '../../simulator/cpu-tier.ts';
import { LightgbmConversationScorer } from '../lightgbm/scorer.ts';
import type { LightgbmModel } from '../lightgbm/model.ts';
import type { ConversationEvent } from '../lightgbm/training-set.ts';
import type { OfflineRecords } from '../records.ts';
import type { ReplayPlan } from '../replay-plan.ts';
import type { PolicyHooks } from './index.ts';

export class LightgbmPolicy implements ConversationScorer, PolicyHooks {
  private readonly scorer: LightgbmConversationScorer;
  private readonly numbers: Map<string, number>;
  private changed: (handle: number) => void = () => {};

  constructor(
    model: LightgbmModel,
    private readonly plan: ReplayPlan,
    private readonly records: OfflineRecords,
  ) {
    this.scorer = new LightgbmConversationScorer(model);
    this.numbers = new Map(plan.stream.conversationIds.map((id, c) => [id, c]));
  }

  /** A conversation's value changes only on its sends and replies: the tier may rank lazily. */
  watch(changed: (handle: number) => void): void {
    this.changed = changed;
  }

  attach(id: string): number {
    const c = this.numbers.get(id);
    if (c === undefined) throw new Error(`lightgbm: conversation '${id}' is not in the replay`);
    return c;
  }

  begin(): void {}

  score(c: number): number {
    return this.scorer.value(c);
  }

  sent(c: number, index: number, now: number): void {
    this.scorer.send(c, this.plan.stream.turn[index]!, now, this.records.expectedPromptTokens[index]!);
    this.changed(c);
  }

  done(c: number, index: number, now: number): void {
    this.scorer.done(c, this.plan.stream.turn[index]!, now, this.records.outputTokens[index]!);
    this.changed(c);
  }

  skipped(): void {}
}

/** Send and done events of the requests `[0, upTo)` that completed in a replay, in time order. */
export function trainingEvents(records: OfflineRecords, conversation: Int32Array, turn: Int32Array, upTo: number): ConversationEvent[] {
  const events: ConversationEvent[] = [];
  for (let i = 0; i < Math.min(upTo, records.size); i++) {
    if (records.statusOf(i) !== 'ok') continue;
    const sent = records.sentMs[i]! / 1000;
    const c = conversation[i]!;
    events.push({ kind: 'send', conversation: c, turn: turn[i]!, time: sent, tokens: records.promptTokens[i]! });
    events.push({ kind: 'done', conversation: c, turn: turn[i]!, time: sent + records.e2elMs[i]! / 1000, tokens: records.outputTokens[i]! });
  }
  // Sends before dones at one instant: a reply cannot end before its own send.
  return events.sort((a, b) => a.time - b.time || (a.kind === b.kind ? 0 : a.kind === 'send' ? -1 : 1));
}
