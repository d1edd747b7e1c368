// The replay engine. Every turn has an absolute due time on the monotonic clock: its scheduled
// time, or the end of the previous turn of its conversation if that is later (event-driven: the
// completion itself sends the next turn). Due turns wait in a heap; a coarse setTimeout wakes the
// loop shortly before the earliest deadline and a setImmediate loop (which keeps serving I/O,
// polling the clock for up to 20 us per turn) covers the last stretch, so sends are
// sub-millisecond accurate without spinning a core at low rates. Request bodies are built before
// the deadline, not at it; a wait for the next deadline may be used to collect garbage
// (loadgen/gc-pacer.ts).
import { performance } from 'node:perf_hooks';
import { DeadlineHeap } from './deadline-heap.ts';
import type { GcPacer } from './gc-pacer.ts';
import { streamChat, type ChatOutcome, type ChatTarget, type InFlight } from './http-chat.ts';
import type { PromptBuilder } from './prompt.ts';
import type { TraceTurn } from './trace-parse.ts';
import type { RequestRecord } from './result-schema.ts';
import { RequestLog } from './request-log.ts';
import { indexConversations, prepareTurn, recordOutcome, type Conversation, type PreparedTurn, type ReplyHistory } from './conversation.ts';

/** The last stretch before a deadline is covered by setImmediate; timers are this late at worst. */
export const SPIN_WINDOW_MS = 2;
/** Longest the clock is polled without serving the network (delays a chunk's timestamp by at most this). */
const POLL_SLICE_MS = 0.02;
/** Shared-memory loads between two clock reads: a pause of about a microsecond the compiler cannot remove. */
const PAUSE_LOADS = 100;
const PAUSE_CELL = new Int32Array(new SharedArrayBuffer(4));

export interface ReplayOptions {
  target: ChatTarget;
  model: string;
  turns: readonly TraceTurn[];
  /** Per turn (by index), ms after the run start; non-decreasing. */
  scheduledMs: Float64Array;
  prompts: PromptBuilder;
  mockDecoding: boolean;
  /** Counted from the first send; null: no limit. */
  timeLimitMs: number | null;
  /** How long requests in flight at the time limit may still finish. */
  graceMs: number;
  /** Offered every wait of the schedule, to collect garbage where no send is due; null: none. */
  gcPacer?: GcPacer | null;
  /** How replies enter the history (reasoning rewritten or not); null: as received. */
  replies?: ReplyHistory | null;
  /** The server's count of each turn's message, taken before the run (goes to requests.jsonl). */
  messageTokens?: Int32Array | null;
}

export interface ReplayCounters {
  elapsedS: number;
  scheduled: number;
  sent: number;
  completed: number;
  failed: number;
  total: number;
}

export interface ReplayOutcome {
  records: RequestRecord[];
  /** performance.now() of the run start (due times are relative to it). */
  startAt: number;
  firstSendAt: number | null;
  lastSendAt: number | null;
  endAt: number;
  timeLimitReached: boolean;
  /** Stopped by interrupt() (a signal) before the end. */
  interrupted: boolean;
  maxConcurrent: number;
}

export class Replay {
  private readonly log: RequestLog;
  private readonly conversations: Map<string, Conversation>;
  private readonly conversationOf: Conversation[];
  private readonly prepared = new Map<number, PreparedTurn>();
  private readonly heap = new DeadlineHeap();
  private readonly inFlight = new Map<number, InFlight>();
  private startAt = 0;
  private firstSendAt: number | null = null;
  private lastSendAt: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Due time (ms from the start) the armed setTimeout is for. */
  private timerDeadline = Number.POSITIVE_INFINITY;
  private immediate: NodeJS.Immediate | null = null;
  private limitTimer: NodeJS.Timeout | null = null;
  /** performance.now() of the time limit, set at the first send. */
  private limitAt: number | null = null;
  private graceTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private timeLimitReached = false;
  private interrupted = false;
  private sent = 0;
  private completed = 0;
  private failed = 0;
  private maxConcurrent = 0;
  private resolveDone: (() => void) | null = null;
  /** The deadline whose wait was last offered to the GC pacer (each wait is offered once). */
  private gapOfferedFor = Number.NaN;

  constructor(private readonly options: ReplayOptions) {
    options.target.afterRead = this.sendDue;
    const { turns, scheduledMs } = options;
    this.log = new RequestLog(turns, scheduledMs, options.mockDecoding);
    if (options.messageTokens) this.log.setMessageTokens(options.messageTokens);
    ({ byId: this.conversations, ofTurn: this.conversationOf } = indexConversations(turns));
  }

  /** Runs the whole replay; resolves when every turn is finished, failed, aborted or not started. */
  run(): Promise<ReplayOutcome> {
    for (const conversation of this.conversations.values()) {
      const first = conversation.turns[0]!;
      this.enqueue(first, this.options.scheduledMs[first]!);
    }
    // The clock starts once the schedule is built (heap keys are relative to it), with a short
    // lead so that the first deadline is not already past when the loop first runs.
    this.startAt = performance.now() + 5;
    const done = new Promise<void>((resolve) => {
      this.resolveDone = resolve;
    });
    if (this.options.turns.length === 0) this.resolveDone?.();
    return done.then(() => this.outcome());
  }

  /** performance.now() of the run start, once run() was called. */
  get startedAt(): number {
    return this.startAt;
  }

  counters(): ReplayCounters {
    const elapsed = performance.now() - this.startAt;
    return {
      elapsedS: Math.max(0, elapsed / 1000),
      scheduled: countAtMost(this.options.scheduledMs, elapsed),
      sent: this.sent,
      completed: this.completed,
      failed: this.failed,
      total: this.log.size,
    };
  }

  private outcome(): ReplayOutcome {
    // The end is taken before the records are built from the log: that is not part of the run.
    const endAt = performance.now();
    return {
      records: this.log.records(),
      startAt: this.startAt,
      firstSendAt: this.firstSendAt,
      lastSendAt: this.lastSendAt,
      endAt,
      timeLimitReached: this.timeLimitReached,
      interrupted: this.interrupted,
      maxConcurrent: this.maxConcurrent,
    };
  }

  /** Puts a turn on the schedule at `dueMs` (relative to the start). */
  private enqueue(index: number, dueMs: number): void {
    this.log.setDue(index, dueMs);
    this.heap.push(dueMs, index);
    if (this.immediate === null && dueMs < this.timerDeadline) {
      if (this.timer !== null) clearTimeout(this.timer);
      this.timer = null;
      this.timerDeadline = Number.POSITIVE_INFINITY;
      this.immediate = setImmediate(this.pump);
    }
  }

  /** Sends every turn that is due now; the armed timer stays as it is. */
  private readonly sendDue = (): void => {
    const heap = this.heap;
    if (heap.size === 0 || this.stopped) return;
    const start = this.startAt;
    let now = performance.now();
    while (heap.size > 0 && heap.peekKey() <= now - start) {
      this.send(heap.pop());
      if (this.stopped) return;
      now = performance.now();
    }
  };

  private readonly pump = (): void => {
    this.immediate = null;
    this.timer = null;
    this.timerDeadline = Number.POSITIVE_INFINITY;
    if (this.stopped) return;
    this.sendDue();
    const heap = this.heap;
    if (this.stopped || heap.size === 0) return;
    const start = this.startAt;
    const next = heap.peekId();
    if (!this.prepared.has(next)) this.prepared.set(next, this.prepare(next));
    const deadline = heap.peekKey();
    let now = performance.now();
    const wait = deadline - (now - start);
    const pacer = this.options.gcPacer;
    if (pacer && wait >= pacer.minGapMs && deadline !== this.gapOfferedFor) {
      this.gapOfferedFor = deadline;
      // A collection took time: look at the schedule again (sends may be due now).
      if (pacer.offerGap(wait)) return this.pump();
    }
    if (wait > SPIN_WINDOW_MS) {
      this.timerDeadline = deadline;
      this.timer = setTimeout(this.pump, wait - SPIN_WINDOW_MS);
      return;
    }
    // Inside the window, each turn of the event loop polls the clock for up to POLL_SLICE_MS
    // before it lets the loop poll the network again. One loop turn per microsecond made ~300
    // MB/s of garbage (an Immediate each, and every performance.now() is a 16-byte heap number):
    // that set the pace of the young-generation GC pauses behind most late sends in steady state.
    // The loop stays here, not in a helper function: side by side it was slower there (20 rounds
    // at 5,000 req/s: p99 median about twice as high).
    const dueAt = start + deadline;
    const sliceEnd = Math.min(dueAt, now + POLL_SLICE_MS);
    while (now < sliceEnd) {
      for (let i = 0; i < PAUSE_LOADS; i++) Atomics.load(PAUSE_CELL, 0);
      now = performance.now();
    }
    if (now >= dueAt) {
      this.sendDue();
      if (this.stopped) return;
    }
    this.immediate = setImmediate(this.pump);
  };

  private prepare(index: number): PreparedTurn {
    return prepareTurn(this.options.turns[index]!, this.conversationOf[index]!, this.options);
  }

  private send(index: number): void {
    let prepared = this.prepared.get(index);
    if (prepared) this.prepared.delete(index);
    else prepared = this.prepare(index);
    const now = performance.now();
    // The time limit is exact: a turn due at or after it is not sent, even if the limit's timer
    // has not fired yet (Node's timers can be a millisecond late).
    if (this.limitAt !== null && now >= this.limitAt) {
      this.log.setDue(index, null);
      this.stop();
      return;
    }
    this.sent++;
    if (this.firstSendAt === null) {
      this.firstSendAt = now;
      if (this.options.timeLimitMs !== null) {
        this.limitAt = now + this.options.timeLimitMs;
        this.limitTimer = setTimeout(this.stop, this.options.timeLimitMs);
      }
    }
    this.log.setExpectedPromptTokens(index, prepared.expectedPromptTokens);
    const p = prepared;
    const inFlight = streamChat(this.options.target, p.body, now, (outcome) => this.finish(index, p, outcome));
    this.lastSendAt = performance.now();
    this.inFlight.set(index, inFlight);
    if (this.inFlight.size > this.maxConcurrent) this.maxConcurrent = this.inFlight.size;
  }

  private finish(index: number, prepared: PreparedTurn, outcome: ChatOutcome): void {
    this.inFlight.delete(index);
    const start = this.startAt;
    const conversation = this.conversationOf[index]!;
    recordOutcome(this.log, index, prepared, outcome, conversation, start, this.options.replies ?? null);
    if (outcome.ok) this.completed++;
    else if (!outcome.aborted) this.failed++;
    conversation.next++;
    if (!this.stopped && conversation.next < conversation.turns.length) {
      const nextIndex = conversation.turns[conversation.next]!;
      const nowMs = performance.now() - start;
      const dueMs = Math.max(this.options.scheduledMs[nextIndex]!, nowMs);
      if (dueMs <= nowMs) {
        // The conversation was the bottleneck: the next turn is due now, sent at once.
        this.log.setDue(nextIndex, dueMs);
        this.send(nextIndex);
      } else {
        this.enqueue(nextIndex, dueMs);
      }
    }
    this.checkDone();
  }

  /** Time limit: nothing more is sent; requests in flight get the grace period, then are aborted. */
  private readonly stop = (): void => {
    if (this.stopped) return;
    this.timeLimitReached = true;
    this.halt(this.options.graceMs, `aborted: still running ${this.options.graceMs} ms after the time limit`);
  };

  /** Interruption (SIGINT/SIGTERM): nothing more is sent and requests in flight are aborted now. */
  interrupt(reason: string): void {
    if (this.resolveDone === null) return;
    this.interrupted = true;
    if (this.graceTimer !== null) clearTimeout(this.graceTimer);
    this.halt(0, `aborted: ${reason}`);
  }

  private halt(graceMs: number, abortReason: string): void {
    this.stopped = true;
    if (this.limitTimer !== null) clearTimeout(this.limitTimer);
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
    for (const index of this.heap.drain()) this.log.setDue(index, null);
    this.prepared.clear();
    const abortAll = (): void => {
      for (const request of [...this.inFlight.values()]) request.abort(abortReason);
    };
    if (graceMs <= 0) abortAll();
    else if (this.inFlight.size > 0) this.graceTimer = setTimeout(abortAll, graceMs);
    this.checkDone();
  }

  private checkDone(): void {
    if (this.inFlight.size > 0) return;
    const allSent = this.sent === this.log.size;
    if (!allSent && !this.stopped) return;
    if (this.limitTimer !== null) clearTimeout(this.limitTimer);
    if (this.graceTimer !== null) clearTimeout(this.graceTimer);
    const resolve = this.resolveDone;
    this.resolveDone = null;
    resolve?.();
  }
}

/** How many of the sorted values are <= limit. */
function countAtMost(sorted: Float64Array, limit: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid]! <= limit) low = mid + 1;
    else high = mid;
  }
  return low;
}
