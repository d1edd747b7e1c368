// The KV side of vLLM V1's scheduler, without timers: admission with prefix-cache and LMCache
// lookups, block allocation, preemption when blocks run out, caching of computed blocks, LMCache
// stores, and token sampling. Drivers (engine.ts) decide when things happen; this decides what.
import { extendChain } from './hashing.ts';
import { GpuBlockPool } from './gpu-pool.ts';
import type { CpuTier } from './cpu-tier.ts';
import { isPunctuation, replyPiece } from './reply.ts';
import { Deque, type SimRequest } from './request.ts';
import { EngineStats } from './stats.ts';
import type { DecodeLines, StepWork } from './timing.ts';
import { decodeSpan, decodeStep } from './decode-lines.ts';

export interface SchedulerConfig {
  blockSize: number;
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  prefixCaching: boolean;
  /** LMCACHE_SAVE_DECODE_CACHE: also store chunks holding generated tokens. */
  saveDecodeCache: boolean;
  seed: number;
}

export interface PlanEntry {
  req: SimRequest;
  epoch: number;
  numNew: number;
}

export interface StepPlan extends StepWork {
  entries: PlanEntry[];
}

export class Scheduler {
  readonly waiting = new Deque<SimRequest>();
  readonly running: SimRequest[] = [];
  readonly stats = new EngineStats();
  /** Requests with new output (or a new state) since the driver last flushed. */
  readonly dirty: SimRequest[] = [];
  // Scratch of decodeSteps: the CPU-tier stores of a stretch, and computed tokens at its start.
  private readonly storeOrder: number[] = [];
  private storeBase = new Float64Array(0);
  /** Blocks held once the last decodeSteps had allocated its blocks (before finished requests freed theirs). */
  stretchHeldBlocks = 0;

  constructor(
    readonly config: SchedulerConfig,
    readonly pool: GpuBlockPool,
    readonly cpu: CpuTier | undefined,
  ) {}

  hasWork(): boolean {
    return this.running.length > 0 || this.waiting.length > 0;
  }

  add(req: SimRequest): void {
    extendChain(req.blockHashes, req.tokens, this.config.blockSize);
    this.waiting.push(req);
  }

  /** A client went away: its blocks are released at once. */
  abort(req: SimRequest, now: number): void {
    if (req.state === 'waiting') this.waiting.remove(req);
    else if (req.state === 'running') this.removeRunning(req);
    else return;
    req.state = 'aborted';
    req.epoch++;
    req.finishReason = 'abort';
    this.stats.finished.abort++;
    this.stats.e2e.observe(now - req.arrivedAt);
  }

  /**
   * One step of vLLM V1's scheduler: running requests first (a decode token each, or the next
   * prefill chunk), preempting the newest running request when blocks run out; then waiting
   * requests in arrival order while the token budget, max_num_seqs and free blocks allow (none in
   * a step that preempted). `budget` is the step's token budget (Infinity: whole prompts at once).
   */
  schedule(now: number, simNow: number, budget = this.config.maxNumBatchedTokens): StepPlan {
    const plan: StepPlan = { entries: [], newTokens: 0, contextTokens: 0, attentionPairs: 0, loadedTokens: 0 };
    let preempted = false;
    for (let i = 0; i < this.running.length && budget > 0; i++) {
      const req = this.running[i]!;
      const numNew = Math.min(req.numTokens - req.numComputed, budget);
      if (numNew <= 0) continue;
      let self = false;
      while (!this.allocateSlots(req, req.numComputed + numNew)) {
        const victim = this.running[this.running.length - 1]!;
        this.preempt(victim);
        preempted = true;
        if (victim === req) {
          self = true;
          break;
        }
      }
      if (self) break;
      this.addToPlan(plan, req, numNew, 0);
      budget -= numNew;
    }
    while (!preempted && budget > 0 && this.running.length < this.config.maxNumSeqs) {
      const req = this.waiting.peek();
      if (!req || !this.admit(req, budget, plan, now, simNow)) break;
      budget -= plan.entries[plan.entries.length - 1]!.numNew;
    }
    return plan;
  }

  /** Applies a finished step: tokens computed, blocks cached, chunks stored, tokens sampled. */
  complete(plan: StepPlan, now: number, simNow: number): void {
    for (const e of plan.entries) {
      const req = e.req;
      if (req.state !== 'running' || req.epoch !== e.epoch) continue;
      req.numComputed += e.numNew;
      this.storeChunks(req, simNow);
      if (req.numComputed === req.numTokens) this.sample(req, now);
    }
  }

  /**
   * Fixed-timing driver: admits waiting requests in arrival order, whole prompts at once, while
   * max_num_seqs and free blocks allow. Returns those admitted.
   */
  admitWaiting(now: number, simNow: number): SimRequest[] {
    const plan: StepPlan = { entries: [], newTokens: 0, contextTokens: 0, attentionPairs: 0, loadedTokens: 0 };
    while (this.running.length < this.config.maxNumSeqs) {
      const req = this.waiting.peek();
      if (!req || !this.admit(req, Infinity, plan, now, simNow)) break;
    }
    return plan.entries.map((e) => e.req);
  }

  /** Fixed-timing driver: the request computed everything it had; sample its next token. */
  completeAll(req: SimRequest, now: number, simNow: number): void {
    req.numComputed = req.numTokens;
    this.cacheFullBlocks(req, req.numComputed);
    this.storeChunks(req, simNow);
    this.sample(req, now);
  }

  /**
   * Fixed-timing driver: blocks for the request's next token, preempting the newest running
   * requests as needed. Returns the preempted ones (the request itself may be among them).
   */
  reserveNext(req: SimRequest): SimRequest[] {
    const victims: SimRequest[] = [];
    while (!this.allocateSlots(req, req.numTokens)) {
      const victim = this.running[this.running.length - 1]!;
      this.preempt(victim);
      victims.push(victim);
      if (victim === req) break;
    }
    return victims;
  }

  /**
   * Virtual-time driver (virtual-engine.ts): how many decode steps, at most `maxSteps`, can run as
   * one stretch. 0 unless every running request is virtual and decoding and nothing waits; then
   * the stretch ends at the first step in which a request finishes, and before the GPU tier would
   * run short of free blocks (no preemption inside a stretch).
   */
  decodeLimit(maxSteps: number): number {
    const running = this.running;
    // Every running request decodes in every step only while they fit in the token budget.
    if (this.waiting.length > 0 || running.length === 0 || running.length > this.config.maxNumBatchedTokens) return 0;
    let k = maxSteps;
    for (let i = 0; i < running.length; i++) {
      const req = running[i]!;
      if (!req.virtual || req.numTokens - req.numComputed !== 1) return 0;
      k = Math.min(k, req.targetTokens - req.outputLength);
    }
    while (k > 0 && this.decodeBlocksNeeded(k) > this.pool.numFree) k = Math.floor(k / 2);
    return Math.max(0, k);
  }

  /**
   * Runs `steps` decode steps (a stretch decodeLimit allowed) from `start` as that many
   * schedule() + complete() rounds would: one token per running request per step, step j lasting
   * decodeStep(lines, j) (seconds, on the clock of `now` and of the policies). CPU-tier chunks
   * completed inside are stored at the end of their step, in step order then running order, as
   * the steps would store them. Physical blocks are allocated per request rather than step by
   * step, which changes which block holds what, not what is cached; the inter-token histogram
   * counts the steps after the first at their mean duration.
   */
  decodeSteps(steps: number, start: number, lines: DecodeLines): void {
    const running = this.running;
    const n = running.length;
    const s = this.stats;
    const firstEnd = start + decodeStep(lines, 0);
    const end = start + decodeSpan(lines, steps);
    if (steps > 1) s.itl.observe((end - firstEnd) / (steps - 1), n * (steps - 1));
    const chunk = this.cpu && this.config.saveDecodeCache ? this.cpu.chunkSize : 0;
    const stores = this.storeOrder;
    stores.length = 0;
    let gapFrom = Number.NaN;
    let gapCount = 0;
    for (let i = 0; i < n; i++) {
      const req = running[i]!;
      if (!this.allocateSlots(req, req.numComputed + steps)) throw new Error('decodeSteps: GPU blocks ran out inside a stretch (decodeLimit checks this)');
      // Step j leaves numComputed + j + 1 computed: the steps that complete a chunk, keyed to sort.
      for (let done = (req.numStoredChunks + 1) * chunk; chunk > 0 && done <= req.numComputed + steps; done += chunk) stores.push((done - req.numComputed - 1) * 65_536 + i);
      // The first step's gaps: most requests sampled at the same instant, observed together.
      if (req.lastTokenAt !== gapFrom) {
        if (gapCount > 0) s.itl.observe(firstEnd - gapFrom, gapCount);
        gapFrom = req.lastTokenAt;
        gapCount = 0;
      }
      gapCount++;
    }
    if (gapCount > 0) s.itl.observe(firstEnd - gapFrom, gapCount);
    this.stretchHeldBlocks = this.pool.usable - this.pool.numFree;
    if (stores.length > 1) stores.sort((a, b) => a - b);
    if (this.storeBase.length < n) this.storeBase = new Float64Array(n * 2);
    const base = this.storeBase;
    for (let i = 0; i < n; i++) base[i] = running[i]!.numComputed;
    for (const key of stores) {
      const j = Math.floor(key / 65_536);
      const req = running[key - j * 65_536]!;
      req.numComputed = base[key - j * 65_536]! + j + 1;
      this.storeChunks(req, start + decodeSpan(lines, j + 1));
    }
    const finished: SimRequest[] = [];
    for (let i = 0; i < n; i++) {
      const req = running[i]!;
      req.numComputed = base[i]! + steps;
      req.numTokens += steps;
      req.lastTokenAt = end;
      if (req.outputLength >= req.targetTokens) finished.push(req);
    }
    s.generationTokens += n * steps;
    for (const req of finished) this.finish(req, end);
  }

  /** New GPU blocks the running requests need for `steps` more decode steps. */
  decodeBlocksNeeded(steps: number): number {
    const B = this.config.blockSize;
    let total = 0;
    for (const req of this.running) total += Math.max(0, Math.ceil((req.numComputed + steps) / B) - req.blocks.length);
    return total;
  }

  /** vLLM's reset_prefix_cache (GPU tier only); false while any block is held. */
  resetPrefixCache(): boolean {
    return this.pool.reset();
  }

  private addToPlan(plan: StepPlan, req: SimRequest, numNew: number, loaded: number): void {
    plan.entries.push({ req, epoch: req.epoch, numNew });
    plan.newTokens += numNew;
    plan.contextTokens += req.numComputed + numNew;
    plan.attentionPairs += numNew * (req.numComputed + (numNew + 1) / 2);
    plan.loadedTokens += loaded;
  }

  /** Admits the head of the waiting queue if its first chunk's blocks can be had. */
  private admit(req: SimRequest, budget: number, plan: StepPlan, now: number, simNow: number): boolean {
    const B = this.config.blockSize;
    const numTokens = req.numTokens;
    // At least one token is always computed (vLLM): hits stop short of the last token.
    const hitBlocks = this.config.prefixCaching ? this.pool.longestPrefix(req.blockHashes, Math.floor((numTokens - 1) / B)) : [];
    const gpuHit = hitBlocks.length * B;
    let external = 0;
    let cpuHit = 0;
    if (this.cpu) {
      extendChain(req.chunkHashes, req.tokens, this.cpu.chunkSize);
      cpuHit = Math.min(this.cpu.peek(req.chunkHashes), numTokens - 1);
      external = Math.max(0, cpuHit - gpuHit);
    }
    const computed = gpuHit + external;
    const numNew = Math.min(numTokens - computed, budget);
    const newBlocks = Math.ceil((computed + numNew) / B) - hitBlocks.length;
    if (newBlocks + this.pool.countFree(hitBlocks) > this.pool.numFree) return false;

    this.waiting.shift();
    this.pool.touch(hitBlocks);
    req.numCachedBlocks = hitBlocks.length;
    req.blocks = hitBlocks; // grows with the new blocks below
    this.pool.allocate(newBlocks, req.blocks);
    req.numComputed = computed;
    req.state = 'running';
    this.running.push(req);
    if (this.cpu) {
      if (!req.admittedOnce) this.cpu.beginRequest(req.conversation, simNow);
      this.cpu.retrieve(req.conversation, req.chunkHashes, numTokens - 1);
    }
    if (!req.admittedOnce) {
      // Counted once per request, as vLLM does for requests that were not preempted.
      req.admittedOnce = true;
      req.cachedTokens = computed;
      req.gpuHitTokens = gpuHit;
      const s = this.stats;
      s.prefixQueries += numTokens;
      s.prefixHits += gpuHit;
      s.promptTokens += req.promptLength;
      s.queueTime.observe(now - req.arrivedAt);
      if (this.cpu) {
        s.externalQueries += numTokens;
        s.externalHits += external;
        const c = this.cpu.counters;
        c.lookupTokens += numTokens;
        c.lookupHitTokens += cpuHit;
        c.requestedTokens += numTokens - gpuHit;
        c.hitTokens += external;
      }
    }
    // vLLM registers blocks at scheduling time, so a request scheduled later can hit them.
    this.cacheFullBlocks(req, computed + numNew);
    this.addToPlan(plan, req, numNew, external);
    return true;
  }

  /** Makes sure `req` holds blocks for `numTokens` tokens; false when the pool is short. */
  private allocateSlots(req: SimRequest, numTokens: number): boolean {
    const needed = Math.ceil(numTokens / this.config.blockSize) - req.blocks.length;
    if (needed <= 0) {
      this.cacheFullBlocks(req, numTokens);
      return true;
    }
    if (needed > this.pool.numFree) return false;
    this.pool.allocate(needed, req.blocks);
    this.cacheFullBlocks(req, numTokens);
    return true;
  }

  private cacheFullBlocks(req: SimRequest, numTokens: number): void {
    if (!this.config.prefixCaching) return;
    const full = Math.min(Math.floor(numTokens / this.config.blockSize), req.blocks.length, req.blockHashes.length);
    for (let i = req.numCachedBlocks; i < full; i++) this.pool.cacheBlock(req.blocks[i]!, req.blockHashes[i]!);
    if (full > req.numCachedBlocks) req.numCachedBlocks = full;
  }

  private storeChunks(req: SimRequest, simNow: number): void {
    if (!this.cpu) return;
    const limit = this.config.saveDecodeCache ? req.numComputed : Math.min(req.numComputed, req.promptLength);
    const full = Math.floor(limit / this.cpu.chunkSize);
    if (full <= req.numStoredChunks) return;
    extendChain(req.chunkHashes, req.tokens, this.cpu.chunkSize);
    this.cpu.store(req.conversation, req.chunkHashes, req.numStoredChunks, full, simNow);
    req.numStoredChunks = full;
  }

  private sample(req: SimRequest, now: number): void {
    const k = req.outputLength;
    if (!req.virtual) {
      const prev = req.pieces[k - 1];
      const piece = replyPiece(this.config.seed, req.promptKey, k, prev !== undefined && isPunctuation(prev), req.bareFirstPiece);
      req.pieces.push(piece);
      req.tokens.push(piece.id);
    }
    req.numTokens++;
    extendChain(req.blockHashes, req.tokens, this.config.blockSize);
    const s = this.stats;
    s.generationTokens++;
    if (k === 0) {
      req.firstTokenAt = now;
      s.ttft.observe(now - req.arrivedAt);
    } else {
      s.itl.observe(now - req.lastTokenAt);
    }
    req.lastTokenAt = now;
    if (req.outputLength >= req.targetTokens) this.finish(req, now);
    else this.dirty.push(req);
  }

  private finish(req: SimRequest, now: number): void {
    this.removeRunning(req);
    req.state = 'finished';
    req.finishReason = req.targetReason;
    this.stats.finished[req.targetReason]++;
    this.stats.e2e.observe(now - req.arrivedAt);
    this.dirty.push(req);
  }

  private preempt(victim: SimRequest): void {
    this.running.pop();
    this.pool.release(victim.blocks);
    victim.blocks = [];
    victim.numComputed = 0;
    victim.numCachedBlocks = 0;
    victim.state = 'waiting';
    victim.epoch++;
    this.waiting.unshift(victim);
    this.stats.preemptions++;
  }

  private removeRunning(req: SimRequest): void {
    const i = this.running.lastIndexOf(req);
    if (i >= 0) this.running.splice(i, 1);
    this.pool.release(req.blocks);
    req.blocks = [];
    req.epoch++;
  }
}
