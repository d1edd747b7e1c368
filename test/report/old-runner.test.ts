// `kvsweep report` on a results folder of the old Python runner (test/fixtures/results/
// qwen8b_2025-08-13, written for this test in its shape: entries appended over three runs, the
// `standard` strategy, a failure rerun later, logs named server<id>.log): named groups, a line per
// strategy, and the runner's own 2x2 grid (TTFT, LMCache's retrieved and hit rates) drawn.
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildChartGroups } from '../../report/chart-data.ts';
import { writeReport } from '../../report/index.ts';
import { parseSummary } from '../../report/summary-entries.ts';
import { projectRoot } from '../../platform/paths.ts';
import { runKvsweep } from '../support/processes.ts';
import { inspectPng } from './png.ts';

const OLD_FOLDER = join(projectRoot, 'test', 'fixtures', 'results', 'qwen8b_2025-08-13');
const raw = JSON.parse(readFileSync(join(OLD_FOLDER, 'summary.json'), 'utf8')) as Array<{ experiment_id: string; configuration: Record<string, unknown>; cache_statistics: Record<string, number> }>;
const entries = parseSummary(readFileSync(join(OLD_FOLDER, 'summary.json'), 'utf8'), 'summary.json');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kvsweep-old-report-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("the old runner's summary.json", () => {
  it('is read with kvsweep names filled from its own: model, dataset (from the file name), strategy, status', () => {
    expect(entries).toHaveLength(13);
    expect(entries[0]!.configuration).toMatchObject({ model: 'qwen-8b', dataset: 'trace_a', dataset_path: 'data/trace_a.csv', eviction_strategy: 'standard', request_rate: 1, cache_size_gb: 16 });
    expect(entries[0]!.cache_statistics).toMatchObject({ prefix_cache_hit_rate: 0.31, preemptions: 0 });
    expect(entries[0]!.benchmark_results).toMatchObject({ completed: 4210, duration: 1199.87 });
    expect(entries.map((e) => e.status).filter((s) => s !== 'succeeded')).toEqual(['failed']);
  });

  it("groups by model and dataset, one line per strategy, the runner's LMCache figures as they are", () => {
    const groups = buildChartGroups(entries);
    expect(groups.map((g) => `${g.model} · ${g.dataset}`)).toEqual(['qwen-8b · trace_a', 'qwen-8b · trace_b']);
    for (const group of groups) {
      expect(group.series).toEqual(['standard', 'conversation_aware']);
      expect(group.cacheSizes).toEqual([16, 32, 64]);
      for (const metric of ['lmcache_hit_rate', 'lmcache_retrieved_rate']) {
        const drawn = group.points.filter((p) => p.metric === metric).map((p) => [p.experiment_id, p.value]);
        const expected = raw.filter((e) => e.configuration.dataset_file_path === `data/${group.dataset}.csv` && e.cache_statistics[metric] !== undefined).map((e) => [e.experiment_id, e.cache_statistics[metric]]);
        expect(drawn.sort()).toEqual(expected.sort());
        expect(drawn).toHaveLength(6);
      }
    }
    // The failed attempt at trace_b, 64 GB is left out; its rerun, appended later, is drawn.
    expect(groups[1]!.missing.filter((m) => m.reason === 'failed').map((m) => m.experiment_id)).toContain('_64.0gb_1.0rps_conversation_aware_trace_b');
    expect(groups[1]!.points.filter((p) => p.metric === 'mean_ttft_ms' && p.cache_size_gb === 64 && p.series === 'conversation_aware')).toHaveLength(1);
  });
});

describe('kvsweep report on an old results folder', () => {
  it('draws named sections with both grids, the table, and links to its logs', async () => {
    const folder = join(dir, 'qwen8b_2025-08-13');
    cpSync(OLD_FOLDER, folder, { recursive: true });
    const { code, output } = await runKvsweep(['report', folder, '--json'], {}, 180_000);
    expect(code, output).toBe(0);
    const { report_path, images } = JSON.parse(output) as { report_path: string; images: string[] };
    expect(images.map((p) => p.slice(folder.length + 1))).toEqual(
      ['trace_a', 'trace_b'].flatMap((dataset) => ['ttft-and-hits', 'ttft-and-lmcache', 'throughput'].map((figure) => `report-plots/qwen-8b_${dataset}-${figure}.png`)),
    );
    const html = readFileSync(report_path, 'utf8');
    expect(html).not.toMatch(/unknown (model|dataset|strategy)/);
    expect(html).toContain('<h2>qwen-8b · trace_a</h2>');
    expect(html).toContain('lines: standard, conversation_aware');
    // The runner's grid: LMCache's own rates, drawn with values.
    const section = html.slice(html.indexOf('id="group-qwen-8b_trace_a"'), html.indexOf('</section>', html.indexOf('id="group-qwen-8b_trace_a"')));
    for (const title of ['LMCache retrieved rate', 'LMCache hit rate', 'Mean TTFT', 'P99 TTFT']) expect(section).toContain(`>${title}</text>`);
    expect(section).toContain('External (LMCache) hit rate: not reported by any experiment');
    expect(html.match(/<tr class="/g)).toHaveLength(13);
    expect(html).toMatch(/<tr class="succeeded" data-experiment-id="_16.0gb_1.0rps_standard_trace_a">.*<a href="server_16.0gb_1.0rps_standard_trace_a.log">server.log<\/a>/);
    const lmcacheGrid = inspectPng(readFileSync(images[1]!));
    expect(lmcacheGrid.inkFraction).toBeGreaterThan(0.02);
    // Vega's first two category colours: the standard and conversation_aware lines.
    for (const colour of ['4c78a8', 'f58518']) expect([...lmcacheGrid.colourSample].some((c) => c.startsWith(colour)), colour).toBe(true);
  }, 240_000);
});
