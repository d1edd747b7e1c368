// writeReport and `kvsweep report` on a real results folder (test/fixtures/results, from a real
// run on the simulator) and on made-up sweeps for the edge cases: one cache size, one strategy,
// missing figures, many datasets, a group where everything failed.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeReport } from '../../report/index.ts';
import { runKvsweep } from '../support/processes.ts';
import { rawEntry } from './entries.ts';
import { FAILED_ID, FIXTURE } from './fixture.ts';
import { inspectPng } from './png.ts';

// Vega's first two category colours: the lru and conversation_aware lines.
const LINE_COLOURS = ['4c78a8', 'f58518'];

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kvsweep-report-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function copyFixture(): string {
  const results = join(dir, 'reportfix_2026-11-28');
  cpSync(FIXTURE, results, { recursive: true });
  return results;
}

/** Every href of the page that is not an in-page anchor, decoded, resolved from the page's folder. */
function linkedFiles(htmlPath: string): string[] {
  const html = readFileSync(htmlPath, 'utf8');
  return [...html.matchAll(/href="([^"#][^"]*)"/g)].map((m) => resolve(dirname(htmlPath), decodeURIComponent(m[1]!.replace(/&amp;/g, '&'))));
}

function filesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' });
}

describe('writeReport on a real results folder', () => {
  it('writes a self-contained report.html and the PNGs of every group that has figures', async () => {
    const results = copyFixture();
    const result = await writeReport(results);
    expect(result.report_path).toBe(join(results, 'report.html'));
    // chat-b's only experiment failed: its group has nothing to draw, so no PNG for it.
    expect(result.images.map((p) => p.slice(results.length + 1))).toEqual([
      'report-plots/sim-small_chat-a-ttft-and-hits.png',
      'report-plots/sim-small_chat-a-ttft-and-lmcache.png',
      'report-plots/sim-small_chat-a-throughput.png',
    ]);

    const html = readFileSync(result.report_path, 'utf8');
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|\ssrc=/i);
    expect(html).not.toMatch(/(href|src)="https?:|url\(\s*['"]?https?:/i);
    expect(html.match(/<figure class="chart"/g)).toHaveLength(3);
    expect(html.match(/<tr class="(succeeded|failed)"/g)).toHaveLength(7);
    expect(html).toContain('<span class="status-failed" data-status="failed">1 failed</span>');
    const failedRow = html.slice(html.indexOf(`data-experiment-id="${FAILED_ID}"`));
    expect(failedRow.slice(0, failedRow.indexOf('</tr>'))).toMatch(/server exited with code 1 during start-up.*last log lines.*simulated start-up failure/s);
    expect(html).toContain(`${FAILED_ID} (failed): no figures`);
  });

  it('draws readable PNGs: whole, not blank, both strategies\' lines', async () => {
    const { images } = await writeReport(copyFixture());
    for (const image of images) {
      const png = inspectPng(readFileSync(image));
      expect(png.width, image).toBeGreaterThan(1000);
      expect(png.width, image).toBeLessThan(4000);
      expect(png.height, image).toBeGreaterThan(400);
      expect(png.inkFraction, image).toBeGreaterThan(0.02);
      expect(png.inkFraction, image).toBeLessThan(0.5);
      for (const colour of LINE_COLOURS) expect([...png.colourSample].some((c) => c.startsWith(colour)), `${image} has ${colour}`).toBe(true);
    }
  });

  it('links every experiment\'s logs and results relative to the report, also after the folder moved', async () => {
    const results = copyFixture();
    const { report_path } = await writeReport(results);
    const links = linkedFiles(report_path);
    for (const link of links) expect(existsSync(link), link).toBe(true);
    for (const link of links) expect(link.startsWith(results)).toBe(true);
    const names = links.map((l) => l.slice(results.length + 1));
    expect(names).toEqual(expect.arrayContaining([
      'summary.json', 'summary.csv',
      'sim-small_chat-a_c0.005gb_r10_lru/server.log', 'sim-small_chat-a_c0.005gb_r10_lru/client.log', 'sim-small_chat-a_c0.005gb_r10_lru/result.json',
      `${FAILED_ID}/server.log`, `${FAILED_ID}/attempts/1/server.log`,
      'report-plots/sim-small_chat-a-throughput.png',
    ]));
  });

  it('is idempotent: same files, no temporary files left, stale plots removed', async () => {
    const results = copyFixture();
    const first = await writeReport(results);
    writeFileSync(join(results, 'report-plots', 'gone-model_gone-dataset-throughput.png'), 'old');
    const second = await writeReport(results);
    expect(second).toEqual(first);
    expect(readdirSync(join(results, 'report-plots')).sort()).toEqual(['sim-small_chat-a-throughput.png', 'sim-small_chat-a-ttft-and-hits.png', 'sim-small_chat-a-ttft-and-lmcache.png']);
    expect(filesUnder(results).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('writes the HTML elsewhere when asked (out), its links made relative to it', async () => {
    const results = copyFixture();
    const out = join(dir, 'elsewhere', 'sweep.html');
    const { report_path } = await writeReport(results, { out });
    expect(report_path).toBe(out);
    expect(existsSync(join(results, 'report.html'))).toBe(false);
    const links = linkedFiles(out);
    for (const link of links) expect(existsSync(link), link).toBe(true);
    // The same targets as the report written in place links to.
    expect(links.sort()).toEqual(linkedFiles((await writeReport(results)).report_path).sort());
  });
});

describe('writeReport on edge cases', () => {
  it('one cache size, one strategy, missing figures, many datasets, a group that all failed', async () => {
    const entries = [
      // five datasets, one cache size and one strategy each: dots, no lines
      ...['a', 'b', 'c', 'd', 'e'].map((dataset) => rawEntry({ dataset, cache: 16 })),
      // two strategies, three sizes, one figure missing and one experiment failed
      ...[8, 16, 32].flatMap((cache) => ['lru', 'lightgbm'].map((strategy) => rawEntry({ dataset: 'mixed', cache, strategy, status: cache === 32 && strategy === 'lightgbm' ? 'failed' : 'succeeded', bench: cache === 8 ? { p99_ttft_ms: null } : {} }))),
      // nothing to draw
      rawEntry({ dataset: 'broken', status: 'failed' }),
    ];
    writeFileSync(join(dir, 'summary.json'), JSON.stringify(entries));
    const { images, report_path } = await writeReport(dir);
    expect(images).toHaveLength(18);
    for (const image of images) expect(inspectPng(readFileSync(image)).inkFraction).toBeGreaterThan(0.01);
    const html = readFileSync(report_path, 'utf8');
    const section = (dataset: string) => html.slice(html.indexOf(`id="group-qwen-8b_${dataset}"`), html.indexOf('</section>', html.indexOf(`id="group-qwen-8b_${dataset}"`)));
    // A single point per line still draws its symbol; lines need two points.
    expect(section('a')).toMatch(/class="mark-symbol role-mark[^"]*"[^>]*>\s*<path/);
    expect(section('mixed')).toContain('qwen-8b_mixed_c8gb_r1_lru: P99 TTFT not reported');
    expect(section('mixed')).toContain('qwen-8b_mixed_c32gb_r1_lightgbm (failed): no figures');
    expect(section('broken')).toContain('Nothing to plot');
    // Cache-size ticks read as the sizes the user swept.
    for (const size of ['8', '16', '32']) expect(section('mixed')).toMatch(new RegExp(`<text[^>]*>${size}</text>`));
    expect(section('mixed')).not.toMatch(/<text[^>]*>\de\+\d<\/text>/);
    expect(html.match(/<tr class="/g)).toHaveLength(12);
    // No experiment folders here: no links to logs that do not exist.
    expect(linkedFiles(report_path).filter((l) => !l.includes('report-plots') && !l.endsWith('summary.json'))).toEqual([]);
  }, 240_000); // 18 PNGs: about 30 s on 2 loaded cores

  it('lists experiments that sweep.json plans but summary.json does not hold yet as pending', async () => {
    writeFileSync(join(dir, 'summary.json'), JSON.stringify([rawEntry({ cache: 1 })]));
    writeFileSync(join(dir, 'sweep.json'), JSON.stringify({ sweep_id: 'sweep/t/2026-01-01', experiment_ids: ['qwen-8b_chat_c1gb_r1_lru', 'later-one'] }));
    const html = readFileSync((await writeReport(dir)).report_path, 'utf8');
    expect(html).toContain('<title>kvsweep report: sweep/t/2026-01-01</title>');
    expect(html).toContain('<tr class="pending" data-experiment-id="later-one">');
    expect(html.match(/<tr class="/g)).toHaveLength(2);
  });
});

describe('kvsweep report DIR', () => {
  it('prints the report and plot paths', async () => {
    const results = copyFixture();
    const { code, output } = await runKvsweep(['report', results], {}, 120_000);
    expect(code, output).toBe(0);
    expect(output.replaceAll(results, '<dir>')).toMatchInlineSnapshot(`
      "Report: <dir>/report.html
      Plot:   <dir>/report-plots/sim-small_chat-a-ttft-and-hits.png
      Plot:   <dir>/report-plots/sim-small_chat-a-ttft-and-lmcache.png
      Plot:   <dir>/report-plots/sim-small_chat-a-throughput.png
      "
    `);
  });

  it('--out writes the HTML there', async () => {
    const results = copyFixture();
    const out = join(dir, 'html', 'sweep report.html');
    const { code, output } = await runKvsweep(['report', results, '--out', out, '--json'], {}, 120_000);
    expect(code, output).toBe(0);
    expect(JSON.parse(output)).toEqual({ report_path: out, images: ['ttft-and-hits', 'ttft-and-lmcache', 'throughput'].map((figure) => join(results, 'report-plots', `sim-small_chat-a-${figure}.png`)) });
    expect(readFileSync(out, 'utf8')).toContain('href="../reportfix_2026-11-28/summary.json"');
  });

  it('names the file it looked for when the folder has no summary.json', async () => {
    const { code, output } = await runKvsweep(['report', dir], {}, 120_000);
    expect(code).toBe(2);
    expect(output.replaceAll(dir, '<dir>')).toMatchInlineSnapshot(`
      "kvsweep: report: no summary.json in <dir> (looked for <dir>/summary.json); give the results folder of a sweep, <log_base_dir>/<tag>_<date>
      "
    `);
  });
});
