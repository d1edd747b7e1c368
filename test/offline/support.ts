// Shared by the offline tests: synthetic request streams in memory and experiments with test defaults.
import { DEFAULT_SYNTH_OPTIONS, synthesizeTrace, type SynthOptions } from '../../loadgen/trace-synth.ts';
import type { OfflineExperimentInput } from '../../offline/experiment.ts';
import { buildStream, type RequestStream, type TurnRow } from '../../offline/inputs/stream.ts';
import { parseOfflineExperiment } from '../../offline/run.ts';
import type { OfflineExperiment } from '../../offline/experiment.ts';

/** A synthetic conversation trace as a trace_csv stream (what readTraceCsv would give for its CSV). */
export function synthStream(options: Partial<SynthOptions>): RequestStream {
  const rows: TurnRow[] = synthesizeTrace({ ...DEFAULT_SYNTH_OPTIONS, ...options }).map((r, order) => ({
    conversationId: r.conversationId,
    turn: 0,
    offsetMs: r.timestampMs,
    queryTokens: r.queryTokens,
    promptTokens: -1,
    replyTokens: r.replyTokens,
    order,
  }));
  return buildStream('trace_csv', 'synthetic.csv', rows, null, []);
}

/** An experiment on the small simulated model, its fields overridden by `over`. */
export function experiment(over: Partial<OfflineExperimentInput> & { engine?: OfflineExperimentInput['engine'] } = {}): OfflineExperiment {
  return parseOfflineExperiment({
    input: { kind: 'trace_csv', path: 'synthetic.csv' },
    model: 'kvsweep/sim-small',
    max_model_len: 4096,
    cache_size_gb: 0.05,
    policy: 'lru',
    request_rate: 1,
    ...over,
  });
}

/** Cached tokens / prompt tokens, over completed requests. */
export function hitRate(records: { promptTokens: Float64Array; cachedTokens: Float64Array; statusOf(i: number): string; size: number }): number {
  let prompt = 0;
  let cached = 0;
  for (let i = 0; i < records.size; i++) {
    if (records.statusOf(i) !== 'ok') continue;
    prompt += records.promptTokens[i]!;
    cached += records.cachedTokens[i]!;
  }
  return cached / prompt;
}
