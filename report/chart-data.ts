// From summary entries to what the charts draw: one group per (model, dataset), one line per
// eviction strategy within it, figures against cache size. Pure: no files, no rendering.
import { numberOrNull, type ReportEntry } from './summary-entries.ts';

/** A figure the report plots, and where a summary entry keeps it (first source with a number wins). */
export interface MetricDefinition {
  key: string;
  title: string;
  /** Axis title under the panel title. */
  unit: string;
  /** Column header in the experiment table. */
  short: string;
  format: 'number' | 'percent' | 'integer';
  sources: { block: 'benchmark_results' | 'cache_statistics'; key: string }[];
  /** The cache_statistics key of the same figure with an unbounded cache, when an offline replay simulated one: drawn as a ceiling. */
  ceiling?: string;
}

/** kvsweep's 2x2 grid: latency and the hit rates vLLM reports against cache size. */
export const CACHE_METRICS: readonly MetricDefinition[] = [
  { key: 'mean_ttft_ms', short: 'mean TTFT ms', title: 'Mean TTFT', unit: 'ms', format: 'number', sources: [{ block: 'benchmark_results', key: 'mean_ttft_ms' }] },
  { key: 'p99_ttft_ms', short: 'p99 TTFT ms', title: 'P99 TTFT', unit: 'ms', format: 'number', sources: [{ block: 'benchmark_results', key: 'p99_ttft_ms' }] },
  { key: 'prefix_cache_hit_rate', short: 'prefix hit', title: 'Prefix-cache hit rate (vLLM)', unit: 'share of prompt tokens', format: 'percent', sources: [{ block: 'cache_statistics', key: 'prefix_cache_hit_rate' }], ceiling: 'unbounded_prefix_cache_hit_rate' },
  {
    key: 'external_hit_rate',
    short: 'external hit',
    title: 'External (LMCache) hit rate',
    unit: 'share of prompt tokens',
    format: 'percent',
    // vLLM's own count of connector hits; LMCache's retrieve rate where vLLM did not report it.
    sources: [
      { block: 'cache_statistics', key: 'external_prefix_cache_hit_rate' },
      { block: 'cache_statistics', key: 'lmcache_retrieve_hit_rate' },
    ],
    ceiling: 'unbounded_external_prefix_cache_hit_rate',
  },
];

export const THROUGHPUT_METRICS: readonly MetricDefinition[] = [
  { key: 'output_throughput', short: 'output tok/s', title: 'Output throughput', unit: 'tokens/s', format: 'number', sources: [{ block: 'benchmark_results', key: 'output_throughput' }] },
  { key: 'request_throughput', short: 'req/s', title: 'Request throughput', unit: 'requests/s', format: 'number', sources: [{ block: 'benchmark_results', key: 'request_throughput' }] },
  { key: 'preemptions', short: 'preemptions', title: 'Preemptions', unit: 'count', format: 'integer', sources: [{ block: 'cache_statistics', key: 'preemptions' }] },
];

/**
 * The Python runner's own 2x2 grid (its benchmark_plotter.py): mean and P99 TTFT, then LMCache's
 * retrieved and hit rates, read from the old keys summary.json carries (domain/summary.ts).
 */
export const LMCACHE_METRICS: readonly MetricDefinition[] = [
  CACHE_METRICS[0]!,
  CACHE_METRICS[1]!,
  { key: 'lmcache_retrieved_rate', short: 'LMCache retrieved', title: 'LMCache retrieved rate', unit: 'share of looked-up tokens', format: 'percent', sources: [{ block: 'cache_statistics', key: 'lmcache_retrieved_rate' }] },
  { key: 'lmcache_hit_rate', short: 'LMCache hit', title: 'LMCache hit rate', unit: 'share of looked-up tokens', format: 'percent', sources: [{ block: 'cache_statistics', key: 'lmcache_hit_rate' }] },
];

/** Every metric the report shows, once each, in table order. */
export const ALL_METRICS: readonly MetricDefinition[] = [...new Map([...CACHE_METRICS, ...LMCACHE_METRICS, ...THROUGHPUT_METRICS].map((m) => [m.key, m])).values()];

/** The value of a metric in an entry and the key it came from, or null. */
export function metricValue(entry: ReportEntry, metric: MetricDefinition): { value: number; source: string } | null {
  for (const source of metric.sources) {
    const value = numberOrNull(entry[source.block][source.key]);
    if (value !== null) return { value, source: source.key };
  }
  return null;
}

/** Configuration keys that tell two lines of one chart apart when they differ within a group. */
const SERIES_KEYS: readonly { key: string; label: (value: unknown) => string }[] = [
  { key: 'request_rate', label: (v) => `rate ${String(v)}` },
  { key: 'use_conversation_eviction', label: (v) => `conversation eviction ${v ? 'on' : 'off'}` },
  { key: 'conversation_eviction_config', label: (v) => `config ${JSON.stringify(v)}` },
  { key: 'num_prompts', label: (v) => `${String(v)} prompts` },
  { key: 'time_limit', label: (v) => `limit ${String(v)} s` },
  { key: 'mock_decoding', label: (v) => `mock decoding ${v ? 'on' : 'off'}` },
  { key: 'tensor_parallel_size', label: (v) => `TP ${String(v)}` },
  { key: 'pipeline_parallel_size', label: (v) => `PP ${String(v)}` },
  { key: 'gpu_class', label: (v) => `GPU ${String(v)}` },
  { key: 'environment', label: (v) => `env ${String(v)}` },
];

/** The eviction strategy as users name it, with the LightGBM mode when there is one. */
export function strategyLabel(configuration: Record<string, unknown>): string {
  const strategy = typeof configuration.eviction_strategy === 'string' ? configuration.eviction_strategy : 'unknown strategy';
  const mode = configuration.lightgbm_mode;
  return typeof mode === 'string' && mode !== '' ? `${strategy} (${mode})` : strategy;
}

/**
 * One label per entry: the strategy, plus every other setting that varies among the entries of one
 * strategy (conversation_aware always turning conversation eviction on does not name a line).
 */
export function seriesLabels(entries: readonly ReportEntry[]): Map<string, string> {
  const byStrategy = new Map<string, ReportEntry[]>();
  for (const entry of entries) {
    const strategy = strategyLabel(entry.configuration);
    byStrategy.set(strategy, [...(byStrategy.get(strategy) ?? []), entry]);
  }
  const varies = (key: string, group: ReportEntry[]) => new Set(group.map((e) => JSON.stringify(e.configuration[key] ?? null))).size > 1;
  const varying = SERIES_KEYS.filter(({ key }) => [...byStrategy.values()].some((group) => varies(key, group)));
  return new Map(
    entries.map((entry) => [
      entry.experiment_id,
      [strategyLabel(entry.configuration), ...varying.map(({ key, label }) => label(entry.configuration[key] ?? null))].join(' · '),
    ]),
  );
}

export interface ChartPoint {
  metric: string;
  cache_size_gb: number;
  series: string;
  value: number;
  experiment_id: string;
  /** The oracle's line (offline only): the upper bound the other policies are drawn against, dashed. */
  bound: boolean;
}

/** A metric's value with an unbounded cache (one per distinct value in the group, e.g. per rate). */
export interface CeilingLine {
  metric: string;
  value: number;
  label: string;
}

/** An experiment a panel could not plot, and why: failed, no cache size, figure not reported. */
export interface MissingFigure {
  metric: string;
  experiment_id: string;
  reason: string;
}

export interface ChartGroup {
  model: string;
  dataset: string;
  /** File-name-safe and unique within the report. */
  slug: string;
  entries: ReportEntry[];
  /** Line labels in first-seen order (the colour order of every chart of the group). */
  series: string[];
  /** Distinct cache sizes, ascending. */
  cacheSizes: number[];
  /** Log when sizes are all positive and span 10x or more (0.01, 0.1, 1 GB), else linear. */
  xScale: 'linear' | 'log';
  points: ChartPoint[];
  /** Unbounded-cache ceilings of the hit-rate panels, when the results were simulated with one. */
  ceilings: CeilingLine[];
  missing: MissingFigure[];
}

/** The ceilings of a group's entries: each distinct value once, labelled with the rate when rates differ. */
function ceilingLines(entries: readonly ReportEntry[], metrics: readonly MetricDefinition[]): CeilingLine[] {
  const rates = new Set(entries.map((e) => String(e.configuration.request_rate)));
  const lines = new Map<string, CeilingLine>();
  for (const metric of metrics) {
    if (!metric.ceiling) continue;
    for (const entry of entries) {
      const value = numberOrNull(entry.cache_statistics[metric.ceiling]);
      if (value === null) continue;
      const label = rates.size > 1 ? `unbounded cache · rate ${String(entry.configuration.request_rate)}` : 'unbounded cache';
      const key = JSON.stringify([metric.key, label]);
      // Replays of one rate share one ceiling; where several differ (other settings), the highest is the bound.
      if ((lines.get(key)?.value ?? -Infinity) < value) lines.set(key, { metric: metric.key, value, label });
    }
  }
  return [...lines.values()];
}

const textOf = (value: unknown, fallback: string): string => (typeof value === 'string' && value !== '' ? value : value === undefined || value === null ? fallback : String(value));

/** Makes a name safe for a file name; `taken` holds the slugs given so far (mutated). */
export function uniqueSlug(name: string, taken: Set<string>): string {
  const base = name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 80) || 'group';
  let slug = base;
  for (let n = 2; taken.has(slug.toLowerCase()); n++) slug = `${base}-${n}`;
  taken.add(slug.toLowerCase());
  return slug;
}

/** Groups entries by (model, dataset) in first-seen order and prepares every chart's points. */
export function buildChartGroups(entries: readonly ReportEntry[], metrics: readonly MetricDefinition[] = ALL_METRICS): ChartGroup[] {
  const byKey = new Map<string, ReportEntry[]>();
  for (const entry of entries) {
    const key = JSON.stringify([textOf(entry.configuration.model, 'unknown model'), textOf(entry.configuration.dataset, 'unknown dataset')]);
    byKey.set(key, [...(byKey.get(key) ?? []), entry]);
  }
  const slugs = new Set<string>();
  return [...byKey.entries()].map(([key, groupEntries]) => {
    const [model, dataset] = JSON.parse(key) as [string, string];
    const labels = seriesLabels(groupEntries);
    const points: ChartPoint[] = [];
    const missing: MissingFigure[] = [];
    for (const entry of groupEntries) {
      const cacheSize = numberOrNull(entry.configuration.cache_size_gb);
      for (const metric of metrics) {
        const found = metricValue(entry, metric);
        const reason = cacheSize === null ? 'no cache size' : found === null ? (entry.status === 'succeeded' ? 'not reported' : entry.status) : null;
        if (reason !== null) missing.push({ metric: metric.key, experiment_id: entry.experiment_id, reason });
        else points.push({ metric: metric.key, cache_size_gb: cacheSize!, series: labels.get(entry.experiment_id)!, value: found!.value, experiment_id: entry.experiment_id, bound: entry.configuration.eviction_strategy === 'oracle' });
      }
    }
    points.sort((a, b) => a.cache_size_gb - b.cache_size_gb);
    const cacheSizes = [...new Set(groupEntries.map((e) => numberOrNull(e.configuration.cache_size_gb)).filter((v) => v !== null))].sort((a, b) => a - b);
    const smallest = cacheSizes[0];
    const largest = cacheSizes[cacheSizes.length - 1];
    const xScale = smallest !== undefined && largest !== undefined && smallest > 0 && largest / smallest >= 10 ? 'log' : 'linear';
    return {
      model,
      dataset,
      slug: uniqueSlug(`${model}_${dataset}`, slugs),
      entries: groupEntries,
      // Only lines with something to draw get a legend entry and a colour.
      series: [...new Set(groupEntries.map((e) => labels.get(e.experiment_id)!).filter((label) => points.some((p) => p.series === label)))],
      cacheSizes,
      xScale,
      points,
      ceilings: ceilingLines(groupEntries, metrics),
      missing,
    };
  });
}
