// summary.json: one entry per experiment, in the old Python runner's shape (experiment_id,
// timestamp, configuration, benchmark_results, cache_statistics, conversation_features,
// execution_success, execution_time_seconds) plus kvsweep's fields. Each section carries kvsweep's
// keys and, beside them, the old runner's keys with the same values, so its plotting and analysis
// scripts keep working. OLD_KEYS below is the one mapping; docs/report.md shows it as a table.
import { z } from 'zod';
import { ExperimentOutcome, ExperimentStatus, Figures } from './records.ts';

export const SummaryEntry = z.object({
  experiment_id: z.string().min(1),
  timestamp: z.string(),
  configuration: z.record(z.string(), z.unknown()),
  benchmark_results: z.record(z.string(), z.union([z.number(), z.string(), z.null()])),
  cache_statistics: Figures,
  /** The old runner's block of LMCache's conversation_* figures (copied from cache_statistics). */
  conversation_features: Figures,
  execution_success: z.boolean(),
  execution_time_seconds: z.number(),
  queued_seconds: z.number(),
  status: ExperimentStatus,
  error: z.string().nullable(),
  /** How many attempts ran (outcome.json has each one). */
  attempts: z.number().int().nonnegative(),
  hosts: z.array(z.string()),
  results_path: z.string(),
});
export type SummaryEntry = z.infer<typeof SummaryEntry>;

export const SummaryFile = z.array(SummaryEntry);

export type SummarySection = 'configuration' | 'benchmark_results' | 'cache_statistics';
type Block = Record<string, unknown>;
type Value = number | string | boolean | null;

/** What summary.json's entries know beyond each outcome: the sweep they belong to. */
export interface SummaryContext {
  /** The sweep file's `tag` (the old runner's experiment_tag); null when unknown. */
  experiment_tag: string | null;
}

/**
 * One key of the old runner and where its value comes from:
 * - `rename`: kvsweep's key of the same meaning (also read backwards, for the old runner's files);
 * - `sources`: kvsweep keys in order of preference (the first with a value wins);
 * - `compute`: derived from kvsweep's section (and the sweep's context).
 */
export type OldKey = { section: SummarySection; key: string } & (
  | { rename: string }
  | { sources: readonly string[] }
  | { compute: (block: Block, context: SummaryContext) => Value }
);

const ratio = (numerator: unknown, denominator: unknown): number | null =>
  typeof numerator === 'number' && typeof denominator === 'number' && denominator > 0 ? numerator / denominator : null;

const LATENCY_KEYS = ['mean', 'median', 'p99'].flatMap((stat) => ['ttft', 'tpot', 'itl'].map((metric) => `${stat}_${metric}_ms`));

/** The old runner's keys, section by section, in its order. */
export const OLD_KEYS: readonly OldKey[] = [
  { section: 'configuration', key: 'model_name', rename: 'model' },
  { section: 'configuration', key: 'cache_size_gb', rename: 'cache_size_gb' },
  { section: 'configuration', key: 'request_rate_per_second', rename: 'request_rate' },
  // The only kind of dataset either tool reads: a conversation trace CSV.
  { section: 'configuration', key: 'dataset_type', compute: () => 'conversational_csv' },
  { section: 'configuration', key: 'dataset_file_path', rename: 'dataset_path' },
  { section: 'configuration', key: 'max_prompt_count', rename: 'num_prompts' },
  { section: 'configuration', key: 'time_limit_seconds', rename: 'time_limit' },
  { section: 'configuration', key: 'gpu_memory_size_gb', rename: 'hbm_size_gb' },
  { section: 'configuration', key: 'cache_eviction_strategy', rename: 'eviction_strategy' },
  { section: 'configuration', key: 'enable_mock_decoding', rename: 'mock_decoding' },
  { section: 'configuration', key: 'experiment_tag', compute: (_block, context) => context.experiment_tag },
  { section: 'benchmark_results', key: 'successful_requests', rename: 'completed' },
  { section: 'benchmark_results', key: 'benchmark_duration', rename: 'duration' },
  { section: 'benchmark_results', key: 'total_input_tokens', rename: 'total_input_tokens' },
  { section: 'benchmark_results', key: 'total_generated_tokens', rename: 'total_output_tokens' },
  { section: 'benchmark_results', key: 'request_throughput', rename: 'request_throughput' },
  { section: 'benchmark_results', key: 'input_throughput', compute: (b) => ratio(b.total_input_tokens, b.duration) },
  { section: 'benchmark_results', key: 'output_throughput', rename: 'output_throughput' },
  ...LATENCY_KEYS.map((key) => ({ section: 'benchmark_results' as const, key, rename: key })),
  { section: 'cache_statistics', key: 'vllm_queries', rename: 'prefix_cache_queries' },
  { section: 'cache_statistics', key: 'vllm_hits', rename: 'prefix_cache_hits' },
  { section: 'cache_statistics', key: 'vllm_hit_rate', rename: 'prefix_cache_hit_rate' },
  { section: 'cache_statistics', key: 'vllm_preemptions', rename: 'preemptions' },
  // LMCache's figures: the fork's /lmcache/stats when the server has it (as the old client read
  // them), else LMCache's Prometheus counters over the run.
  { section: 'cache_statistics', key: 'lmcache_requests', sources: ['lmcache_stats_requests', 'lmcache_num_lookup_requests'] },
  { section: 'cache_statistics', key: 'lmcache_queries', sources: ['lmcache_stats_query_tokens', 'lmcache_num_lookup_tokens'] },
  { section: 'cache_statistics', key: 'lmcache_hits', sources: ['lmcache_stats_hit_tokens', 'lmcache_num_lookup_hits'] },
  { section: 'cache_statistics', key: 'lmcache_retrieved_tokens', sources: ['lmcache_stats_retrieved_tokens', 'lmcache_num_hit_tokens'] },
  { section: 'cache_statistics', key: 'lmcache_hit_rate', sources: ['lmcache_stats_hit_rate', 'lmcache_lookup_hit_rate'] },
  {
    section: 'cache_statistics',
    key: 'lmcache_retrieved_rate',
    compute: (c) => (isValue(c.lmcache_stats_retrieved_rate) ? c.lmcache_stats_retrieved_rate : ratio(c.lmcache_num_hit_tokens, c.lmcache_num_lookup_tokens)),
  },
];

function isValue(value: unknown): value is Exclude<Value, null> {
  return typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

/** The old key's value from kvsweep's section; null where kvsweep has no source for it. */
export function oldValue(mapping: OldKey, block: Block, context: SummaryContext): Value {
  if ('compute' in mapping) return mapping.compute(block, context);
  const sources = 'rename' in mapping ? [mapping.rename] : mapping.sources;
  for (const source of sources) {
    const value = block[source];
    if (isValue(value)) return value;
  }
  return null;
}

/** A section with the old runner's keys added after kvsweep's own (same values). */
export function withOldKeys<T extends Block>(section: SummarySection, block: T, context: SummaryContext): T & Record<string, Value> {
  const out: Record<string, unknown> = { ...block };
  for (const mapping of OLD_KEYS) if (mapping.section === section) out[mapping.key] = oldValue(mapping, block, context);
  return out as T & Record<string, Value>;
}

/** The conversation_* figures of a cache_statistics block: the old runner's conversation_features. */
export function conversationFeatures(cacheStatistics: Figures): Figures {
  return Object.fromEntries(Object.entries(cacheStatistics).filter(([key]) => key.startsWith('conversation_')));
}

/** The summary.json entry of an outcome: kvsweep's keys, the old runner's beside them. */
export function summaryEntryOf(outcome: ExperimentOutcome, context: SummaryContext): SummaryEntry {
  return {
    experiment_id: outcome.experiment_id,
    timestamp: outcome.timestamp,
    configuration: withOldKeys('configuration', outcome.configuration, context),
    benchmark_results: withOldKeys('benchmark_results', outcome.benchmark_results, context) as SummaryEntry['benchmark_results'],
    cache_statistics: withOldKeys('cache_statistics', outcome.cache_statistics, context),
    conversation_features: conversationFeatures(outcome.cache_statistics),
    execution_success: outcome.execution_success,
    execution_time_seconds: outcome.execution_time_seconds,
    queued_seconds: outcome.queued_seconds,
    status: outcome.status,
    error: outcome.error,
    attempts: outcome.attempts.length,
    hosts: [...new Set(outcome.attempts.map((a) => a.host_id).filter((h) => h !== null))],
    results_path: outcome.results_path,
  };
}

/**
 * The reverse of the renames, for summary.json files the old runner wrote: kvsweep's key filled
 * from the old one where the section lacks it (model from model_name, completed from
 * successful_requests, ...). Keys only the old runner had are left as they are.
 */
export function withKvsweepKeys(section: SummarySection, block: Block): Block {
  const out: Block = { ...block };
  for (const mapping of OLD_KEYS) {
    if (mapping.section !== section || !('rename' in mapping)) continue;
    if (out[mapping.rename] === undefined && block[mapping.key] !== undefined) out[mapping.rename] = block[mapping.key];
  }
  return out;
}
