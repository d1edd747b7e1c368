// Per-run cache figures from server-metric scrapes: counters are cumulative since server start,
// so a run's figures are after - before; gauges (KV usage) keep their peak over the run's scrapes.
// Pure: the scrapes come in as flattened values (prometheus.ts).
import type { CacheStatistics } from './result-schema.ts';
import type { PrefixCacheReset } from './result-schema.ts';

const NAMES = {
  prefixQueries: ['vllm:prefix_cache_queries', 'vllm:gpu_prefix_cache_queries'],
  prefixHits: ['vllm:prefix_cache_hits', 'vllm:gpu_prefix_cache_hits'],
  externalQueries: ['vllm:external_prefix_cache_queries'],
  externalHits: ['vllm:external_prefix_cache_hits'],
  preemptions: ['vllm:num_preemptions'],
  kvUsage: ['vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc'],
} as const;

export interface ScrapeSummary {
  before: Record<string, number> | null;
  after: Record<string, number> | null;
  /** Highest value each series reached in any scrape of the run. */
  peak: Record<string, number>;
  counters: ReadonlySet<string>;
  scrapes: number;
  failedScrapes: number;
  lastError: string | null;
}

export function computeCacheStatistics(s: ScrapeSummary, reset: PrefixCacheReset): CacheStatistics {
  const notes: string[] = [];
  const found = (names: readonly string[]): string | null => names.find((n) => s.after?.[n] !== undefined) ?? null;
  const delta = (names: readonly string[]): number | null => {
    const name = found(names);
    if (name === null || !s.before || !s.after) return null;
    const before = s.before[name] ?? 0;
    const after = s.after[name]!;
    if (after < before) {
      notes.push(`${name} went down during the run (server restarted?): no delta`);
      return null;
    }
    return after - before;
  };
  const ratio = (hits: number | null, queries: number | null): number | null =>
    hits === null || queries === null || queries === 0 ? null : hits / queries;
  const prefixQueries = delta(NAMES.prefixQueries);
  const prefixHits = delta(NAMES.prefixHits);
  const externalQueries = delta(NAMES.externalQueries);
  const externalHits = delta(NAMES.externalHits);
  const kvName = found(NAMES.kvUsage);
  if (!s.before || !s.after) notes.push(`/metrics could not be read before and after the run${s.lastError ? `: ${s.lastError}` : ''}`);
  else if (found(NAMES.prefixQueries) === null) notes.push('the server exposes no prefix-cache counters');
  const lmcache = lmcacheFigures(s);
  return {
    prefix_cache_reset: reset,
    prefix_cache_queries: prefixQueries,
    prefix_cache_hits: prefixHits,
    prefix_cache_hit_rate: ratio(prefixHits, prefixQueries),
    external_prefix_cache_queries: externalQueries,
    external_prefix_cache_hits: externalHits,
    external_prefix_cache_hit_rate: ratio(externalHits, externalQueries),
    preemptions: delta(NAMES.preemptions),
    peak_kv_cache_usage: kvName === null ? null : (s.peak[kvName] ?? null),
    lmcache,
    lmcache_stats_endpoint: null,
    missing_figures: lmcache === null && s.before && s.after && (externalQueries ?? 0) > 0 ? [MISSING_LMCACHE_SERIES] : [],
    metric_names: Object.fromEntries(
      Object.entries(NAMES).map(([key, names]) => [key, found(names)]),
    ),
    scrapes: s.scrapes,
    failed_scrapes: s.failedScrapes,
    notes,
  };
}

/**
 * vLLM 0.26 + LMCache 0.5.6 on a GPU (REFERENCE.md section 6): the connector answered lookups, yet
 * the API server's /metrics had no lmcache:* series.
 */
export const MISSING_LMCACHE_SERIES = {
  figures: "LMCache's lmcache:* counters and gauges (the lmcache figures)",
  reason:
    'the KV connector answered lookups (vllm:external_prefix_cache_queries grew) but /metrics has no lmcache:* series: ' +
    'with vLLM V1 LMCache registers them in the engine-core process, and the API server serves only its own registry ' +
    'unless it runs in Prometheus multiprocess mode (PROMETHEUS_MULTIPROC_DIR set to an empty folder for the server, as the lmcache environment does)',
};

/** Deltas of LMCache's counters and peaks of its gauges, plus the two hit rates they imply. */
function lmcacheFigures(s: ScrapeSummary): CacheStatistics['lmcache'] {
  if (!s.after || !s.before) return null;
  const names = Object.keys(s.after).filter((n) => n.startsWith('lmcache:'));
  if (names.length === 0) return null;
  const deltas: Record<string, number> = {};
  const peaks: Record<string, number> = {};
  for (const name of names) {
    const key = name.slice('lmcache:'.length);
    if (s.counters.has(name)) deltas[key] = s.after[name]! - (s.before[name] ?? 0);
    else peaks[key] = s.peak[name] ?? s.after[name]!;
  }
  const rate = (hits: string, total: string): number | null => {
    const h = deltas[hits];
    const t = deltas[total];
    return h === undefined || t === undefined || t === 0 ? null : h / t;
  };
  return {
    retrieve_hit_rate: rate('num_hit_tokens', 'num_requested_tokens'),
    lookup_hit_rate: rate('num_lookup_hits', 'num_lookup_tokens'),
    deltas,
    peaks,
  };
}
