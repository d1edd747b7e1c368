// The engine drivers: when the scheduler's steps happen in real time.
// - Modelled timing: vLLM's engine loop. A step is planned, lasts what the timing model says
//   divided by --speed, and its tokens appear at its end; the next step starts right away. Step
//   deadlines are absolute, so late timers do not accumulate drift.
// - Unlimited speed: the same steps back to back, many per event-loop turn (new requests join at
//   the next turn), with output written once per turn: the throughput mode.
// - Fixed timing (--fixed-ttft-ms/--fixed-itl-ms): each admitted request has its own timeline,
//   first token exactly TTFT after admission, then one every ITL, whatever the load. Admission,
//   blocks, caching and preemption are the scheduler's as usual.
import { DeadlineTimer, EventHeap, nowSeconds } from './deadline-timer.ts';
import type { SimRequest } from './request.ts';
import type { Scheduler, StepPlan } from './scheduler.ts';
import type { FixedTimings, TimingModel } from './timing.ts';

export interface EngineOptions {
  /** Divides every simulated duration; Infinity = no waiting at all. */
  speed: number;
  timing: TimingModel;
  fixed: FixedTimings | undefined;
}

/** Work done per event-loop turn at unlimited speed before yielding to I/O, seconds. */
const UNLIMITED_SLICE_SECONDS = 0.002;

interface TokenEvent {
  at: number;
  req: SimRequest;
  epoch: number;
}

export class Engine {
  private readonly startedAt = nowSeconds();
  private stepping = false; // a step is planned and waits for its end
  private kicked = false;
  private nextStepStart = 0;
  private plan: StepPlan | undefined;
  private readonly stepTimer: DeadlineTimer;
  private readonly events = new EventHeap<TokenEvent>();
  private readonly eventTimer: DeadlineTimer;
  private stopped = false;

  constructor(
    readonly scheduler: Scheduler,
    private readonly options: EngineOptions,
  ) {
    this.stepTimer = new DeadlineTimer(() => this.endStep(), 0);
    this.eventTimer = new DeadlineTimer(() => this.runEvents(), 0.0015);
  }

  /** The policy clock (seconds since start): real time x speed; real time at unlimited speed. */
  simNow(now = nowSeconds()): number {
    const elapsed = now - this.startedAt;
    return Number.isFinite(this.options.speed) ? elapsed * this.options.speed : elapsed;
  }

  submit(req: SimRequest): void {
    if (this.stopped) return;
    const now = nowSeconds();
    req.submittedAt = now;
    this.scheduler.add(req);
    if (this.fixedMode()) this.admitFixed(now);
    else this.kick();
  }

  abort(req: SimRequest): void {
    const now = nowSeconds();
    this.scheduler.abort(req, now);
    // Freed blocks may let a waiting request in.
    if (this.fixedMode()) this.admitFixed(now);
    else this.kick();
  }

  stop(): void {
    this.stopped = true;
    this.stepTimer.cancel();
    this.eventTimer.cancel();
    this.events.clear();
  }

  private fixedMode(): boolean {
    return this.options.fixed !== undefined && Number.isFinite(this.options.speed);
  }

  private flush(): void {
    const dirty = this.scheduler.dirty;
    for (let i = 0; i < dirty.length; i++) dirty[i]!.sink.flush(dirty[i]!);
    dirty.length = 0;
  }

  // --- modelled timing and unlimited speed ---

  private kick(): void {
    if (this.stepping || this.kicked || this.stopped) return;
    this.kicked = true;
    // Let the other requests that arrived in the same I/O turn join the step.
    setImmediate(() => {
      this.kicked = false;
      if (Number.isFinite(this.options.speed)) {
        this.nextStepStart = nowSeconds();
        this.startStep();
      } else {
        this.runUnlimited();
      }
    });
  }

  private startStep(): void {
    if (this.stepping || this.stopped) return;
    const start = this.nextStepStart;
    const plan = this.scheduler.schedule(start, this.simNow(start));
    if (plan.entries.length === 0) return;
    this.plan = plan;
    this.stepping = true;
    const end = start + this.options.timing.stepSeconds(plan) / this.options.speed;
    this.nextStepStart = end;
    this.stepTimer.at(end);
  }

  private endStep(): void {
    const plan = this.plan!;
    this.plan = undefined;
    this.stepping = false;
    const now = nowSeconds();
    this.scheduler.complete(plan, now, this.simNow(now));
    this.flush();
    // Fallen far behind (an overloaded machine): restart the schedule from now.
    if (now - this.nextStepStart > 0.05) this.nextStepStart = now;
    this.startStep();
  }

  private runUnlimited(): void {
    if (this.stopped) return;
    const begin = nowSeconds();
    let now = begin;
    do {
      const sim = this.simNow(now);
      const plan = this.scheduler.schedule(now, sim);
      if (plan.entries.length === 0) break;
      this.scheduler.complete(plan, now, sim);
      now = nowSeconds();
    } while (now - begin < UNLIMITED_SLICE_SECONDS);
    this.flush();
    if (this.scheduler.hasWork()) this.kick();
  }

  // --- fixed timing ---

  private admitFixed(now: number): void {
    const fixed = this.options.fixed!;
    const ttft = fixed.ttftSeconds / this.options.speed;
    for (const req of this.scheduler.admitWaiting(now, this.simNow(now))) {
      // TTFT counts from the HTTP arrival (reading and checking the body is part of it) plus any
      // wait for admission; a preempted request recomputes: TTFT again from now.
      const at = req.pieces.length === 0 ? req.arrivedAt + (now - req.submittedAt) + ttft : now + ttft;
      this.events.push({ at, req, epoch: req.epoch });
    }
    const top = this.events.peek();
    if (top) this.eventTimer.at(top.at);
  }

  private runEvents(): void {
    const fixed = this.options.fixed!;
    const now = nowSeconds();
    let finished = false;
    for (let e = this.events.peek(); e && e.at <= now; e = this.events.peek()) {
      this.events.pop();
      const req = e.req;
      if (req.state !== 'running' || req.epoch !== e.epoch) continue;
      this.scheduler.completeAll(req, now, this.simNow(now));
      if ((req.state as string) === 'finished') {
        finished = true;
        continue;
      }
      const victims = this.scheduler.reserveNext(req);
      if (!victims.includes(req)) {
        // From the event's own deadline, not from now: no drift over a long reply.
        this.events.push({ at: e.at + fixed.itlSeconds / this.options.speed, req, epoch: req.epoch });
      }
    }
    this.flush();
    if (finished || this.scheduler.running.length === 0) this.admitFixed(now);
    const top = this.events.peek();
    if (top) this.eventTimer.at(top.at);
  }
}
