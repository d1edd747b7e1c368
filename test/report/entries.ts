// Summary entries for report tests, in summary.json's shape (as activities/summary-files.ts writes
// it): a succeeded experiment by default, with figures that depend on its settings so that a wrong
// grouping or pairing shows up as a wrong number.
import { parseSummary, type ReportEntry } from '../../report/summary-entries.ts';

export interface EntryOptions {
  model?: string;
  dataset?: string;
  cache?: number | null;
  strategy?: string;
  rate?: number;
  lightgbmMode?: string | null;
  status?: 'succeeded' | 'failed' | 'cancelled';
  bench?: Record<string, unknown>;
  cache_statistics?: Record<string, unknown>;
}

/** A summary.json entry as JSON (what the file holds). */
export function rawEntry(o: EntryOptions = {}): Record<string, unknown> {
  const model = o.model ?? 'qwen-8b';
  const dataset = o.dataset ?? 'chat';
  const strategy = o.strategy ?? 'lru';
  const cache = o.cache === undefined ? 10 : o.cache;
  const rate = o.rate ?? 1;
  const mode = o.lightgbmMode ?? null;
  const status = o.status ?? 'succeeded';
  const id = `${model}_${dataset}_c${cache}gb_r${rate}_${strategy}${mode ? `_${mode}` : ''}`;
  const ok = status === 'succeeded';
  const ttft = 100 + (cache ?? 0) * 2 + strategy.length;
  return {
    experiment_id: id,
    timestamp: '2026-01-01T00:00:00.000Z',
    configuration: {
      model,
      huggingface_path: `org/${model}`,
      tensor_parallel_size: 1,
      pipeline_parallel_size: 1,
      dataset,
      dataset_path: `/data/${dataset}.csv`,
      cache_size_gb: cache,
      request_rate: rate,
      eviction_strategy: strategy,
      lightgbm_mode: mode,
      use_conversation_eviction: strategy === 'conversation_aware',
      conversation_eviction_config: {},
      num_prompts: 100,
      time_limit: 60,
      mock_decoding: false,
      environment: 'sim',
      gpu_class: 'any',
    },
    benchmark_results: ok
      ? { completed: 100, failed: 0, mean_ttft_ms: ttft, p99_ttft_ms: ttft * 3, output_throughput: 1000 + (cache ?? 0), request_throughput: 5, ...o.bench }
      : {},
    cache_statistics: ok
      ? { prefix_cache_hit_rate: 0.5, external_prefix_cache_hit_rate: (cache ?? 0) / 100, preemptions: 2, lmcache_hit_rate: (cache ?? 0) / 80, lmcache_retrieved_rate: (cache ?? 0) / 90, ...o.cache_statistics }
      : {},
    execution_success: ok,
    execution_time_seconds: 12.5,
    status,
    error: ok ? null : 'server exited with code 1 during start-up',
    attempts: ok ? 1 : 3,
    hosts: ['gpu-a'],
    results_path: `/results/${id}`,
  };
}

/** The same entry as the report reads it (through the report's own parser). */
export function entry(o: EntryOptions = {}): ReportEntry {
  return parseSummary(JSON.stringify([rawEntry(o)]), 'summary.json')[0]!;
}
