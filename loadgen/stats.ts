// Descriptive statistics with numpy's conventions (linear-interpolated percentiles, population
// standard deviation), so figures match what `vllm bench serve` prints for the same samples.

/** The p-th percentile (0..100) of sorted values, numpy's default 'linear' method. */
export function percentileSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const lowValue = sorted[low]!;
  return lowValue + (sorted[high]! - lowValue) * (rank - low);
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** Population standard deviation (numpy's ddof=0). */
export function std(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const m = mean(values);
  let sum = 0;
  for (const v of values) sum += (v - m) * (v - m);
  return Math.sqrt(sum / values.length);
}

export const REPORTED_PERCENTILES = [50, 90, 95, 99, 99.9] as const;

export interface Summary {
  count: number;
  mean: number | null;
  median: number | null;
  std: number | null;
  min: number | null;
  max: number | null;
  /** Keyed `p50`, `p90`, `p95`, `p99`, `p99.9`. */
  percentiles: Record<string, number | null>;
}

/** Mean, median, std, min, max and the reported percentiles; nulls when there are no samples. */
export function summarize(values: readonly number[]): Summary {
  const sorted = Array.from(Float64Array.from(values).sort());
  const orNull = (v: number): number | null => (Number.isFinite(v) ? v : null);
  const percentiles: Record<string, number | null> = {};
  for (const p of REPORTED_PERCENTILES) percentiles[percentileName(p)] = orNull(percentileSorted(sorted, p));
  return {
    count: sorted.length,
    mean: orNull(mean(sorted)),
    median: orNull(percentileSorted(sorted, 50)),
    std: orNull(std(sorted)),
    min: sorted.length > 0 ? sorted[0]! : null,
    max: sorted.length > 0 ? sorted[sorted.length - 1]! : null,
    percentiles,
  };
}

/** `p99`, `p99.9`: vLLM's spelling of a percentile in field names. */
export function percentileName(p: number): string {
  return `p${String(p)}`;
}
