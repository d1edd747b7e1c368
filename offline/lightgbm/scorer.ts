// A trained model applied to conversations: feed it each send and done, ask for a conversation's
// value. Higher means the model expects the conversation back sooner (regression: 10 - ln(seconds
// + 1); ranking: relevance; classification: probability of a return within 10 minutes), so an
// eviction policy evicts the lowest. For any cache model that ranks conversations (kvsweep's own
// offline engine's scored-conversation seam); the old simulator's model scores its entries through
// the same features in offline/old-simulator/scorers.ts.
import { ConversationFeatures, FEATURE_COUNT } from './features.ts';
import type { LightgbmModel } from './model.ts';

export class LightgbmConversationScorer {
  private readonly features = new ConversationFeatures();
  private readonly values = new Map<number, number>();
  private readonly vector = new Float64Array(FEATURE_COUNT);

  constructor(private readonly model: LightgbmModel) {}

  /** A turn's prompt of `promptTokens` (the whole context) is sent at `time` seconds. */
  send(conversation: number, turn: number, time: number, promptTokens: number): void {
    const query = this.features.queryLength(conversation, promptTokens);
    this.features.setContext(conversation, promptTokens);
    this.features.record(conversation, turn, time, 'send', query, 0);
    this.update(conversation);
  }

  /** The turn's reply of `replyTokens` is done at `time` seconds. */
  done(conversation: number, turn: number, time: number, replyTokens: number): void {
    this.features.setContext(conversation, this.features.context(conversation) + replyTokens);
    this.features.record(conversation, turn, time, 'done', 0, replyTokens);
    this.update(conversation);
  }

  /** The model's value for the conversation's latest features (0 for one never seen). */
  value(conversation: number): number {
    return this.values.get(conversation) ?? 0;
  }

  private update(conversation: number): void {
    this.values.set(conversation, this.model.predict(this.features.vector(conversation, this.vector)));
  }
}
