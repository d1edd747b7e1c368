// The GPU tier: vLLM V1's block pool with prefix caching. A block is in use while a running request
// holds it (ref count > 0). Freed blocks keep their content and hash (a later request can hit them)
// and queue in LRU order; allocation takes the block at the head of that queue and evicts whatever
// it cached. Requests free their blocks tail first, so a sequence's last blocks are evicted before
// its first ones (a prefix stays useful longer), as vLLM does. A freed block that caches nothing (a
// partial last block, a duplicate) goes to the head instead, to be reused before any cached block
// (vLLM's BlockPool.free_blocks prepends them): it would otherwise push one cached block out per
// request. Block 0 is vLLM's reserved null block.

import { HashIndex } from './hash-index.ts';

const NONE = -1;

export class GpuBlockPool {
  /** Blocks a request can hold: all but the null block. */
  readonly usable: number;
  private readonly refCount: Int32Array;
  // Hash + 1 of the cached content, 0 = none (zero-filled arrays cost nothing to create, which
  // keeps start-up fast with millions of blocks; hashes are < 2^53, so + 1 stays exact).
  private readonly hashOf: Float64Array;
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private head = NONE;
  private tail = NONE;
  private queued = 0; // blocks in the LRU queue (freed at least once)
  private neverUsed: number; // blocks never allocated, taken before any queued one (vLLM's initial order)
  /** Hash of cached content -> the block holding it. */
  private readonly cached: HashIndex;

  constructor(readonly numBlocks: number) {
    this.usable = Math.max(0, numBlocks - 1);
    this.refCount = new Int32Array(numBlocks);
    this.hashOf = new Float64Array(numBlocks);
    this.prev = new Int32Array(numBlocks);
    this.next = new Int32Array(numBlocks);
    this.neverUsed = this.usable;
    this.cached = new HashIndex(Math.min(numBlocks, 1 << 16));
  }

  /** Blocks not held by any request (cached or empty). */
  get numFree(): number {
    return this.neverUsed + this.queued;
  }

  /** vLLM's `kv_cache_usage_perc`: share of blocks held by requests. */
  usage(): number {
    return this.usable === 0 ? 0 : 1 - this.numFree / this.usable;
  }

  /** Blocks whose content is cached (hit-able), held or free. */
  get numCached(): number {
    return this.cached.size;
  }

  /** The blocks caching the longest prefix of `hashes`, at most `maxBlocks` of them. */
  longestPrefix(hashes: readonly number[], maxBlocks: number): number[] {
    const hit: number[] = [];
    const n = Math.min(maxBlocks, hashes.length);
    for (let i = 0; i < n; i++) {
      const block = this.cached.get(hashes[i]!);
      if (block < 0) break;
      hit.push(block);
    }
    return hit;
  }

  /** How many of `blocks` are free (would leave the free queue when touched). */
  countFree(blocks: readonly number[]): number {
    let n = 0;
    for (const b of blocks) if (this.refCount[b] === 0) n++;
    return n;
  }

  /** Takes a reference on cache-hit blocks, pulling free ones out of the LRU queue. */
  touch(blocks: readonly number[]): void {
    for (const b of blocks) {
      if (this.refCount[b] === 0) this.unlink(b);
      this.refCount[b]!++;
    }
  }

  /** Allocates `n` blocks (the caller checked numFree), evicting the cached content they held. */
  allocate(n: number, into: number[]): void {
    for (let i = 0; i < n; i++) {
      let b: number;
      // vLLM's queue: freed empty blocks, then never-used ones (block order), then cached ones (LRU).
      if (this.head !== NONE && this.hashOf[this.head] === 0) {
        b = this.head;
        this.unlink(b);
      } else if (this.neverUsed > 0) {
        b = this.usable - this.neverUsed + 1;
        this.neverUsed--;
      } else {
        b = this.head;
        if (b === NONE) throw new Error('GPU block pool exhausted: caller must check numFree');
        this.unlink(b);
        const h = this.hashOf[b]!;
        if (h !== 0) {
          this.cached.delete(h - 1);
          this.hashOf[b] = 0;
        }
      }
      this.refCount[b] = 1;
      into.push(b);
    }
  }

  /** Registers a full block's hash; a duplicate of content already cached stays uncached (vLLM). */
  cacheBlock(block: number, hash: number): void {
    if (this.hashOf[block] !== 0 || this.cached.has(hash)) return;
    this.hashOf[block] = hash + 1;
    this.cached.set(hash, block);
  }

  /**
   * Drops one reference on each block, last block first. Unreferenced blocks caching content join
   * the queue's tail in that order; empty ones go to its head, the first of them foremost (vLLM).
   */
  release(blocks: readonly number[]): void {
    let empty = NONE; // the empty block freed first so far: stays at the head
    for (let i = blocks.length - 1; i >= 0; i--) {
      const b = blocks[i]!;
      if (--this.refCount[b]! !== 0) continue;
      if (this.hashOf[b] !== 0) {
        this.append(b);
        continue;
      }
      if (empty === NONE) this.prepend(b);
      else this.insertAfter(empty, b);
      empty = b;
    }
  }

  /** vLLM's reset_prefix_cache: forgets all cached content, refused while any block is held. */
  reset(): boolean {
    if (this.numFree !== this.usable) return false;
    this.hashOf.fill(0);
    this.cached.clear();
    return true;
  }

  private append(b: number): void {
    this.prev[b] = this.tail;
    this.next[b] = NONE;
    if (this.tail === NONE) this.head = b;
    else this.next[this.tail] = b;
    this.tail = b;
    this.queued++;
  }

  private prepend(b: number): void {
    this.prev[b] = NONE;
    this.next[b] = this.head;
    if (this.head === NONE) this.tail = b;
    else this.prev[this.head] = b;
    this.head = b;
    this.queued++;
  }

  private insertAfter(a: number, b: number): void {
    const n = this.next[a]!;
    this.prev[b] = a;
    this.next[b] = n;
    this.next[a] = b;
    if (n === NONE) this.tail = b;
    else this.prev[n] = b;
    this.queued++;
  }

  private unlink(b: number): void {
    const p = this.prev[b]!;
    const n = this.next[b]!;
    if (p === NONE) this.head = n;
    else this.next[p] = n;
    if (n === NONE) this.tail = p;
    else this.prev[n] = p;
    this.queued--;
  }
}
