// What the replay records about every turn, kept as columns (typed arrays, NaN for "none") and
// turned into requests.jsonl's RequestRecord objects only after the run. An object per request
// with its own ITL array and boxed numbers made every young-generation GC of a fast run copy
// and promote a few hundred bytes per finished request (and track old-to-new pointers into each
// record); typed arrays live outside the JS heap, so finished requests leave nothing to copy.
import type { RequestRecord } from './result-schema.ts';
import type { TraceTurn } from './trace-parse.ts';

const STATUS = ['not_started', 'ok', 'failed', 'aborted'] as const;
export type RequestStatus = (typeof STATUS)[number];

export class RequestLog {
  readonly size: number;
  private readonly scheduled: Float64Array;
  private readonly due: Float64Array;
  private readonly sent: Float64Array;
  private readonly sendError: Float64Array;
  private readonly ttft: Float64Array;
  private readonly e2el: Float64Array;
  private readonly promptTokens: Float64Array;
  private readonly expectedPromptTokens: Float64Array;
  private readonly cachedTokens: Float64Array;
  private readonly outputTokens: Float64Array;
  private readonly httpStatus: Float64Array;
  private readonly status: Uint8Array;
  /** Each request's ITL values are itl[itlStart[i] .. itlStart[i] + itlCount[i]). */
  private readonly itlStart: Int32Array;
  private readonly itlCount: Int32Array;
  private itl = new Float64Array(1024);
  private itlUsed = 0;
  /** Error messages of failed and aborted requests (a minority, so a map). */
  private readonly errors = new Map<number, string>();
  /** The server's count of each turn's new user message, when it was counted before the run. */
  private messageTokens: Int32Array | null = null;

  constructor(
    private readonly turns: readonly TraceTurn[],
    scheduledMs: Float64Array,
    private readonly mockDecoding: boolean,
  ) {
    const n = turns.length;
    this.size = n;
    const column = (): Float64Array => new Float64Array(n).fill(Number.NaN);
    this.scheduled = Float64Array.from(turns, (turn) => scheduledMs[turn.index]!);
    this.due = column();
    this.sent = column();
    this.sendError = column();
    this.ttft = column();
    this.e2el = column();
    this.promptTokens = column();
    this.expectedPromptTokens = column();
    this.cachedTokens = column();
    this.outputTokens = column();
    this.httpStatus = column();
    this.status = new Uint8Array(n);
    this.itlStart = new Int32Array(n);
    this.itlCount = new Int32Array(n);
  }

  setDue(index: number, dueMs: number | null): void {
    this.due[index] = dueMs ?? Number.NaN;
  }

  /** The server's counts of the messages (by turn index), taken before the run. */
  setMessageTokens(counts: Int32Array): void {
    this.messageTokens = counts;
  }

  setExpectedPromptTokens(index: number, tokens: number): void {
    this.expectedPromptTokens[index] = tokens;
  }

  /** The send instant (ms from the run start); the send-time error is measured against the due time. */
  setSent(index: number, sentMs: number): void {
    this.sent[index] = sentMs;
    // A due time is set before every send; null (NaN here) would count as 0, as `sent - null` did.
    const due = this.due[index]!;
    this.sendError[index] = sentMs - (Number.isNaN(due) ? 0 : due);
  }

  setResponse(index: number, httpStatus: number | null, promptTokens: number | null, cachedTokens: number | null): void {
    this.httpStatus[index] = httpStatus ?? Number.NaN;
    this.promptTokens[index] = promptTokens ?? Number.NaN;
    this.cachedTokens[index] = cachedTokens ?? Number.NaN;
  }

  /** TTFT and the gaps between content chunks, from their arrival times (performance.now()). */
  setChunkTimes(index: number, sentAt: number, chunkTimes: readonly number[]): void {
    if (chunkTimes.length === 0) return;
    this.ttft[index] = chunkTimes[0]! - sentAt;
    const count = chunkTimes.length - 1;
    if (this.itlUsed + count > this.itl.length) {
      const grown = new Float64Array(Math.max(this.itl.length * 2, this.itlUsed + count));
      grown.set(this.itl.subarray(0, this.itlUsed));
      this.itl = grown;
    }
    this.itlStart[index] = this.itlUsed;
    this.itlCount[index] = count;
    for (let i = 1; i < chunkTimes.length; i++) this.itl[this.itlUsed++] = chunkTimes[i]! - chunkTimes[i - 1]!;
  }

  setEnd(index: number, status: Exclude<RequestStatus, 'not_started'>, e2elMs: number | null, outputTokens: number | null, error: string | null): void {
    this.status[index] = STATUS.indexOf(status);
    this.e2el[index] = e2elMs ?? Number.NaN;
    this.outputTokens[index] = outputTokens ?? Number.NaN;
    if (error !== null) this.errors.set(index, error);
    else this.errors.delete(index);
  }

  statusOf(index: number): RequestStatus {
    return STATUS[this.status[index]!]!;
  }

  /** The record of turn `index`, as requests.jsonl has it. */
  record(index: number): RequestRecord {
    const turn = this.turns[index]!;
    const start = this.itlStart[index]!;
    return {
      index: turn.index,
      conversation: turn.conversationId,
      turn: turn.turn,
      status: this.statusOf(index),
      scheduled_ms: this.scheduled[index]!,
      due_ms: orNull(this.due[index]!),
      sent_ms: orNull(this.sent[index]!),
      send_error_ms: orNull(this.sendError[index]!),
      ttft_ms: orNull(this.ttft[index]!),
      itl_ms: Array.from(this.itl.subarray(start, start + this.itlCount[index]!)),
      e2el_ms: orNull(this.e2el[index]!),
      prompt_tokens: orNull(this.promptTokens[index]!),
      expected_prompt_tokens: orNull(this.expectedPromptTokens[index]!),
      message_tokens: this.messageTokens === null || this.messageTokens[index]! < 0 ? null : this.messageTokens[index]!,
      cached_tokens: orNull(this.cachedTokens[index]!),
      output_tokens: orNull(this.outputTokens[index]!),
      requested_output_tokens: this.mockDecoding ? 1 : turn.replyTokens,
      http_status: orNull(this.httpStatus[index]!),
      error: this.errors.get(index) ?? null,
    };
  }

  records(): RequestRecord[] {
    return Array.from({ length: this.size }, (_, i) => this.record(i));
  }
}

function orNull(value: number): number | null {
  return Number.isNaN(value) ? null : value;
}
