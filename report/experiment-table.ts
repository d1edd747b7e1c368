// The report's table of every experiment, failed and pending ones included: its settings, key
// figures, attempts and error, as display text. Pure.
import { ALL_METRICS, metricValue, strategyLabel, type MetricDefinition } from './chart-data.ts';
import type { FileLink } from './experiment-files.ts';
import { numberOrNull, type ReportEntry } from './summary-entries.ts';

export interface TableColumn {
  header: string;
  numeric: boolean;
}

export interface TableRow {
  experiment_id: string;
  status: string;
  /** Display text per column, in TABLE_COLUMNS order ('—' for a missing figure). */
  cells: string[];
  error: string | null;
  logTail: string[];
  links: FileLink[];
}

/** A figure for a table cell: '—' when missing; percent, integer or a few significant digits. */
export function formatFigure(value: number | null, format: MetricDefinition['format']): string {
  if (value === null) return '—';
  if (format === 'percent') return `${(value * 100).toFixed(1)}%`;
  if (format === 'integer') return Math.round(value).toLocaleString('en-US');
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

const plain = (value: unknown): string => (value === null || value === undefined || value === '' ? '—' : typeof value === 'object' ? JSON.stringify(value) : String(value));


interface ColumnDefinition extends TableColumn {
  cell: (entry: ReportEntry) => string;
}

const COLUMNS: readonly ColumnDefinition[] = [
  { header: 'model', numeric: false, cell: (e) => plain(e.configuration.model) },
  { header: 'dataset', numeric: false, cell: (e) => plain(e.configuration.dataset) },
  { header: 'cache GB', numeric: true, cell: (e) => plain(e.configuration.cache_size_gb) },
  { header: 'rate', numeric: true, cell: (e) => plain(e.configuration.request_rate) },
  { header: 'strategy', numeric: false, cell: (e) => (e.configuration.eviction_strategy === undefined ? '—' : strategyLabel(e.configuration)) },
  {
    header: 'requests ok / failed',
    numeric: true,
    cell: (e) => {
      const completed = numberOrNull(e.benchmark_results.completed);
      const failed = numberOrNull(e.benchmark_results.failed);
      return completed === null && failed === null ? '—' : `${plain(completed)} / ${plain(failed)}`;
    },
  },
  ...ALL_METRICS.map((metric) => ({
    header: metric.short,
    numeric: true,
    cell: (e: ReportEntry) => formatFigure(metricValue(e, metric)?.value ?? null, metric.format),
  })),
  { header: 'time (s)', numeric: true, cell: (e) => formatFigure(e.execution_time_seconds, 'number') },
  { header: 'attempts', numeric: true, cell: (e) => plain(e.attempts) },
  { header: 'hosts', numeric: false, cell: (e) => (e.hosts.length ? e.hosts.join(', ') : '—') },
];

export const TABLE_COLUMNS: readonly TableColumn[] = COLUMNS.map(({ header, numeric }) => ({ header, numeric }));

/** One row per entry, in the summary's order, with the files found for each. */
export function experimentRows(entries: readonly ReportEntry[], files: ReadonlyMap<string, { links: FileLink[]; logTail: string[] }>): TableRow[] {
  return entries.map((entry) => ({
    experiment_id: entry.experiment_id,
    status: entry.status,
    cells: COLUMNS.map((column) => column.cell(entry)),
    error: entry.error,
    logTail: files.get(entry.experiment_id)?.logTail ?? [],
    links: files.get(entry.experiment_id)?.links ?? [],
  }));
}

/** Rows for experiments the sweep planned but summary.json does not hold yet. */
export function pendingRows(experimentIds: readonly string[]): TableRow[] {
  return experimentIds.map((id) => ({ experiment_id: id, status: 'pending', cells: COLUMNS.map(() => '—'), error: null, logTail: [], links: [] }));
}

export interface StatusCounts {
  total: number;
  byStatus: Record<string, number>;
}

export function countStatuses(rows: readonly TableRow[]): StatusCounts {
  const byStatus: Record<string, number> = {};
  for (const row of rows) byStatus[row.status] = (byStatus[row.status] ?? 0) + 1;
  return { total: rows.length, byStatus };
}
