// The client side of an offline replay, as the live client (loadgen/replay.ts) behaves: each turn
// is due at its scheduled time or when its conversation's previous turn ends, if later; its prompt
// is the conversation's history plus the new message (or the prompt the input gives); a failed
// turn adds nothing to the history; after the time limit nothing more is sent and requests still
// running after the grace period are aborted. Requests go to the virtual engine instead of HTTP,
// and every time is on the engine's virtual clock.
import { DeadlineHeap } from '../loadgen/deadline-heap.ts';
import { SimRequest, type OutputSink } from '../simulator/request.ts';
import type { VirtualEngine } from '../simulator/virtual-engine.ts';
import type { PolicyHooks } from './policies/index.ts';
import type { OfflineRecords } from './records.ts';
import type { ReplayPlan } from './replay-plan.ts';
import { TokenStream } from './token-streams.ts';
import { mix32 } from '../simulator/hashing.ts';

/** Chat-template tokens of the simulator's ChatML: around one message with the generation prompt, and per further message. */
export const CHATML = { baseTokens: 8, perMessageTokens: 5 } as const;

export interface ReplaySettings {
  timeLimitS: number | null;
  /** Seconds requests in flight at the time limit may still finish (the live client's 5). */
  graceS: number;
  mockDecoding: boolean;
  maxModelLen: number;
  blockSize: number;
  chunkSize: number;
}

export interface ReplayOutcome {
  /** Virtual seconds of the first send and of the end of the last request. */
  firstSendS: number | null;
  lastSendS: number | null;
  endS: number;
  timeLimitReached: boolean;
  maxConcurrent: number;
}

/** A turn in the engine: the request plus the turn it belongs to. */
class TurnRequest extends SimRequest {
  constructor(
    readonly index: number,
    readonly query: number,
    conversation: string,
    prompt: number,
    reply: number,
    at: number,
    sink: OutputSink,
    stream: TokenStream,
  ) {
    super(`offline-${index}`, conversation, prompt, reply, 'length', 0, true, at, sink, stream.blocks, stream.chunks);
  }
}

export class OfflineReplay implements OutputSink {
  private readonly heap = new DeadlineHeap();
  private readonly inFlight = new Set<TurnRequest>();
  private readonly streams: (TokenStream | undefined)[];
  /** Trace input: tokens of each conversation's messages so far, and how many messages. */
  private readonly contentTokens: Float64Array;
  private readonly messages: Int32Array;
  private stopped = false;
  private limitAt = Infinity;
  private readonly outcome: ReplayOutcome = { firstSendS: null, lastSendS: null, endS: 0, timeLimitReached: false, maxConcurrent: 0 };

  constructor(
    private readonly engine: VirtualEngine,
    private readonly plan: ReplayPlan,
    private readonly records: OfflineRecords,
    private readonly settings: ReplaySettings,
    private readonly hooks: PolicyHooks | undefined,
  ) {
    const conversations = plan.stream.conversationIds.length;
    this.streams = new Array(conversations);
    this.contentTokens = new Float64Array(conversations);
    this.messages = new Int32Array(conversations);
  }

  run(): ReplayOutcome {
    const { firstTurn, scheduledS } = this.plan;
    for (let c = 0; c < firstTurn.length; c++) this.enqueue(firstTurn[c]!, scheduledS[firstTurn[c]!]!);
    const engine = this.engine;
    const grace = this.settings.graceS;
    for (;;) {
      if (!engine.hasWork()) {
        if (this.stopped || this.heap.size === 0) break;
        engine.now = Math.max(engine.now, this.heap.peekKey());
      }
      // Turns due by now were sent at their due time (the client does not wait for the engine's
      // steps); they join the next step, as a request arriving during a step does.
      while (!this.stopped && this.heap.size > 0 && this.heap.peekKey() <= engine.now) {
        // A turn due at or after the time limit is not sent.
        if (this.heap.peekKey() >= this.limitAt) this.stop();
        else this.send(this.heap.peekKey(), this.heap.pop());
      }
      if (!this.stopped && engine.now >= this.limitAt) this.stop();
      if (this.stopped && engine.now >= this.limitAt + grace) {
        this.abortAll(`aborted: still running ${grace * 1000} ms after the time limit`);
        break;
      }
      if (!engine.hasWork()) continue;
      engine.step(this.stopped ? this.limitAt + grace : Math.min(this.heap.peekKey(), this.limitAt));
    }
    this.outcome.endS = engine.now;
    return this.outcome;
  }

  /** The engine's output for a request: the turn ends when its request finishes. */
  flush(req: SimRequest): void {
    if (req.state !== 'finished') return;
    const turn = req as TurnRequest;
    const i = turn.index;
    const r = this.records;
    const arrived = req.arrivedAt;
    this.inFlight.delete(turn);
    r.setStatus(i, 'ok');
    r.httpStatus[i] = 200;
    r.ttftMs[i] = (req.firstTokenAt - arrived) * 1000;
    r.e2elMs[i] = (req.lastTokenAt - arrived) * 1000;
    r.promptTokens[i] = req.promptLength;
    r.cachedTokens[i] = req.cachedTokens;
    r.gpuHitTokens[i] = req.gpuHitTokens;
    r.outputTokens[i] = req.outputLength;
    const c = this.plan.stream.conversation[i]!;
    this.contentTokens[c]! += turn.query + req.outputLength;
    this.messages[c]! += 2;
    this.streams[c]!.length = req.promptLength + req.outputLength;
    this.hooks?.done?.(c, i, this.engine.now);
    this.next(i, this.engine.now);
  }

  /** Sends turn `i` at `now` (its due time, at or before the engine's clock). */
  private send(now: number, i: number): void {
    const s = this.plan.stream;
    const r = this.records;
    const c = s.conversation[i]!;
    if (this.outcome.firstSendS === null) {
      this.outcome.firstSendS = now;
      if (this.settings.timeLimitS !== null) this.limitAt = now + this.settings.timeLimitS;
    }
    this.outcome.lastSendS = now;
    r.sentMs[i] = now * 1000;
    const mock = this.settings.mockDecoding;
    const given = s.promptTokens[i]!;
    const reply = mock ? 1 : s.replyTokens[i]!;
    r.requestedOutputTokens[i] = reply;
    let query = 0;
    let prompt: number;
    if (given >= 0) {
      prompt = given;
    } else {
      // Mock decoding: the reply's tokens are prefilled as part of the message, one token decoded.
      query = mock ? s.queryTokens[i]! + s.replyTokens[i]! : s.queryTokens[i]!;
      prompt = this.contentTokens[c]! + query + CHATML.baseTokens + CHATML.perMessageTokens * this.messages[c]!;
    }
    r.expectedPromptTokens[i] = prompt;
    const limit = this.settings.maxModelLen;
    if (prompt + reply > limit) {
      // The server's 400 (simulator/openai-api.ts): nothing reaches the engine.
      r.setStatus(i, 'failed');
      r.httpStatus[i] = 400;
      r.errors.set(i, `HTTP 400: This model's maximum context length is ${limit} tokens. However, you requested ${prompt + reply} tokens (${prompt} in the messages, ${reply} in the completion).`);
      this.hooks?.skipped(c, i);
      this.next(i, now);
      return;
    }
    let stream = this.streams[c];
    if (!stream) {
      stream = new TokenStream(mix32(c + 0x2545f491), this.settings.blockSize, this.settings.chunkSize);
      this.streams[c] = stream;
    }
    stream.extend(prompt, reply);
    const req = new TurnRequest(i, query, s.conversationIds[c]!, prompt, reply, now, this, stream);
    this.inFlight.add(req);
    if (this.inFlight.size > this.outcome.maxConcurrent) this.outcome.maxConcurrent = this.inFlight.size;
    this.hooks?.sent(c, i, now);
    this.engine.submit(req);
  }

  /** Turn `i` ended at `now`: the next turn of its conversation is due then, or at its own time if later. */
  private next(i: number, now: number): void {
    const next = this.plan.nextTurn[i]!;
    if (next < 0) {
      this.streams[this.plan.stream.conversation[i]!] = undefined;
      return;
    }
    if (!this.stopped) this.enqueue(next, Math.max(this.plan.scheduledS[next]!, now));
  }

  private enqueue(i: number, due: number): void {
    this.records.dueMs[i] = due * 1000;
    this.heap.push(due, i);
  }

  /** The time limit: turns not yet sent stay not_started. */
  private stop(): void {
    this.stopped = true;
    this.outcome.timeLimitReached = true;
    for (const i of this.heap.drain()) this.records.dueMs[i] = Number.NaN;
  }

  private abortAll(reason: string): void {
    for (const req of [...this.inFlight]) {
      this.engine.abort(req);
      const i = req.index;
      const r = this.records;
      // As the live client records it: the stream had started, its usage chunk never came.
      r.setStatus(i, 'aborted');
      r.httpStatus[i] = 200;
      if (req.outputLength > 0) {
        r.outputTokens[i] = req.outputLength;
        r.ttftMs[i] = (req.firstTokenAt - req.arrivedAt) * 1000;
      }
      r.errors.set(i, reason);
    }
    this.inFlight.clear();
  }
}
