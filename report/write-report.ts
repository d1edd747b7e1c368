// writeReport(resultsDir): summary.json -> report.html and report-plots/*.png in the results
// folder. A plain async function of the folder so a Temporal activity can call it at the end of a
// sweep; idempotent (same names every time, stale PNGs removed) and atomic (temp file + rename).
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ALL_METRICS, buildChartGroups, CACHE_METRICS, LMCACHE_METRICS, THROUGHPUT_METRICS, type ChartGroup, type MetricDefinition } from './chart-data.ts';
import { figureSpec } from './chart-specs.ts';
import { experimentFiles, relativeHref } from './experiment-files.ts';
import { experimentRows, pendingRows } from './experiment-table.ts';
import { notPlottedLines, reportHtml, type ReportSection } from './html.ts';
import { PLOTS_DIR, REPORT_FILE, type ReportOptions, type ReportResult } from './names.ts';
import { prefixSvgIds, renderSvg, svgToPng } from './render.ts';
import { readSummary } from './summary-entries.ts';
import { SweepFile } from '../domain/records.ts';
import { readRecord } from '../platform/files.ts';


/** The figures of every group: kvsweep's 2x2 grid, the Python runner's, then throughput. */
const FIGURES: readonly { suffix: string; title: string; metrics: readonly MetricDefinition[]; columns: number }[] = [
  { suffix: 'ttft-and-hits', title: 'TTFT and cache hit rates against cache size', metrics: CACHE_METRICS, columns: 2 },
  { suffix: 'ttft-and-lmcache', title: "TTFT and LMCache's rates against cache size (the Python runner's grid)", metrics: LMCACHE_METRICS, columns: 2 },
  { suffix: 'throughput', title: 'Throughput and preemptions against cache size', metrics: THROUGHPUT_METRICS, columns: 3 },
];

/** Readers (a browser, a second report run) see the old file or the new one, never half of one. */
async function writeFileAtomic(path: string, content: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
  try {
    await writeFile(temporary, content);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** sweep.json's id and planned experiments: all the report needs of it. */
const SweepPlan = SweepFile.pick({ sweep_id: true, experiment_ids: true });

/** The sweep id and planned experiment ids from sweep.json, when the folder has a readable one. */
async function readSweepPlan(resultsDir: string): Promise<{ sweepId: string | null; experimentIds: string[] }> {
  const read = await readRecord(join(resultsDir, 'sweep.json'), SweepPlan).catch(() => null);
  return read?.state === 'valid' ? { sweepId: read.value.sweep_id, experimentIds: read.value.experiment_ids } : { sweepId: null, experimentIds: [] };
}

async function renderGroup(resultsDir: string, reportDir: string, group: ChartGroup, images: string[]): Promise<ReportSection> {
  const metricTitles = new Map(ALL_METRICS.map((m) => [m.key, m.title]));
  const plotted = new Set(group.points.map((p) => p.metric));
  const section: ReportSection = { group, figures: [], notPlotted: notPlottedLines(group.missing, metricTitles, plotted) };
  if (group.points.length === 0) return section;
  for (const figure of FIGURES) {
    const svg = await renderSvg(figureSpec(group, figure.metrics, figure.title, figure.columns));
    const png = join(resultsDir, PLOTS_DIR, `${group.slug}-${figure.suffix}.png`);
    await writeFileAtomic(png, svgToPng(svg));
    images.push(png);
    section.figures.push({ title: figure.title, svg: prefixSvgIds(svg, `${group.slug}-${figure.suffix}`), pngHref: relativeHref(reportDir, png) });
  }
  return section;
}

/** PNGs of an earlier report whose group is gone would mislead: only this report's stay. */
async function removeStalePlots(resultsDir: string, keep: readonly string[]): Promise<void> {
  const names = await readdir(join(resultsDir, PLOTS_DIR)).catch(() => [] as string[]);
  const kept = new Set(keep.map((path) => basename(path)));
  await Promise.all(names.filter((name) => name.endsWith('.png') && !kept.has(name)).map((name) => rm(join(resultsDir, PLOTS_DIR, name), { force: true })));
}

/** Writes report.html and its PNGs into resultsDir; throws UserError when summary.json is missing. */
export async function writeReport(resultsDir: string, options: ReportOptions = {}): Promise<ReportResult> {
  resultsDir = resolve(resultsDir);
  const reportPath = options.out ? resolve(options.out) : join(resultsDir, REPORT_FILE);
  const reportDir = dirname(reportPath);
  const { entries } = await readSummary(resultsDir);
  const plan = await readSweepPlan(resultsDir);
  const images: string[] = [];
  const sections: ReportSection[] = [];
  for (const group of buildChartGroups(entries)) sections.push(await renderGroup(resultsDir, reportDir, group, images));

  const files = new Map(await Promise.all(entries.map(async (entry) => [entry.experiment_id, await experimentFiles(resultsDir, entry, reportDir)] as const)));
  const summarised = new Set(entries.map((e) => e.experiment_id));
  const rows = [...experimentRows(entries, files), ...pendingRows(plan.experimentIds.filter((id) => !summarised.has(id)))];
  const summaryLinks = [];
  for (const name of ['summary.json', 'summary.csv', 'sweep.json']) {
    if ((await stat(join(resultsDir, name)).catch(() => null))?.isFile()) summaryLinks.push({ label: name, href: relativeHref(reportDir, join(resultsDir, name)) });
  }

  const html = reportHtml({
    title: `kvsweep report: ${plan.sweepId ?? basename(resultsDir)}`,
    resultsDir,
    generatedAt: new Date().toISOString(),
    sections,
    rows,
    summaryLinks,
  });
  await writeFileAtomic(reportPath, html);
  await removeStalePlots(resultsDir, images);
  return { report_path: reportPath, images };
}
