// The oracle: evicts what the future reuses last. Offline the driver knows when each conversation
// comes back and, from a first replay with the same GPU tier (lru at the CPU tier: the GPU tier's
// behaviour hardly depends on the CPU tier's policy), how much of each turn the GPU tier will
// serve. So it keeps the CPU tier for what the GPU tier will miss: a conversation's chunks are
// worth the tokens its next turn that needs the CPU tier will find there beyond the GPU tier's
// hit, per chunk held and per second until that turn. The lowest worth goes first (its deepest
// chunk first, as conversation_aware), a conversation that never needs the tier again before any
// other, and a store by the conversation of lowest worth is skipped. With conversations of one
// size and one gain this is Belady's rule: the one whose next request is furthest away goes.
// A request sent but not yet scheduled counts as needing the tier now. The GPU tier stays LRU.
import type { ConversationScorer } from '../../simulator/cpu-tier.ts';
import type { ReplayPlan } from '../replay-plan.ts';

/** Seconds added to the time until a turn, so that imminent turns compare by worth, not by 1/0. */
const HORIZON_FLOOR_S = 1;

/** What the oracle knows of every turn, from the first replay. */
export interface OracleFuture {
  /** Tokens a CPU tier could add to the turn's GPU hit (0: the GPU tier serves it whole). */
  gain: Float64Array;
  /** Chunks of the turn's prompt and reply: what its conversation holds once it stored them. */
  chunks: Float64Array;
}

/** The future as the first replay saw it: each turn's prompt, reply and GPU hit. */
export function oracleFuture(gpuHitTokens: Float64Array, promptTokens: Float64Array, outputTokens: Float64Array, chunkSize: number): OracleFuture {
  const n = gpuHitTokens.length;
  const gain = new Float64Array(n);
  const chunks = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const prompt = promptTokens[i]!;
    if (Number.isNaN(prompt)) continue; // failed there: no use of the tier
    // The CPU tier gives whole chunks of the prompt, never its last token.
    gain[i] = Math.max(0, Math.floor((prompt - 1) / chunkSize) * chunkSize - gpuHitTokens[i]!);
    chunks[i] = Math.max(1, Math.floor((prompt + (Number.isNaN(outputTokens[i]!) ? 0 : outputTokens[i]!)) / chunkSize));
  }
  return { gain, chunks };
}

export class OracleScorer implements ConversationScorer {
  /** Each conversation's next turn that needs the CPU tier (-1: none), and its time (Infinity: never). */
  private readonly user: Int32Array;
  private readonly userAt: Float64Array;
  /** Chunks each conversation holds at most (its latest turn's). */
  private readonly held: Float64Array;
  /** The turn of each conversation sent last (-1: none yet). */
  private readonly current: Int32Array;
  /** After each turn, its conversation's next turn that needs the CPU tier (-1: none). */
  private readonly nextUser: Int32Array;
  private readonly numbers: Map<string, number>;
  private changed: (handle: number) => void = () => {};

  constructor(
    private readonly plan: ReplayPlan,
    private readonly future: OracleFuture,
  ) {
    const conversations = plan.stream.conversationIds.length;
    this.user = new Int32Array(conversations);
    this.userAt = new Float64Array(conversations);
    this.held = new Float64Array(conversations).fill(1);
    this.current = new Int32Array(conversations).fill(-1);
    this.numbers = new Map(plan.stream.conversationIds.map((id, c) => [id, c]));
    // Each conversation's turns backwards, remembering the latest one that needs the tier.
    this.nextUser = new Int32Array(plan.stream.size).fill(-1);
    const order: number[] = [];
    for (let c = 0; c < conversations; c++) {
      order.length = 0;
      for (let i = plan.firstTurn[c]!; i >= 0; i = plan.nextTurn[i]!) order.push(i);
      let user = -1;
      for (let k = order.length - 1; k >= 0; k--) {
        this.nextUser[order[k]!] = user;
        if (future.gain[order[k]!]! > 0) user = order[k]!;
      }
      this.setUser(c, user);
    }
  }

  /** Scores only rise with time (the next use comes closer); changes outside begin() are reported. */
  watch(changed: (handle: number) => void): void {
    this.changed = changed;
  }

  attach(id: string): number {
    const c = this.numbers.get(id);
    if (c === undefined) throw new Error(`oracle: conversation '${id}' is not in the replay`);
    return c;
  }

  /** The driver sent turn `index` of conversation `c`: if it needs the tier, it needs it now. */
  sent(c: number, index: number, now: number): void {
    this.current[c] = index;
    this.held[c] = this.future.chunks[index]!;
    if (this.future.gain[index]! > 0) {
      this.user[c] = index;
      this.userAt[c] = now;
    } else {
      this.setUser(c, this.nextUser[index]!);
    }
    this.changed(c);
  }

  /** Turn `index` failed before reaching the engine: the next need comes after it. */
  skipped(c: number, index: number): void {
    this.current[c] = index;
    this.setUser(c, this.nextUser[index]!);
    this.changed(c);
  }

  /** The conversation's request was scheduled (it retrieved what it needed): the next need is later. */
  begin(c: number): void {
    const index = this.current[c]!;
    if (index >= 0) this.setUser(c, this.nextUser[index]!);
  }

  score(c: number, _turns: number, _lastReference: number, now: number): number {
    const user = this.user[c]!;
    if (user < 0) return -Infinity;
    return this.future.gain[user]! / (this.held[c]! * (Math.max(0, this.userAt[c]! - now) + HORIZON_FLOOR_S));
  }

  private setUser(c: number, turn: number): void {
    this.user[c] = turn;
    this.userAt[c] = turn < 0 ? Infinity : this.plan.scheduledS[turn]!;
  }
}
