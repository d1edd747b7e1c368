// The report in a real browser: Debian's Chromium (installed by scripts/provision-chromium.sh when
// missing) opens report.html from file://, and the test checks that the charts drew their marks,
// the table lists every experiment with working links, the PNGs decode, and that nothing was
// requested from outside the machine. Saves a screenshot under the test's temp dir.
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeReport, type ReportResult } from '../../report/index.ts';
import { launchChromium, provisionChromium, type TestBrowser } from './chromium.ts';
import { FAILED_ID, FIXTURE } from './fixture.ts';

// In the fixture, chat-a has 6 succeeded experiments (3 cache sizes x 2 strategies).
const POINTS_PER_PANEL = 6;
const LINES_PER_PANEL = 2;

// The few DOM shapes the in-page functions use (the project compiles without the DOM library).
interface InPageElement {
  getBBox(): { width: number; height: number };
  textContent: string | null;
}
interface InPageSvg {
  querySelectorAll(selector: string): Iterable<InPageElement>;
  getBoundingClientRect(): { width: number };
}
interface InPageGlobals {
  Image: new () => { src: string; naturalWidth: number; naturalHeight: number; decode(): Promise<void> };
  document: {
    createElement(tag: 'canvas'): {
      width: number;
      height: number;
      getContext(kind: '2d'): { drawImage(image: unknown, x: number, y: number): void; getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
    };
  };
}

let browser: TestBrowser | undefined;
let page: Page;
let workDir: string;
let screenshotDir: string;
let report: ReportResult;
const requested: string[] = [];
const problems: string[] = [];

beforeAll(async () => {
  // Fails here, with the script's output, when Chromium is missing and cannot be installed.
  const executable = await provisionChromium();
  workDir = mkdtempSync(join(tmpdir(), 'kvsweep-report-browser-'));
  screenshotDir = mkdtempSync(join(tmpdir(), 'kvsweep-report-screenshot-'));
  const results = join(workDir, 'reportfix_2026-11-28');
  cpSync(FIXTURE, results, { recursive: true });
  report = await writeReport(results);
  browser = await launchChromium(executable);
  browser.context.on('request', (request) => requested.push(request.url()));
  page = await browser.context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  await page.goto(pathToFileURL(report.report_path).href, { waitUntil: 'load' });
}, 660_000);

afterAll(async () => {
  await browser?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

it('draws every chart: a line per strategy and a point per experiment in each panel', async () => {
  const charts = page.locator('figure.chart svg');
  await expect.poll(() => charts.count()).toBe(3);
  const drawn = await charts.evaluateAll((elements) =>
    (elements as unknown as InPageSvg[]).map((svg) => {
      const visible = (selector: string) => [...svg.querySelectorAll(selector)].filter((el) => {
        const box = el.getBBox();
        return box.width > 0 || box.height > 0;
      }).length;
      return {
        width: svg.getBoundingClientRect().width,
        lines: visible('g.mark-line path'),
        points: visible('g.mark-symbol.role-mark path'),
        titles: [...svg.querySelectorAll('g.role-title-text text')].map((t) => t.textContent),
      };
    }),
  );
  expect(drawn[0]!.titles).toEqual(expect.arrayContaining(['Mean TTFT', 'P99 TTFT', 'Prefix-cache hit rate (vLLM)', 'External (LMCache) hit rate']));
  expect(drawn[1]!.titles).toEqual(expect.arrayContaining(['Mean TTFT', 'P99 TTFT', 'LMCache retrieved rate', 'LMCache hit rate']));
  expect(drawn[2]!.titles).toEqual(expect.arrayContaining(['Output throughput', 'Request throughput', 'Preemptions']));
  const panels = [4, 4, 3];
  drawn.forEach((chart, i) => {
    expect(chart.width).toBeGreaterThan(500);
    expect(chart.lines).toBe(panels[i]! * LINES_PER_PANEL);
    expect(chart.points).toBe(panels[i]! * POINTS_PER_PANEL);
  });
});

it('lists every experiment, the failed one with its error and log tail', async () => {
  await expect.poll(() => page.locator('tbody tr').count()).toBe(7);
  const failed = page.locator(`tr[data-experiment-id="${FAILED_ID}"]`);
  await expect.poll(() => failed.getAttribute('class')).toBe('failed');
  expect(await failed.locator('td.error').innerText()).toContain('server exited with code 1 during start-up');
  await failed.locator('summary', { hasText: 'last log lines' }).click();
  await expect.poll(() => failed.locator('pre').isVisible()).toBe(true);
  expect(await failed.locator('pre').innerText()).toContain('simulated start-up failure (--fail-startup)');
});

it('links to logs the browser can open', async () => {
  const href = await page.locator(`tr[data-experiment-id="${FAILED_ID}"] a`, { hasText: 'attempt 1 server.log' }).getAttribute('href');
  const log = await browser!.context.newPage();
  await log.goto(new URL(href!, page.url()).href);
  expect(await log.locator('body').innerText()).toContain('EngineCore failed to start');
  await log.close();
});

it('writes PNGs the browser decodes, with drawn pixels', async () => {
  const blank = await browser!.context.newPage();
  for (const image of report.images) {
    const dataUrl = `data:image/png;base64,${readFileSync(image).toString('base64')}`;
    const facts = await blank.evaluate(async (src) => {
      const { Image, document } = globalThis as unknown as InPageGlobals;
      const img = new Image();
      img.src = src;
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      const context = canvas.getContext('2d')!;
      context.drawImage(img, 0, 0);
      const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
      let ink = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i]! < 250 || data[i + 1]! < 250 || data[i + 2]! < 250) ink++;
      return { width: img.naturalWidth, height: img.naturalHeight, ink: ink / (data.length / 4) };
    }, dataUrl);
    expect(facts.width, image).toBeGreaterThan(1000);
    expect(facts.ink, image).toBeGreaterThan(0.02);
  }
  await blank.close();
});

it('requests nothing from outside the machine, and the page logs no errors', async () => {
  // Everything the pages asked for: the report, the log page, nothing else over a network.
  const outside = requested.filter((url) => !url.startsWith('file://') && !url.startsWith('data:') && url !== 'about:blank');
  expect(outside).toEqual([]);
  expect(requested).toContain(pathToFileURL(report.report_path).href);
  expect(problems).toEqual([]);
});

it('saves a screenshot of the whole report', async () => {
  const path = join(screenshotDir, 'report.png');
  await page.screenshot({ path, fullPage: true });
  expect(statSync(path).size).toBeGreaterThan(50_000);
  console.log(`report screenshot: ${path}`);
});
