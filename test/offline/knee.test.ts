// The knee search: on known monotone curves it lands within its tolerance of the true knee; on a
// synthetic trace through kvsweep's model it agrees with a dense grid within tolerance while
// replaying far fewer sizes; the size it calls unbounded is (nothing is evicted there).
import { describe, expect, it } from 'vitest';
import { gridKnee, searchKnee } from '../../offline/knee.ts';
import { unboundedSizeGb } from '../../offline/ceiling.ts';
import { groupEvaluator } from '../../offline/search.ts';
import { experiment, synthStream } from './support.ts';

const OPTIONS = { target: 0.95, tolerance: 0.05, lowGb: 0.01, highGb: 1000 };

// Curves with a knee known in closed form: the smallest s with h(s) >= 0.95 h(1000).
const CURVES = [
  { name: 'saturating exponential', h: (s: number) => 1 - Math.exp(-s / 7), knee: () => -7 * Math.log(1 - 0.95 * (1 - Math.exp(-1000 / 7))) },
  { name: 'linear up to 40 GB, flat after', h: (s: number) => 0.8 * Math.min(1, s / 40), knee: () => 0.95 * 40 },
  { name: 'a cliff at 123 GB', h: (s: number) => (s >= 123 ? 0.9 : 0.3), knee: () => 123 },
  { name: 'logarithmic growth', h: (s: number) => Math.log1p(s), knee: () => Math.expm1(0.95 * Math.log1p(1000)) },
];

describe('searchKnee on known curves', () => {
  it.each(CURVES)('finds the knee of a $name within the tolerance, in few evaluations', async ({ h, knee }) => {
    const result = await searchKnee(h, OPTIONS);
    const truth = knee();
    expect(result.knee_gb).toBeGreaterThanOrEqual(truth * (1 - 1e-9));
    expect(result.knee_gb).toBeLessThanOrEqual(truth * (1 + OPTIONS.tolerance));
    expect(result.below_gb!).toBeLessThan(truth);
    expect(h(result.knee_gb)).toBeGreaterThanOrEqual(result.goal_hit_rate);
    // ceil(log2(ln(1e5) / ln(1.05))) = 8 bisections, plus the ceiling and the floor.
    expect(result.probes.length).toBeLessThanOrEqual(10);
    expect(result.probes.map((p) => p.role).slice(0, 2)).toEqual(['ceiling', 'floor']);
  });

  it('answers the lowest size when it already reaches the goal, and rejects bad options', async () => {
    const result = await searchKnee(() => 0.5, OPTIONS);
    expect(result).toMatchObject({ knee_gb: 0.01, below_gb: null });
    expect(result.probes).toHaveLength(2);
    await expect(searchKnee(() => 1, { ...OPTIONS, target: 1.5 })).rejects.toThrow(/target 1.5/);
    await expect(searchKnee(() => 1, { ...OPTIONS, lowGb: 2000 })).rejects.toThrow(/0 < low < high/);
  });
});

describe('the knee search through kvsweep model', () => {
  const stream = synthStream({ conversations: 150, seed: 1, conversationRate: 0.5 });
  const base = experiment({ engine: { num_gpu_blocks: 800 } });

  it('calls a size unbounded only when twice that size gives the same hit rate', () => {
    const high = unboundedSizeGb(stream, base);
    const at = groupEvaluator(stream, base);
    expect(at(2 * high)).toBe(at(high));
    expect(at(high / 64)).toBeLessThan(at(high));
  });

  it.each(['lru', 'conversation_aware', 'oracle'] as const)('%s: agrees with a dense grid within the tolerance, with a tenth of the replays', async (policy) => {
    const e = { ...base, policy };
    const highGb = unboundedSizeGb(stream, e);
    const lowGb = highGb / 64;
    const at = groupEvaluator(stream, e);
    const result = await searchKnee(at, { target: 0.95, tolerance: 0.05, lowGb, highGb });
    // The grid: sizes 3% apart from low to high, high itself last.
    const grid: { cache_size_gb: number; hit_rate: number }[] = [];
    for (let s = lowGb; s < highGb; s *= 1.03) grid.push({ cache_size_gb: s, hit_rate: at(s) });
    grid.push({ cache_size_gb: highGb, hit_rate: result.ceiling_hit_rate });
    const truth = gridKnee(grid, 0.95);
    const table = JSON.stringify({ truth, found: result.knee_gb, probes: result.probes });
    expect(Math.abs(result.knee_gb / truth - 1), table).toBeLessThanOrEqual(0.05 + 0.03);
    expect(result.probes.length * 10, table).toBeLessThanOrEqual(grid.length);
    expect(result.below_gb, table).not.toBeNull();
  });
});
