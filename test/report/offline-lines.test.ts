// What the report draws of simulated results: the oracle's line dashed as the bound, and the
// unbounded cache's hit rates as a ceiling over the hit-rate panels, only where they were
// simulated; and a `kvsweep simulate` folder reported like any results folder (real processes,
// real SVG and PNG).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSynthTrace } from '../../loadgen/trace-cli.ts';
import { DEFAULT_SYNTH_OPTIONS } from '../../loadgen/trace-synth.ts';
import { buildChartGroups, CACHE_METRICS } from '../../report/chart-data.ts';
import { figureSpec } from '../../report/chart-specs.ts';
import { renderSvg, svgToPng } from '../../report/render.ts';
import { runKvsweep } from '../support/processes.ts';
import { entry, type EntryOptions } from './entries.ts';
import { inspectPng } from './png.ts';

const CEILING = { unbounded_prefix_cache_hit_rate: 0.52, unbounded_external_prefix_cache_hit_rate: 0.41 };
const simulated = (o: EntryOptions) => entry({ ...o, cache_statistics: { ...CEILING, ...o.cache_statistics } });
const sweep = (make: (o: EntryOptions) => ReturnType<typeof entry>, strategies: string[], rates = [1]) =>
  rates.flatMap((rate) => strategies.flatMap((strategy) => [8, 32, 64].map((cache) => make({ strategy, cache, rate }))));

/** The SVG of the TTFT and hit-rate figure of the first group. */
async function hitsSvg(entries: ReturnType<typeof entry>[]): Promise<string> {
  return renderSvg(figureSpec(buildChartGroups(entries)[0]!, CACHE_METRICS, 'TTFT and hits', 2));
}

describe('chart data of simulated results', () => {
  it('takes each hit-rate panel\'s ceiling from its unbounded counterpart and marks the oracle\'s points as the bound', () => {
    const [group] = buildChartGroups(sweep(simulated, ['lru', 'oracle']));
    expect(group!.ceilings).toEqual([
      { metric: 'prefix_cache_hit_rate', value: 0.52, label: 'unbounded cache' },
      { metric: 'external_hit_rate', value: 0.41, label: 'unbounded cache' },
    ]);
    expect(new Set(group!.points.filter((p) => p.bound).map((p) => p.series))).toEqual(new Set(['oracle']));
    expect(group!.points.filter((p) => !p.bound).every((p) => p.series === 'lru')).toBe(true);
  });

  it('has one ceiling per rate when rates differ, and none where no unbounded cache was simulated', () => {
    const entries = [1, 2].flatMap((rate) => [8, 64].map((cache) => entry({ cache, rate, cache_statistics: { unbounded_external_prefix_cache_hit_rate: rate / 10 } })));
    expect(buildChartGroups(entries)[0]!.ceilings).toEqual([
      { metric: 'external_hit_rate', value: 0.1, label: 'unbounded cache · rate 1' },
      { metric: 'external_hit_rate', value: 0.2, label: 'unbounded cache · rate 2' },
    ]);
    expect(buildChartGroups(sweep(entry, ['lru', 'conversation_aware']))[0]!.ceilings).toEqual([]);
  });
});

describe('the figures', () => {
  it('draw the ceiling (a labelled dotted rule) on both hit-rate panels and the oracle dashed, with its legend', async () => {
    const svg = await hitsSvg(sweep(simulated, ['lru', 'oracle']));
    expect(svg.match(/>unbounded cache</g)).toHaveLength(2);
    expect(svg).toContain('stroke-dasharray="2,3"');
    expect(svg).toContain('stroke-dasharray="6,4"');
    expect(svg).toContain('>oracle (the bound)<');
    const png = inspectPng(svgToPng(svg));
    expect(png.inkFraction).toBeGreaterThan(0.02);
  });

  it('draw neither for a live sweep without an oracle or an unbounded cache', async () => {
    const svg = await hitsSvg(sweep(entry, ['lru', 'conversation_aware']));
    expect(svg).not.toContain('unbounded cache');
    expect(svg).not.toContain('stroke-dasharray');
    expect(svg).not.toContain('the bound');
  });
});

describe('kvsweep report on a kvsweep simulate folder', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kvsweep-report-offline-'));
    await writeSynthTrace(join(dir, 'chat.csv'), { ...DEFAULT_SYNTH_OPTIONS, conversations: 150, seed: 3, conversationRate: 0.5 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports it like any results folder, with the oracle and the unbounded cache drawn', { timeout: 180_000 }, async () => {
    const out = join(dir, 'whatif');
    const simulate = await runKvsweep(['simulate', '--trace', join(dir, 'chat.csv'), '--model', 'kvsweep/sim-small', '--max-model-len', '8192', '--cache-size', '0.01,0.04,0.16', '--policy', 'lru,oracle', '--out', out], {}, 180_000, dir);
    expect(simulate.code, simulate.output).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { experiment_id: string; configuration: Record<string, unknown>; cache_statistics: Record<string, number> }[];
    expect(summary.map((e) => e.experiment_id).sort()).toEqual(['lru_c0.01gb_r1', 'lru_c0.04gb_r1', 'lru_c0.16gb_r1', 'oracle_c0.01gb_r1', 'oracle_c0.04gb_r1', 'oracle_c0.16gb_r1']);
    // The ceiling is the same for every experiment of the rate and no size or policy goes above it.
    const ceilings = new Set(summary.map((e) => e.cache_statistics.unbounded_external_prefix_cache_hit_rate));
    expect(ceilings.size).toBe(1);
    for (const e of summary) expect(e.cache_statistics.external_prefix_cache_hit_rate!).toBeLessThanOrEqual([...ceilings][0]! + 1e-12);
    expect(readFileSync(join(out, 'summary.csv'), 'utf8')).toContain('unbounded_external_prefix_cache_hit_rate');

    const report = await runKvsweep(['report', out], {}, 120_000, dir);
    expect(report.code, report.output).toBe(0);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html.match(/>unbounded cache</g)!.length).toBeGreaterThanOrEqual(2);
    expect(html).toContain('>oracle (the bound)<');
    const pngs = readdirSync(join(out, 'report-plots'));
    expect(pngs).toHaveLength(3);
    for (const png of pngs) expect(inspectPng(readFileSync(join(out, 'report-plots', png))).inkFraction).toBeGreaterThan(0.02);
  });
});
