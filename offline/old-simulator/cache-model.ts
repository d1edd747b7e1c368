// The old simulator's cache model (OLD-TOOL.md section 4), replayed over its events:
// - capacity = GB x 1024^3 x 0.95 bytes; an entry takes tokens x bytes-per-token;
// - a send looks up the conversation's previous turn's main entry and hits all of its tokens or
//   none (no partial prefix); it then stores the turn's prompt in whole 256-token blocks (replacing
//   the previous turn's entry) plus the last partial block as a separate tail entry, which no
//   lookup ever hits and which stays until evicted;
// - a done stores prompt + reply in whole blocks, replacing the turn's entry;
// - before a store, entries are evicted while the new one does not fit (an entry larger than an
//   empty cache is stored anyway, as there).
import { ConversationFeatures } from '../lightgbm/features.ts';
import type { ConversationEvent } from '../lightgbm/training-set.ts';
import { Entry, entryId } from './entries.ts';
import type { Policy } from './policies.ts';
import type { EventScorer } from './scorers.ts';

export const BLOCK_TOKENS = 256;
export const CAPACITY_FRACTION = 0.95;

export interface CacheModelOptions {
  cacheSizeGb: number;
  bytesPerToken: number;
  policy: Policy;
  /** Gives each stored entry its starting value (scored policies only). */
  scorer?: EventScorer;
  /** Sends from this index on (0-based, in replay order) are counted in the window figures. */
  windowFrom?: number;
  /** Per-send records: prompt tokens and hit tokens, in replay order. */
  recordRequests?: boolean;
}

export interface CacheCounts {
  requests: number;
  hits: number;
  lookupTokens: number;
  hitTokens: number;
}

function emptyCounts(): CacheCounts {
  return { requests: 0, hits: 0, lookupTokens: 0, hitTokens: 0 };
}

export class OldCacheModel {
  readonly capacityBytes: number;
  usedBytes = 0;
  peakBytes = 0;
  evictions = 0;
  /** Stores of a turn's tail that replaced a tail already cached (a turn sent twice). */
  duplicateTails = 0;
  readonly all = emptyCounts();
  readonly window = emptyCounts();
  readonly features = new ConversationFeatures();
  /** With recordRequests: prompt and hit tokens of each send, in order. */
  promptTokens: number[] = [];
  hitTokensPerRequest: number[] = [];
  private readonly cache = new Map<number, Entry>();
  private sends = 0;
  private nextId = 0;

  constructor(private readonly o: CacheModelOptions) {
    this.capacityBytes = o.cacheSizeGb * 1024 * 1024 * 1024 * CAPACITY_FRACTION;
  }

  get entries(): number {
    return this.cache.size;
  }

  replay(events: readonly ConversationEvent[]): void {
    for (const e of events) {
      if (e.kind === 'send') this.send(e);
      else this.done(e);
    }
  }

  send(e: ConversationEvent): void {
    const c = e.conversation;
    const query = this.features.queryLength(c, e.tokens);
    this.features.setContext(c, e.tokens);
    this.lookup(c, e.turn, e.tokens);
    this.features.record(c, e.turn, e.time, 'send', query, 0);
    const base = this.o.scorer ? this.o.scorer.eventBase(c, this.features) : 0;
    const aligned = e.tokens - (e.tokens % BLOCK_TOKENS);
    this.store(c, e.turn, aligned, e.time, base, false);
    this.store(c, e.turn, e.tokens - aligned, e.time, base, true);
  }

  done(e: ConversationEvent): void {
    const c = e.conversation;
    const turn = e.turn === 0 ? 1 : e.turn;
    const tokens = this.features.context(c) + e.tokens;
    this.features.setContext(c, tokens);
    this.features.record(c, turn, e.time, 'done', 0, e.tokens);
    const base = this.o.scorer ? this.o.scorer.eventBase(c, this.features) : 0;
    this.store(c, turn, tokens - (tokens % BLOCK_TOKENS), e.time, base, false);
  }

  private lookup(conversation: number, turn: number, tokens: number): void {
    const entry = this.cache.get(entryId(conversation, Math.max(1, turn - 1), false));
    const hit = entry ? entry.tokens : 0;
    count(this.all, tokens, entry !== undefined, hit);
    if (this.sends >= (this.o.windowFrom ?? 0)) count(this.window, tokens, entry !== undefined, hit);
    if (this.o.recordRequests) {
      this.promptTokens.push(tokens);
      this.hitTokensPerRequest.push(hit);
    }
    this.sends++;
  }

  private drop(id: number): void {
    const entry = this.cache.get(id);
    if (!entry) return;
    this.o.policy.remove(entry);
    this.usedBytes -= entry.size;
    this.cache.delete(id);
  }

  private store(conversation: number, turn: number, tokens: number, time: number, base: number, tail: boolean): void {
    if (tokens === 0) return;
    const size = tokens * this.o.bytesPerToken;
    if (!tail) {
      this.drop(entryId(conversation, Math.max(1, turn - 1), false));
      this.drop(entryId(conversation, turn, false));
    }
    while (this.usedBytes + size > this.capacityBytes) {
      const victim = this.o.policy.candidate();
      if (!victim) break;
      this.drop(victim.id);
      this.evictions++;
    }
    const id = entryId(conversation, turn, tail);
    if (this.cache.has(id)) {
      this.duplicateTails++;
      this.drop(id);
    }
    const entry = new Entry(id, conversation, turn, tail, tokens, size, time);
    entry.base = base;
    this.cache.set(id, entry);
    this.usedBytes += size;
    if (this.usedBytes > this.peakBytes) this.peakBytes = this.usedBytes;
    this.o.policy.add(entry);
  }
}

function count(c: CacheCounts, tokens: number, hit: boolean, hitTokens: number): void {
  c.requests++;
  c.lookupTokens += tokens;
  if (hit) {
    c.hits++;
    c.hitTokens += hitTokens;
  }
}
