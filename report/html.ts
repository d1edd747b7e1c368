// report.html: one self-contained page (inline CSS and SVG, no script, nothing fetched) with the
// sweep's counts, one section of figures per (model, dataset), and the table of every experiment.
// Pure: gets rendered SVG and prepared rows, returns text.
import type { ChartGroup, MissingFigure } from './chart-data.ts';
import { countStatuses, TABLE_COLUMNS, type TableRow } from './experiment-table.ts';

export interface ReportFigure {
  title: string;
  /** Inline SVG markup (ids already unique in the page). */
  svg: string;
  /** The PNG beside the report, relative href. */
  pngHref: string;
}

export interface ReportSection {
  group: ChartGroup;
  /** Empty when the group has nothing to plot (every experiment failed). */
  figures: ReportFigure[];
  notPlotted: string[];
}

export interface ReportPage {
  title: string;
  resultsDir: string;
  generatedAt: string;
  sections: ReportSection[];
  rows: TableRow[];
  /** e.g. `<a href="summary.json">` targets that exist beside the report. */
  summaryLinks: { label: string; href: string }[];
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * "X (failed): no figures" or "X: Preemptions not reported", one line per experiment. A figure
 * that no experiment of the group reported (given `plotted`, the metrics with points) is said once,
 * "LMCache hit rate: not reported by any experiment", instead of on every line.
 */
export function notPlottedLines(missing: readonly MissingFigure[], metricTitles: ReadonlyMap<string, string>, plotted?: ReadonlySet<string>): string[] {
  const absent = plotted ? [...new Set(missing.filter((m) => m.reason === 'not reported' && !plotted.has(m.metric)).map((m) => m.metric))] : [];
  const groupLines = absent.map((metric) => `${metricTitles.get(metric) ?? metric}: not reported by any experiment`);
  const byExperiment = new Map<string, MissingFigure[]>();
  for (const m of missing) byExperiment.set(m.experiment_id, [...(byExperiment.get(m.experiment_id) ?? []), m]);
  const experimentLines = [...byExperiment.entries()].flatMap(([id, all]) => {
    const list = all.filter((m) => !(m.reason === 'not reported' && absent.includes(m.metric)));
    if (list.length === 0) return [];
    const reasons = [...new Set(list.map((m) => m.reason))];
    if (all.length === metricTitles.size && reasons.length === 1) return [`${id} (${reasons[0]}): no figures`];
    return [`${id}: ${list.map((m) => `${metricTitles.get(m.metric) ?? m.metric} ${m.reason}`).join('; ')}`];
  });
  return [...groupLines, ...experimentLines];
}

const anchorOf = (section: ReportSection) => `group-${section.group.slug}`;

/** Shows a chart a quarter larger than drawn (its viewBox scales it), never wider than the page. */
export function enlargeSvg(svg: string, factor = 1.25): string {
  const width = Number(/^<svg[^>]*\swidth="([\d.]+)"/.exec(svg)?.[1]);
  if (!Number.isFinite(width) || width <= 0) return svg;
  return svg.replace(/^<svg/, `<svg style="width: ${Math.round(width * factor)}px"`);
}

const STYLE = `
body { font: 14px/1.45 "DejaVu Sans", "Helvetica Neue", Helvetica, Arial, sans-serif; margin: 24px; color: #1d2430; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 32px 0 8px; border-bottom: 1px solid #dde; padding-bottom: 4px; }
.meta { color: #667; margin: 0 0 12px; } .meta code { font-size: 12px; }
.counts span { display: inline-block; margin: 0 8px 6px 0; padding: 2px 10px; border-radius: 12px; background: #eef1f6; }
.status-succeeded { color: #176b2c; } .status-failed { color: #b42318; font-weight: bold; } .status-cancelled { color: #8a5a00; } .status-pending, .status-unknown { color: #667; }
figure { margin: 12px 0 20px; } figure svg { max-width: 100%; height: auto; } figcaption { font-size: 12px; color: #667; }
.not-plotted { font-size: 13px; color: #8a3b12; } .not-plotted li { font-family: "DejaVu Sans Mono", monospace; font-size: 12px; }
table { border-collapse: collapse; font-size: 12px; } th, td { border: 1px solid #dde; padding: 3px 6px; vertical-align: top; }
th { background: #f3f5f9; position: sticky; top: 0; } td.num { text-align: right; white-space: nowrap; }
tr.failed td { background: #fff4f2; } tr.pending td, tr.cancelled td { background: #f8f8f8; }
td.id span { font-family: "DejaVu Sans Mono", monospace; } .files { font-size: 11px; margin-top: 2px; } .files a { margin-right: 6px; white-space: nowrap; }
td.error { min-width: 12em; max-width: 360px; } td { white-space: nowrap; } td.id, td.error { white-space: normal; } td.id { min-width: 22em; } pre { white-space: pre; font-size: 11px; margin: 4px 0; } td.error details[open] { min-width: 50em; }
.table-wrap { overflow-x: auto; }
`;

function countsHtml(rows: readonly TableRow[]): string {
  const counts = countStatuses(rows);
  const order = ['succeeded', 'failed', 'cancelled', 'pending'];
  const statuses = [...order.filter((s) => counts.byStatus[s] !== undefined), ...Object.keys(counts.byStatus).filter((s) => !order.includes(s))];
  return `<p class="counts"><span>${counts.total} experiments</span>${statuses.map((s) => `<span class="status-${escapeHtml(s)}" data-status="${escapeHtml(s)}">${counts.byStatus[s]} ${escapeHtml(s)}</span>`).join('')}</p>`;
}

function sectionHtml(section: ReportSection): string {
  const { group } = section;
  const figures = section.figures.length
    ? section.figures.map((f) => `<figure class="chart" data-group="${escapeHtml(group.slug)}">${enlargeSvg(f.svg)}<figcaption>${escapeHtml(f.title)} · <a href="${escapeHtml(f.pngHref)}">PNG</a></figcaption></figure>`).join('\n')
    : `<p class="not-plotted">Nothing to plot: no experiment of this group reported figures (see the table below).</p>`;
  const notPlotted = section.notPlotted.length
    ? `<div class="not-plotted"><p>Not in the charts:</p><ul>${section.notPlotted.map((line) => `<li>${escapeHtml(line)}</li>`).join('')}</ul></div>`
    : '';
  return `<section id="${anchorOf(section)}"><h2>${escapeHtml(group.model)} · ${escapeHtml(group.dataset)}</h2>
<p class="meta">${group.entries.length} experiments · cache sizes ${group.cacheSizes.map(String).join(', ') || '—'} GB · lines: ${escapeHtml(group.series.join(', ') || '—')}</p>
${figures}
${notPlotted}</section>`;
}

function rowHtml(row: TableRow, index: number): string {
  const cells = row.cells.map((text, i) => `<td${TABLE_COLUMNS[i]?.numeric ? ' class="num"' : ''}>${escapeHtml(text)}</td>`).join('');
  const tail = row.logTail.length ? `<details><summary>last log lines</summary><pre>${escapeHtml(row.logTail.join('\n'))}</pre></details>` : '';
  const error = row.error ? `${escapeHtml(row.error)}${tail}` : tail || '';
  const links = row.links.length ? `<div class="files">${row.links.map((l) => `<a href="${escapeHtml(l.href)}">${escapeHtml(l.label)}</a>`).join(' ')}</div>` : '';
  return `<tr class="${escapeHtml(row.status)}" data-experiment-id="${escapeHtml(row.experiment_id)}"><td class="num">${index + 1}</td><td class="id"><span>${escapeHtml(row.experiment_id)}</span>${links}</td><td class="status-${escapeHtml(row.status)}">${escapeHtml(row.status)}</td><td class="error">${error}</td>${cells}</tr>`;
}

export function reportHtml(page: ReportPage): string {
  const toc = page.sections.length > 1 ? `<nav><p>Charts: ${page.sections.map((s) => `<a href="#${anchorOf(s)}">${escapeHtml(s.group.model)} · ${escapeHtml(s.group.dataset)}</a>`).join(' · ')} · <a href="#experiments">experiments</a></p></nav>` : '';
  const headers = ['#', 'experiment and files', 'status', 'error', ...TABLE_COLUMNS.map((c) => c.header)].map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(page.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(page.title)}</h1>
<p class="meta">Results folder <code>${escapeHtml(page.resultsDir)}</code> · written ${escapeHtml(page.generatedAt)} · ${page.summaryLinks.map((l) => `<a href="${escapeHtml(l.href)}">${escapeHtml(l.label)}</a>`).join(' · ')}</p>
${countsHtml(page.rows)}
${toc}
${page.sections.map(sectionHtml).join('\n')}
<section id="experiments"><h2>Experiments</h2>
<div class="table-wrap"><table>
<thead><tr>${headers}</tr></thead>
<tbody>
${page.rows.map(rowHtml).join('\n')}
</tbody>
</table></div></section>
</body>
</html>
`;
}
