// The knee search: the smallest cache size whose hit rate reaches `target` x the hit rate of an
// unbounded cache, found by bisection on a log scale. Pure: the caller says how to evaluate a size
// (an offline replay, or any curve in tests); the search chooses the sizes. Bisection assumes the
// hit rate does not fall as the cache grows (what test/offline/policies.test.ts checks of every
// policy); on a curve that breaks this it still ends at a size that reaches the goal with one below
// it that does not.

export interface KneeSearchOptions {
  /** Share of the unbounded cache's hit rate to reach, in (0, 1]. */
  target: number;
  /** Relative width at which to stop: the answer is at most (1 + tolerance) x the true knee. */
  tolerance: number;
  /** The smallest size tried, GB (> 0). */
  lowGb: number;
  /** A size that holds everything the trace ever stores: its hit rate is the unbounded cache's. */
  highGb: number;
}

export interface KneeProbe {
  cache_size_gb: number;
  hit_rate: number;
  /** What the probe was: the unbounded ceiling, the lowest size, or a bisection step. */
  role: 'ceiling' | 'floor' | 'bisection';
  /** Whether it reached the goal. */
  reached: boolean;
}

export interface KneeResult {
  /** The smallest size found to reach the goal, GB. */
  knee_gb: number;
  /** Hit rate at knee_gb. */
  knee_hit_rate: number;
  /** The unbounded cache's hit rate, and target x that. */
  ceiling_hit_rate: number;
  goal_hit_rate: number;
  /** The largest size found not to reach the goal (null: even the lowest size reached it, so the knee is at or below lowGb). */
  below_gb: number | null;
  /** Every evaluation, in the order made. */
  probes: KneeProbe[];
}

/** Evaluates the hit rate (both tiers, 0..1) of one cache size. */
export type HitRateAt = (cacheSizeGb: number) => Promise<number> | number;

/** Sizes shown and used with 4 significant digits: folder names stay readable, the error stays far below any tolerance. */
export function roundSize(gb: number): number {
  return Number(gb.toPrecision(4));
}

/** The geometric midpoint, rounded; never equal to either end while they are more than 0.1% apart. */
function midpoint(low: number, high: number): number {
  const mid = roundSize(Math.sqrt(low * high));
  return mid > low && mid < high ? mid : Math.sqrt(low * high);
}

export function checkKneeOptions(o: KneeSearchOptions): void {
  if (!(o.target > 0 && o.target <= 1)) throw new RangeError(`target ${o.target}: expected a share in (0, 1]`);
  if (!(o.tolerance > 0)) throw new RangeError(`tolerance ${o.tolerance}: expected > 0`);
  if (!(o.lowGb > 0 && o.highGb > o.lowGb)) throw new RangeError(`sizes ${o.lowGb}..${o.highGb} GB: expected 0 < low < high`);
}

export async function searchKnee(hitRateAt: HitRateAt, options: KneeSearchOptions, onProbe?: (probe: KneeProbe) => void): Promise<KneeResult> {
  checkKneeOptions(options);
  const probes: KneeProbe[] = [];
  let goal = Number.POSITIVE_INFINITY;
  const probe = async (gb: number, role: KneeProbe['role']): Promise<number> => {
    const hitRate = await hitRateAt(gb);
    if (role === 'ceiling') goal = options.target * hitRate;
    // A float hair below the goal (e.g. target 1 at a size that already holds everything) counts as reached.
    const p: KneeProbe = { cache_size_gb: gb, hit_rate: hitRate, role, reached: hitRate >= goal - 1e-12 };
    probes.push(p);
    onProbe?.(p);
    return hitRate;
  };
  const ceiling = await probe(options.highGb, 'ceiling');
  const result = (kneeGb: number, kneeHitRate: number, belowGb: number | null): KneeResult => ({
    knee_gb: kneeGb,
    knee_hit_rate: kneeHitRate,
    ceiling_hit_rate: ceiling,
    goal_hit_rate: goal,
    below_gb: belowGb,
    probes,
  });
  const floor = await probe(options.lowGb, 'floor');
  if (probes.at(-1)!.reached) return result(options.lowGb, floor, null);
  let low = options.lowGb;
  let high = options.highGb;
  let highHitRate = ceiling;
  while (high > low * (1 + options.tolerance)) {
    const mid = midpoint(low, high);
    const hitRate = await probe(mid, 'bisection');
    if (probes.at(-1)!.reached) {
      high = mid;
      highHitRate = hitRate;
    } else {
      low = mid;
    }
  }
  return result(high, highHitRate, low);
}

/** The smallest size of an ascending grid whose hit rate reaches target x the last (largest) one's: the dense-grid answer the search approximates. */
export function gridKnee(grid: readonly { cache_size_gb: number; hit_rate: number }[], target: number): number {
  const ceiling = grid.at(-1)!.hit_rate;
  const found = grid.find((p) => p.hit_rate >= target * ceiling - 1e-12);
  return found!.cache_size_gb;
}
