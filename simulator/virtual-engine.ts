// The offline driver of the scheduler: the modelled timing's steps on a virtual clock, with no
// timers, no HTTP and no waiting. A step starts when the previous one ends (or when a request
// arrives at an idle engine), lasts what the timing model says, and its tokens appear at its end,
// as in engine.ts at --speed 1; the policy clock is the same virtual clock. Stretches in which
// every running request only decodes run as one call (Scheduler.decodeSteps), so the cost grows
// with the requests and the blocks they fill, not with the tokens they generate.
import type { SimRequest } from './request.ts';
import type { Scheduler } from './scheduler.ts';
import type { TimingModel } from './timing.ts';
import { decodeSpan, decodeStep, stepsUntil } from './decode-lines.ts';

/** Decode steps run as one stretch at most. */
const MAX_STRETCH = 4096;

/** What the driver reports as steps run, for the figures a client would measure. */
export interface StepObserver {
  /** `count` inter-token gaps of `seconds` each. */
  gaps(seconds: number, count: number): void;
  /** `times` x each of `steps` gaps growing from `first` to `last` seconds and summing to `sum` (counted once). */
  gapSpan(first: number, last: number, steps: number, times: number, sum: number): void;
  /** `count` tokens appeared at `at` (seconds). */
  tokens(at: number, count: number): void;
  /** `count` tokens at each of `steps` instants from `first` to `last` (about evenly spaced). */
  tokenSpan(first: number, last: number, steps: number, count: number): void;
}

export class VirtualEngine {
  /** The virtual clock, seconds since the start. */
  now = 0;
  /** Highest share of GPU blocks held by requests (vllm:kv_cache_usage_perc) after any step's allocations. */
  peakKvUsage = 0;
  /** Highest bytes in the CPU tier (lmcache:local_cache_usage). */
  peakCpuBytes = 0;
  steps = 0;
  private outBefore = new Int32Array(256);
  private lastBefore = new Float64Array(256);

  constructor(
    readonly scheduler: Scheduler,
    private readonly timing: TimingModel,
    private readonly observer: StepObserver,
    /** False: every step through schedule() + complete() (what the stretches must equal). */
    private readonly stretches = true,
  ) {}

  hasWork(): boolean {
    return this.scheduler.hasWork();
  }

  /** A request arrives now; it joins the next step. */
  submit(req: SimRequest): void {
    req.submittedAt = this.now;
    this.scheduler.add(req);
  }

  /** The client went away: the request's blocks are freed now. */
  abort(req: SimRequest): void {
    this.scheduler.abort(req, this.now);
  }

  /**
   * Runs the next step from `now`, or a stretch of decode steps that ends with the last step
   * starting before `until` (the next arrival: it must join the step that starts after it). Calls
   * the sinks of the requests with new output. False when there was nothing to run.
   */
  step(until: number): boolean {
    if (!this.scheduler.hasWork()) return false;
    const k = this.stretches ? this.scheduler.decodeLimit(MAX_STRETCH) : 0;
    if (k > 0) this.stretch(k, until);
    else this.single();
    this.steps++;
    const cpu = this.scheduler.cpu;
    if (cpu && cpu.usageBytes() > this.peakCpuBytes) this.peakCpuBytes = cpu.usageBytes();
    this.flush();
    return true;
  }

  private single(): void {
    const s = this.scheduler;
    const start = this.now;
    const plan = s.schedule(start, start);
    const entries = plan.entries;
    if (entries.length === 0) {
      // Only possible for a request larger than the whole GPU tier, which the caller rejects first.
      throw new Error(`no request can be scheduled: ${s.waiting.length} waiting, none running`);
    }
    this.notePeak(s.pool.usable - s.pool.numFree);
    if (entries.length > this.outBefore.length) {
      this.outBefore = new Int32Array(entries.length * 2);
      this.lastBefore = new Float64Array(entries.length * 2);
    }
    for (let i = 0; i < entries.length; i++) {
      this.outBefore[i] = entries[i]!.req.outputLength;
      this.lastBefore[i] = entries[i]!.req.lastTokenAt;
    }
    const end = start + this.timing.stepSeconds(plan);
    s.complete(plan, end, end);
    let sampled = 0;
    for (let i = 0; i < entries.length; i++) {
      const req = entries[i]!.req;
      const before = this.outBefore[i]!;
      if (req.outputLength <= before) continue;
      sampled++;
      if (before > 0) this.observer.gaps(end - this.lastBefore[i]!, 1);
    }
    if (sampled > 0) this.observer.tokens(end, sampled);
    this.now = end;
  }

  private stretch(k: number, until: number): void {
    const s = this.scheduler;
    const running = s.running;
    const n = running.length;
    let context = 0;
    for (let i = 0; i < n; i++) context += running[i]!.numComputed;
    const lines = this.timing.decodeLines(n, context);
    const start = this.now;
    const steps = stepsUntil(lines, start, until, k);
    const firstEnd = start + decodeStep(lines, 0);
    const end = start + decodeSpan(lines, steps);
    const o = this.observer;
    // The first step's gaps: from each request's last token, most of them at `start`.
    let fromStart = 0;
    for (let i = 0; i < n; i++) {
      const last = running[i]!.lastTokenAt;
      if (last === start) fromStart++;
      else o.gaps(firstEnd - last, 1);
    }
    if (fromStart > 0) o.gaps(firstEnd - start, fromStart);
    if (steps > 1) o.gapSpan(decodeStep(lines, 1), decodeStep(lines, steps - 1), steps - 1, n, end - firstEnd);
    o.tokenSpan(firstEnd, end, steps, n);
    s.decodeSteps(steps, start, lines);
    this.notePeak(s.stretchHeldBlocks);
    this.now = end;
  }

  /** Usage with `held` blocks held by requests (once a step's blocks are allocated). */
  private notePeak(held: number): void {
    const usable = this.scheduler.pool.usable;
    const usage = usable === 0 ? 0 : held / usable;
    if (usage > this.peakKvUsage) this.peakKvUsage = usage;
  }

  /** Tells the sinks of finished requests: offline, nothing reads tokens as they come. */
  private flush(): void {
    const dirty = this.scheduler.dirty;
    for (let i = 0; i < dirty.length; i++) {
      const req = dirty[i]!;
      if (req.state === 'finished') req.sink.flush(req);
    }
    dirty.length = 0;
  }
}
