// Prometheus text parsing (parse-prometheus-text-format) and the names kvsweep reads from it.
// Counters are looked up by their base name, so `vllm:prefix_cache_hits_total` (vLLM) and
// `vllm:prefix_cache_hits` (simulators that omit the suffix) are the same series; values are
// summed over label sets (engines).
import { createRequire } from 'node:module';

interface LibrarySample {
  value?: string;
  labels?: Record<string, string>;
  buckets?: Record<string, string>;
  quantiles?: Record<string, string>;
  count?: string;
  sum?: string;
}
interface LibraryFamily {
  name: string;
  help: string;
  type: string;
  metrics: LibrarySample[];
}

// The package ships CommonJS without type declarations.
const parseText = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => LibraryFamily[];

export interface MetricSample {
  labels?: Record<string, string>;
  value?: number;
  /** Histograms: upper bound -> cumulative count (the library keeps these for unlabelled series only). */
  buckets?: Record<string, number>;
  quantiles?: Record<string, number>;
  count?: number;
  sum?: number;
}
export interface MetricFamily {
  type: string;
  samples: MetricSample[];
}
/** One scrape, parsed: family name as exposed -> samples with numeric values. */
export type ParsedMetrics = Record<string, MetricFamily>;

export function parseMetrics(text: string): ParsedMetrics {
  const result: ParsedMetrics = {};
  for (const family of parseFamilies(text)) {
    if (family.name.endsWith('_created')) continue; // prometheus_client's creation times, not data
    const samples = family.metrics.map((s) => {
      const out: MetricSample = {};
      if (s.labels) out.labels = s.labels;
      if (s.value !== undefined) out.value = Number(s.value);
      if (s.buckets) out.buckets = numericRecord(s.buckets);
      if (s.quantiles) out.quantiles = numericRecord(s.quantiles);
      if (s.count !== undefined) out.count = Number(s.count);
      if (s.sum !== undefined) out.sum = Number(s.sum);
      return out;
    });
    if (samples.length > 0 || !result[family.name]) result[family.name] = { type: family.type.toLowerCase(), samples };
  }
  return result;
}

/**
 * The library's families. It throws on a whole scrape when a histogram's `_sum` comes before its
 * buckets, which is how prometheus_client writes them in multiprocess mode (vLLM with
 * PROMETHEUS_MULTIPROC_DIR); then each family is parsed on its own, a histogram with its lines
 * put in the order the library expects, and a family it still cannot read is left out.
 */
function parseFamilies(text: string): LibraryFamily[] {
  try {
    return parseText(text);
  } catch {
    const families: LibraryFamily[] = [];
    for (const block of splitFamilies(text)) {
      try {
        families.push(...parseText(block));
      } catch {
        try {
          families.push(...parseText(bucketsFirst(block)));
        } catch {
          // Unreadable even so: not one of the families kvsweep reads (those are counters and gauges).
        }
      }
    }
    return families;
  }
}

/** The text cut into one block per family (a block starts at its `# HELP`, or `# TYPE` after samples). */
function splitFamilies(text: string): string[] {
  const blocks: string[] = [];
  let current: string[] = [];
  let hasSamples = false;
  for (const line of text.split('\n')) {
    const startsFamily = line.startsWith('# HELP ') || (line.startsWith('# TYPE ') && hasSamples);
    if (startsFamily && current.length > 0) {
      blocks.push(`${current.join('\n')}\n`);
      current = [];
      hasSamples = false;
    }
    if (line.trim() === '') continue;
    current.push(line);
    if (!line.startsWith('#')) hasSamples = true;
  }
  if (current.length > 0) blocks.push(`${current.join('\n')}\n`);
  return blocks;
}

/** A histogram block with each label set's buckets before its `_count` and `_sum`. */
function bucketsFirst(block: string): string {
  const comments: string[] = [];
  const groups = new Map<string, { buckets: string[]; rest: string[] }>();
  for (const line of block.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      comments.push(line);
      continue;
    }
    const labels = /\{([^}]*)\}/.exec(line)?.[1] ?? '';
    const key = labels.replace(/(^|,)le="[^"]*"/, '');
    const group = groups.get(key) ?? { buckets: [], rest: [] };
    groups.set(key, group);
    (/^[^{\s]+_bucket[{\s]/.test(line) ? group.buckets : group.rest).push(line);
  }
  return `${[...comments, ...[...groups.values()].flatMap((g) => [...g.buckets, ...g.rest])].join('\n')}\n`;
}

function numericRecord(record: Record<string, string>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, Number(v)]));
}

/** `x_total` -> `x`: the base name counters are looked up by. */
export function baseName(name: string): string {
  return name.endsWith('_total') ? name.slice(0, -'_total'.length) : name;
}

/** Base name -> value summed over label sets, for every series with a plain value. */
export function flattenMetrics(parsed: ParsedMetrics): Record<string, number> {
  const flat: Record<string, number> = {};
  for (const [name, family] of Object.entries(parsed)) {
    let total = 0;
    let any = false;
    for (const sample of family.samples) {
      if (sample.value !== undefined && Number.isFinite(sample.value)) {
        total += sample.value;
        any = true;
      }
    }
    if (any) flat[baseName(name)] = (flat[baseName(name)] ?? 0) + total;
  }
  return flat;
}

/** Which base names are counters: declared so, or exposed with `_total`, or LMCache's `num_` totals. */
export function counterNames(parsed: ParsedMetrics): Set<string> {
  const names = new Set<string>();
  for (const [name, family] of Object.entries(parsed)) {
    if (family.type === 'counter' || name.endsWith('_total') || /^lmcache:num_/.test(name) || /_count$/.test(name)) {
      names.add(baseName(name));
    }
  }
  return names;
}
