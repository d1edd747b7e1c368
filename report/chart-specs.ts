// Vega-Lite specifications of the report's figures: a grid of panels, one per metric, each with one
// line per eviction strategy against cache size. Pure: specs are data, rendered elsewhere.
import type { TopLevelSpec } from 'vega-lite';
import type { ChartGroup, ChartPoint, MetricDefinition } from './chart-data.ts';

/** Fonts of the charts: the browser picks the first it has; resvg does the same for the PNGs. */
export const CHART_FONT = 'DejaVu Sans, Helvetica Neue, Helvetica, Arial, Liberation Sans, sans-serif';

const PANEL_WIDTH = 300;
const PANEL_HEIGHT = 190;

const axisFormat: Record<MetricDefinition['format'], string> = { number: '~s', percent: '.0%', integer: 'd' };

/** x: cache size; one value gets a domain around it so its points sit mid-panel, not on an edge. */
function cacheSizeEncoding(group: ChartGroup) {
  const sizes = group.cacheSizes;
  const only = sizes.length === 1 ? sizes[0]! : null;
  const domain = only === null ? undefined : only > 0 ? [0, only * 2] : [-1, 1];
  return {
    field: 'cache_size_gb',
    type: 'quantitative' as const,
    title: group.xScale === 'log' ? 'cache size (GB, log scale)' : 'cache size (GB)',
    scale: group.xScale === 'log' ? { type: 'log' as const, nice: false, padding: 16 } : { zero: true, padding: 12, ...(domain ? { domain } : {}) },
    // Ticks at the swept sizes themselves (at most a dozen, or they overlap).
    axis: { values: sizes.length <= 12 ? sizes : undefined, format: '.6~g', labelFlush: false },
  };
}

/** One panel: the metric's points of this group, or a note when it has none. */
function panelSpec(group: ChartGroup, metric: MetricDefinition, points: ChartPoint[]) {
  const title = { text: metric.title, anchor: 'start' as const, frame: 'group' as const, fontSize: 13 };
  if (points.length === 0) {
    return {
      title,
      width: PANEL_WIDTH,
      height: PANEL_HEIGHT,
      data: { values: [{ note: 'no values' }] },
      mark: { type: 'text' as const, color: '#888', fontSize: 12 },
      encoding: { text: { field: 'note', type: 'nominal' as const }, x: { value: PANEL_WIDTH / 2 }, y: { value: PANEL_HEIGHT / 2 } },
    };
  }
  const line = {
    data: { values: points },
    // point: a sweep with one cache size still shows its figures, as dots.
    mark: { type: 'line' as const, point: { filled: true, size: 55 }, strokeWidth: 2 },
    encoding: {
      x: cacheSizeEncoding(group),
      y: { field: 'value', type: 'quantitative' as const, title: metric.unit, scale: { zero: true }, axis: { format: axisFormat[metric.format] } },
      color: { field: 'series', type: 'nominal' as const, title: 'eviction strategy', scale: { domain: group.series }, sort: group.series },
      // The oracle (offline only) is the bound the policies are read against: dashed, and said so in a legend.
      ...(points.some((p) => p.bound) ? { strokeDash: { field: 'bound', type: 'nominal' as const, title: 'line', scale: { domain: [false, true], range: [[1, 0], [6, 4]] }, legend: { symbolType: 'stroke', symbolStrokeWidth: 2, labelExpr: "datum.value ? 'oracle (the bound)' : 'policy'" } } } : {}),
    },
  };
  const ceilings = group.ceilings.filter((c) => c.metric === metric.key);
  if (ceilings.length === 0) return { title, width: PANEL_WIDTH, height: PANEL_HEIGHT, ...line };
  // The unbounded cache's value: a grey dotted rule across the panel, labelled at its right end.
  const rule = { data: { values: ceilings }, mark: { type: 'rule' as const, color: '#555', strokeDash: [2, 3], strokeWidth: 1.5 }, encoding: { y: { field: 'value', type: 'quantitative' as const } } };
  const text = {
    data: { values: ceilings },
    mark: { type: 'text' as const, align: 'right' as const, baseline: 'bottom' as const, dy: -2, x: PANEL_WIDTH - 2, color: '#555', fontSize: 10 },
    encoding: { y: { field: 'value', type: 'quantitative' as const }, text: { field: 'label', type: 'nominal' as const } },
  };
  return { title, width: PANEL_WIDTH, height: PANEL_HEIGHT, layer: [line, rule, text] };
}

/** A titled grid of panels (one per metric) sharing one colour legend. */
export function figureSpec(group: ChartGroup, metrics: readonly MetricDefinition[], title: string, columns: number): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: `${group.model} · ${group.dataset}`, anchor: 'start', fontSize: 15 },
    columns,
    concat: metrics.map((metric) => panelSpec(group, metric, group.points.filter((p) => p.metric === metric.key))),
    resolve: { scale: { color: 'shared' } },
    spacing: 28,
    padding: 12,
    config: {
      background: 'white',
      font: CHART_FONT,
      view: { stroke: '#ddd' },
      axis: { labelFontSize: 11, titleFontSize: 11, titleFontWeight: 'normal', gridColor: '#eee' },
      legend: { orient: 'bottom', direction: 'vertical', labelLimit: 480, labelFontSize: 12, titleFontSize: 12 },
    },
  } as TopLevelSpec;
}
