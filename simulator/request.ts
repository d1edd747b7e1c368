// One generation request as the engine sees it, and a small FIFO for the waiting queue.
import type { ReplyPiece } from './reply.ts';

export type FinishReason = 'length' | 'stop' | 'abort';
export type RequestState = 'waiting' | 'running' | 'finished' | 'aborted';

/** What the HTTP layer gives the engine to hear about new tokens (batched: see Engine.flush). */
export interface OutputSink {
  /** New pieces are in `req.pieces` from `req.sentPieces` on; `req.state` tells if it finished. */
  flush(req: SimRequest): void;
}

/** The token ids of every virtual request: none (nothing is ever pushed onto it). */
const NO_TOKENS: number[] = [];

export class SimRequest {
  state: RequestState = 'waiting';
  /** Prompt then generated token ids; empty for a virtual request (see `virtual`). */
  readonly tokens: number[];
  /** Prompt plus generated tokens so far. */
  numTokens: number;
  readonly promptLength: number;
  /**
   * A request of the offline driver (simulator/virtual-engine.ts): its tokens have no ids and no
   * text; its block and chunk hashes are given whole, up front, and its replies generate nothing.
   */
  readonly virtual: boolean;
  readonly pieces: ReplyPiece[] = [];
  sentPieces = 0;
  finishReason: FinishReason | undefined;
  /** Tokens found in the GPU or CPU tier at first scheduling (usage.prompt_tokens_details). */
  cachedTokens = 0;
  /** Of cachedTokens, those found in the GPU tier (the rest were loaded from the CPU tier). */
  gpuHitTokens = 0;
  admittedOnce = false;
  /** Bumped on preemption and abort, so timers of the driver that ran it are recognised as stale. */
  epoch = 0;
  // KV state
  blocks: number[] = [];
  numComputed = 0;
  numCachedBlocks = 0;
  numStoredChunks = 0;
  // Timestamps, seconds on the monotonic clock
  /** When the engine got it (after the body was read and checked); arrivedAt is the HTTP arrival. */
  submittedAt = 0;
  firstTokenAt = 0;
  lastTokenAt = 0;

  constructor(
    readonly id: string,
    /** Conversation id for conversation-aware eviction: the request's `user`, else the id. */
    readonly conversation: string,
    /** Token ids, or the length of a virtual prompt (no ids: its hashes are given). */
    prompt: number[] | number,
    /** Tokens to generate (max_tokens, or where the model ends on its own). */
    readonly targetTokens: number,
    /** Why it ends when it reaches targetTokens. */
    readonly targetReason: 'length' | 'stop',
    /** Key of the prompt for the deterministic reply. */
    readonly promptKey: number,
    /** Chat replies start without a space; completions continue a text with one. */
    readonly bareFirstPiece: boolean,
    readonly arrivedAt: number,
    readonly sink: OutputSink,
    /** Hash chain of the full blocks (extended from `tokens`; given whole for a virtual request). */
    readonly blockHashes: number[] = [],
    /** The same at the CPU tier's chunk size. */
    readonly chunkHashes: number[] = [],
  ) {
    this.virtual = typeof prompt === 'number';
    this.tokens = typeof prompt === 'number' ? NO_TOKENS : prompt;
    this.promptLength = this.numTokens = typeof prompt === 'number' ? prompt : prompt.length;
  }

  get outputLength(): number {
    return this.numTokens - this.promptLength;
  }
}

/** FIFO with O(1) push, shift and unshift (preempted requests go back to the front). */
export class Deque<T> {
  private items: (T | undefined)[] = new Array(16);
  private head = 0;
  private size = 0;

  get length(): number {
    return this.size;
  }

  peek(): T | undefined {
    return this.size === 0 ? undefined : this.items[this.head];
  }

  push(item: T): void {
    this.grow();
    this.items[(this.head + this.size) % this.items.length] = item;
    this.size++;
  }

  unshift(item: T): void {
    this.grow();
    this.head = (this.head - 1 + this.items.length) % this.items.length;
    this.items[this.head] = item;
    this.size++;
  }

  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.size--;
    return item;
  }

  /** Removes one item (O(n)); used for aborted waiting requests. */
  remove(item: T): boolean {
    const all = this.toArray();
    const i = all.indexOf(item);
    if (i < 0) return false;
    all.splice(i, 1);
    this.items = new Array(Math.max(16, this.items.length));
    this.head = 0;
    this.size = 0;
    for (const x of all) this.push(x);
    return true;
  }

  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.size; i++) out.push(this.items[(this.head + i) % this.items.length]!);
    return out;
  }

  private grow(): void {
    if (this.size < this.items.length) return;
    const all = this.toArray();
    this.items = new Array(this.items.length * 2);
    for (let i = 0; i < all.length; i++) this.items[i] = all[i];
    this.head = 0;
  }
}
