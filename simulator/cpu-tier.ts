// The LMCache CPU tier: KV chunks of LMCACHE_CHUNK_SIZE tokens in host memory, keyed by the prefix
// hash chain at chunk granularity, so a lookup finds the longest stored prefix. Only full chunks are
// stored. When the tier is full a store evicts by policy:
// - `lru`: LMCache's LocalCPUBackend order, least recently stored or retrieved chunk first. A
//   retrieval touches a prefix's chunks first to last, so a sequence's FIRST chunk is the oldest
//   and goes first, which makes the rest of that prefix unreachable.
// - `conversation_aware`: the chunks of the conversation (the request's `user`) with the lowest
//   score go first, deepest chunk first; see conversationScore below and docs/simulator.md.
import { HashIndex } from './hash-index.ts';
import { HolderIndex, type Ranked } from './holder-index.ts';

export interface ConversationEvictionConfig {
  /** Seconds: how fast a conversation's score decays once it has been idle past the interval. */
  reference_recency: number;
  /** Seconds: the expected gap between two turns; idle for less, a conversation keeps its score. */
  reference_time_interval: number;
  /** Weight of each earlier turn of a conversation: score base = 1 + score_factor x (turns - 1). */
  score_factor: number;
}

export const DEFAULT_CONVERSATION_EVICTION: ConversationEvictionConfig = {
  reference_recency: 300,
  reference_time_interval: 60,
  score_factor: 1,
};

/**
 * A policy that ranks conversations by a score of its own (the offline policies: offline/policies/),
 * evicting as conversation_aware does: the lowest-scoring conversation holding chunks loses its
 * deepest chunk, ties go to the least recently referenced, and a store by the lowest is skipped.
 */
export interface ConversationScorer {
  /** A number standing for conversation `id` in the other calls (called once per conversation). */
  attach(id: string): number;
  /** The conversation begins a request at `now` (simulated seconds), before its retrieval. */
  begin(handle: number, now: number): void;
  /** How much keeping the conversation's chunks is worth at `now`. */
  score(handle: number, turns: number, lastReference: number, now: number): number;
  /**
   * Optional, for a scorer whose scores never fall as `now` grows while nothing else changes: the
   * tier gives a callback to call whenever a conversation's score inputs change other than through
   * begin(); it then ranks holders lazily (holder-index.ts) instead of scoring them all.
   */
  watch?(changed: (handle: number) => void): void;
}

export type EvictionPolicy =
  | { kind: 'lru' }
  | { kind: 'conversation_aware'; config: ConversationEvictionConfig }
  | { kind: 'scored'; name: string; scorer: ConversationScorer };

/** How likely a conversation is to come back: more turns and a recent turn score higher. */
export function conversationScore(turns: number, idleSeconds: number, c: ConversationEvictionConfig): number {
  const base = 1 + c.score_factor * Math.max(0, turns - 1);
  const overdue = idleSeconds - c.reference_time_interval;
  if (overdue <= 0) return base;
  return c.reference_recency > 0 ? base * Math.exp(-overdue / c.reference_recency) : 0;
}

interface Chunk {
  key: number;
  owner: Conversation;
  // LRU list links (a Map's insertion order would do, but V8 finds a Map's first key by walking
  // past every deleted entry, which makes FIFO eviction quadratic).
  older: Chunk | undefined;
  newer: Chunk | undefined;
}

interface Conversation extends Ranked {
  id: string;
  /** The scorer's handle (scored policies), else 0. */
  handle: number;
  turns: number;
  lastReference: number; // seconds, simulated clock
  chunks: number[]; // keys in store order; stale entries (moved or evicted) are skipped
}

/** Stored chunks by key: a HashIndex to a slot of an array (a Map would box every 53-bit key). */
class ChunkTable {
  private readonly index = new HashIndex();
  private readonly slots: (Chunk | undefined)[] = [];
  private readonly free: number[] = [];

  get size(): number {
    return this.index.size;
  }

  get(key: number): Chunk | undefined {
    const slot = this.index.get(key);
    return slot < 0 ? undefined : this.slots[slot];
  }

  has(key: number): boolean {
    return this.index.get(key) >= 0;
  }

  /** Adds a chunk whose key is not stored yet. */
  add(chunk: Chunk): void {
    const slot = this.free.length > 0 ? this.free.pop()! : this.slots.length;
    this.slots[slot] = chunk;
    this.index.set(chunk.key, slot);
  }

  delete(key: number): void {
    const slot = this.index.get(key);
    if (slot < 0) return;
    this.index.delete(key);
    this.slots[slot] = undefined;
    this.free.push(slot);
  }

  clear(): void {
    this.index.clear();
    this.slots.length = 0;
    this.free.length = 0;
  }
}

/** The owner of every chunk under LRU, which does not evict by conversation. */
const LRU_OWNER: Conversation = { id: '', handle: 0, turns: 0, lastReference: 0, chunks: [], holderSeq: 0, rankVersion: 0 };

export interface CpuTierCounters {
  /** Requests that looked the tier up (first admissions), and those that were a conversation's later turn. */
  requests: number;
  followUpRequests: number;
  lookupTokens: number;
  lookupHitTokens: number;
  requestedTokens: number;
  hitTokens: number;
  storedTokens: number;
  evictedChunks: number;
  /**
   * Chunk stores that found the tier full: LMCache's allocator logs "Failed to allocate memory
   * block" for each, then the backend evicts and allocates again (or drops the store when
   * nothing can be evicted).
   */
  failedAllocations: number;
}

export class CpuTier {
  private readonly chunks = new ChunkTable();
  private oldest: Chunk | undefined;
  private newest: Chunk | undefined;
  private readonly conversations = new Map<string, Conversation>();
  private readonly seenUnderLru = new Set<string>();
  private readonly holders: HolderIndex<Conversation>; // conversations owning at least one chunk
  /** Scored policies: conversations by the scorer's handle. */
  private readonly byHandle = new Map<number, Conversation>();
  // The last victim chosen, reused while no score or holder has changed (evicting a conversation's
  // chunks changes no score), so a store that evicts many chunks scans the holders once.
  private victim: Conversation | undefined;
  private victimAt = Number.NaN;
  readonly counters: CpuTierCounters = {
    requests: 0, followUpRequests: 0, lookupTokens: 0, lookupHitTokens: 0, requestedTokens: 0, hitTokens: 0, storedTokens: 0, evictedChunks: 0, failedAllocations: 0,
  };
  /** Called for each store that found the tier full (the server logs LMCache's warning). */
  onFailedAllocation: ((chunkBytes: number) => void) | undefined;

  constructor(
    readonly capacityChunks: number,
    readonly chunkSize: number,
    readonly chunkBytes: number,
    readonly policy: EvictionPolicy,
  ) {
    const rising = policy.kind === 'scored' && policy.scorer.watch !== undefined;
    this.holders = new HolderIndex<Conversation>(rising ? 'rising' : 'turns');
    if (rising) {
      policy.scorer.watch!((handle) => {
        const c = this.byHandle.get(handle);
        if (c) this.holders.moved(c);
        this.victim = undefined;
      });
    }
  }

  get numChunks(): number {
    return this.chunks.size;
  }

  usageBytes(): number {
    return this.chunks.size * this.chunkBytes;
  }

  /** A new request of conversation `id` at simulated time `now` (seconds): one more turn. */
  beginRequest(id: string, now: number): void {
    this.counters.requests++;
    // LRU ranks chunks, not conversations: only whether a conversation was seen is kept (the
    // fork-style statistics count later turns).
    if (this.policy.kind === 'lru') {
      if (this.seenUnderLru.has(id)) this.counters.followUpRequests++;
      else this.seenUnderLru.add(id);
      return;
    }
    const c = this.conversation(id);
    c.turns++;
    c.lastReference = now;
    this.holders.moved(c);
    if (c.turns > 1) this.counters.followUpRequests++;
    this.victim = undefined;
    if (this.policy.kind === 'scored') this.policy.scorer.begin(c.handle, now);
  }

  /** Tokens of the longest stored prefix among `chunkHashes` (a lookup: nothing changes). */
  peek(chunkHashes: readonly number[]): number {
    let n = 0;
    while (n < chunkHashes.length && this.chunks.has(chunkHashes[n]!)) n++;
    return n * this.chunkSize;
  }

  /**
   * A retrieval of the stored prefix of `chunkHashes`, up to `maxTokens`: LRU touches the hit
   * chunks, first to last; conversation-aware makes conversation `id` their owner.
   */
  retrieve(id: string, chunkHashes: readonly number[], maxTokens: number): void {
    const lru = this.policy.kind === 'lru';
    const owner = lru ? undefined : this.conversation(id);
    const limit = Math.min(chunkHashes.length, Math.ceil(maxTokens / this.chunkSize));
    for (let n = 0; n < limit; n++) {
      const key = chunkHashes[n]!;
      const chunk = this.chunks.get(key);
      if (!chunk) break;
      if (lru) {
        this.unlink(chunk);
        this.append(chunk);
      } else if (chunk.owner !== owner) {
        const previous = chunk.owner;
        chunk.owner = owner!;
        owner!.chunks.push(key);
        this.hold(owner!);
        this.disown(previous);
      }
    }
  }

  /** Stores chunks [from, to) of `chunkHashes`, evicting as the policy says. */
  store(id: string, chunkHashes: readonly number[], from: number, to: number, now: number): void {
    if (this.capacityChunks === 0) return;
    const owner = this.policy.kind === 'lru' ? LRU_OWNER : this.conversation(id);
    for (let i = from; i < to; i++) {
      const key = chunkHashes[i]!;
      if (this.chunks.has(key)) continue;
      if (this.chunks.size >= this.capacityChunks) {
        this.counters.failedAllocations++;
        this.onFailedAllocation?.(this.chunkBytes);
        if (!this.evictOne(owner, now)) return;
      }
      const chunk: Chunk = { key, owner, older: undefined, newer: undefined };
      this.chunks.add(chunk);
      this.append(chunk);
      // Only the conversation policies evict by owner: under LRU the lists would only grow.
      if (this.policy.kind !== 'lru') {
        owner.chunks.push(key);
        this.hold(owner);
      }
      this.counters.storedTokens += this.chunkSize;
    }
  }

  /** Drops every chunk (counters are kept: they are cumulative). */
  reset(): void {
    this.chunks.clear();
    this.oldest = this.newest = undefined;
    this.holders.clear();
    for (const c of this.conversations.values()) c.chunks = [];
  }

  private conversation(id: string): Conversation {
    let c = this.conversations.get(id);
    if (!c) {
      c = { id, handle: this.policy.kind === 'scored' ? this.policy.scorer.attach(id) : 0, turns: 0, lastReference: 0, chunks: [], holderSeq: 0, rankVersion: 0 };
      if (this.policy.kind === 'scored') this.byHandle.set(c.handle, c);
      this.conversations.set(id, c);
    }
    return c;
  }

  private append(chunk: Chunk): void {
    chunk.older = this.newest;
    chunk.newer = undefined;
    if (this.newest) this.newest.newer = chunk;
    else this.oldest = chunk;
    this.newest = chunk;
  }

  private unlink(chunk: Chunk): void {
    if (chunk.older) chunk.older.newer = chunk.newer;
    else this.oldest = chunk.newer;
    if (chunk.newer) chunk.newer.older = chunk.older;
    else this.newest = chunk.older;
  }

  /** Evicts one chunk. */
  private remove(chunk: Chunk): void {
    this.unlink(chunk);
    this.chunks.delete(chunk.key);
    this.counters.evictedChunks++;
  }

  private hold(c: Conversation): void {
    if (this.holders.has(c)) return;
    this.holders.add(c);
    this.victim = undefined;
  }

  private disown(c: Conversation): void {
    // Stale keys stay in c.chunks; drop c from holders once none of its keys is its own.
    if (!c.chunks.some((k) => this.chunks.get(k)?.owner === c)) {
      c.chunks = [];
      this.holders.delete(c);
    }
  }

  /** A scored policy's victim: the lowest score at `now` (ties: the earliest referenced, then the earliest holder). */
  private scanForVictim(scorer: ConversationScorer, now: number): Conversation | undefined {
    let victim: Conversation | undefined;
    let victimScore = Infinity;
    for (const c of this.holders) {
      const s = scorer.score(c.handle, c.turns, c.lastReference, now);
      if (s < victimScore || (s === victimScore && victim !== undefined && c.lastReference < victim.lastReference)) {
        victim = c;
        victimScore = s;
      }
    }
    return victim;
  }

  /** Evicts one chunk; false when the policy would rather not store (conversation-aware bypass). */
  private evictOne(storing: Conversation, now: number): boolean {
    if (this.policy.kind === 'lru') {
      const oldest = this.oldest;
      if (!oldest) return false;
      this.remove(oldest);
      return true;
    }
    const policy = this.policy;
    for (;;) {
      let victim = this.victimAt === now && this.victim && this.holders.has(this.victim) ? this.victim : undefined;
      if (!victim) {
        if (policy.kind === 'conversation_aware') victim = this.holders.victim(now, (c, t) => conversationScore(c.turns, t - c.lastReference, policy.config));
        else if (policy.scorer.watch) victim = this.holders.risingVictim(now, (c, t) => policy.scorer.score(c.handle, c.turns, c.lastReference, t));
        else victim = this.scanForVictim(policy.scorer, now);
        this.victim = victim;
        this.victimAt = now;
      }
      // The storing conversation scoring lowest: storing would only evict its own chunks.
      if (!victim || victim === storing) return false;
      while (victim.chunks.length > 0) {
        const chunk = this.chunks.get(victim.chunks.pop()!);
        if (chunk?.owner !== victim) continue;
        this.remove(chunk);
        if (victim.chunks.length === 0) this.holders.delete(victim);
        return true;
      }
      this.holders.delete(victim);
    }
  }
}
