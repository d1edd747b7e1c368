// The knee search's figure: each group's probed hit rates against cache size (log scale), the knee
// marked with a ring and its size, and the goal (target x the unbounded ceiling) as a dashed rule.
// Pure: a Vega-Lite spec (report/render.ts draws it).
import type { TopLevelSpec } from 'vega-lite';
import type { GroupKnee } from './search.ts';

export function kneeChartSpec(knees: readonly GroupKnee[], target: number, title: string): TopLevelSpec {
  const series = knees.map((k) => k.label);
  const probes = knees.flatMap((k) => [...k.probes].sort((a, b) => a.cache_size_gb - b.cache_size_gb).map((p) => ({ series: k.label, cache_size_gb: p.cache_size_gb, hit_rate: p.hit_rate })));
  const marks = knees.map((k) => ({ series: k.label, cache_size_gb: k.knee_gb, hit_rate: k.knee_hit_rate, goal: k.goal_hit_rate, text: `knee ${k.knee_gb} GB` }));
  const x = { field: 'cache_size_gb', type: 'quantitative' as const, title: 'cache size (GB, log scale)', scale: { type: 'log' as const, nice: false } };
  const y = { field: 'hit_rate', type: 'quantitative' as const, title: 'hit rate (both tiers)', scale: { zero: true }, axis: { format: '.0%' } };
  const color = { field: 'series', type: 'nominal' as const, title: 'dataset, rate, policy', scale: { domain: series } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: `knee: the smallest size reaching ${target} x the unbounded cache's hit rate (dashed)`, anchor: 'start', fontSize: 15 },
    width: 520,
    height: 300,
    padding: 12,
    layer: [
      { data: { values: probes }, mark: { type: 'line', point: { filled: true, size: 40 }, strokeWidth: 2 }, encoding: { x, y, color } },
      { data: { values: marks }, mark: { type: 'rule', strokeDash: [5, 4], opacity: 0.6 }, encoding: { y: { field: 'goal', type: 'quantitative' }, color } },
      { data: { values: marks }, mark: { type: 'point', shape: 'circle', size: 260, strokeWidth: 2.5, filled: false }, encoding: { x, y, color } },
      { data: { values: marks }, mark: { type: 'text', dy: 18, fontSize: 11 }, encoding: { x, y, text: { field: 'text' }, color } },
    ],
    config: {
      background: 'white',
      font: 'DejaVu Sans, Helvetica Neue, Helvetica, Arial, sans-serif',
      axis: { labelFontSize: 11, titleFontSize: 11, titleFontWeight: 'normal', gridColor: '#eee' },
      legend: { orient: 'bottom', direction: 'vertical', labelLimit: 480 },
    },
  } as TopLevelSpec;
}
