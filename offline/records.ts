// What the offline replay records about every turn, as columns (NaN for "none"), turned into
// requests.jsonl's records one at a time when written: a million-turn replay keeps ~100 MB of
// columns instead of a million objects.
import type { RequestRecord } from '../loadgen/result-schema.ts';
import type { RequestStream } from './inputs/stream.ts';

const STATUS = ['not_started', 'ok', 'failed', 'aborted'] as const;
export type RecordStatus = (typeof STATUS)[number];

export class OfflineRecords {
  readonly size: number;
  readonly status: Uint8Array;
  readonly dueMs: Float64Array;
  readonly sentMs: Float64Array;
  readonly ttftMs: Float64Array;
  readonly e2elMs: Float64Array;
  readonly promptTokens: Float64Array;
  readonly expectedPromptTokens: Float64Array;
  readonly cachedTokens: Float64Array;
  readonly gpuHitTokens: Float64Array;
  readonly outputTokens: Float64Array;
  readonly requestedOutputTokens: Int32Array;
  readonly httpStatus: Float64Array;
  readonly errors = new Map<number, string>();

  constructor(
    private readonly stream: RequestStream,
    readonly scheduledMs: Float64Array,
  ) {
    const n = stream.size;
    this.size = n;
    const column = (): Float64Array => new Float64Array(n).fill(Number.NaN);
    this.status = new Uint8Array(n);
    this.dueMs = column();
    this.sentMs = column();
    this.ttftMs = column();
    this.e2elMs = column();
    this.promptTokens = column();
    this.expectedPromptTokens = column();
    this.cachedTokens = column();
    this.gpuHitTokens = column();
    this.outputTokens = column();
    this.requestedOutputTokens = new Int32Array(n);
    this.httpStatus = column();
  }

  setStatus(index: number, status: RecordStatus): void {
    this.status[index] = STATUS.indexOf(status);
  }

  statusOf(index: number): RecordStatus {
    return STATUS[this.status[index]!]!;
  }

  record(index: number): RequestRecord {
    const s = this.stream;
    const due = orNull(this.dueMs[index]!);
    const sent = orNull(this.sentMs[index]!);
    const cached = orNull(this.cachedTokens[index]!);
    const gpu = orNull(this.gpuHitTokens[index]!);
    return {
      index,
      conversation: s.conversationIds[s.conversation[index]!]!,
      turn: s.turn[index]!,
      status: this.statusOf(index),
      scheduled_ms: this.scheduledMs[index]!,
      due_ms: due,
      sent_ms: sent,
      send_error_ms: sent === null ? null : sent - (due ?? 0),
      ttft_ms: orNull(this.ttftMs[index]!),
      // Per-token gaps are not kept offline: result.json's ITL figures come from the model's steps.
      itl_ms: [],
      e2el_ms: orNull(this.e2elMs[index]!),
      prompt_tokens: orNull(this.promptTokens[index]!),
      expected_prompt_tokens: orNull(this.expectedPromptTokens[index]!),
      message_tokens: null,
      cached_tokens: cached,
      gpu_hit_tokens: gpu,
      cpu_hit_tokens: cached === null || gpu === null ? null : cached - gpu,
      output_tokens: orNull(this.outputTokens[index]!),
      requested_output_tokens: this.requestedOutputTokens[index]!,
      http_status: orNull(this.httpStatus[index]!),
      error: this.errors.get(index) ?? null,
    };
  }
}

function orNull(value: number): number | null {
  return Number.isNaN(value) ? null : value;
}
