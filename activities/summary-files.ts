// summary.json (domain/summary.ts: the old runner's shape and keys beside kvsweep's) and
// summary.csv beside it: one row per experiment, every section flattened into columns named
// `<section>.<key>` (what pandas.json_normalize makes of summary.json), so no name is used twice.
import { stringify } from 'csv-stringify/sync';
import { join } from 'node:path';
import type { ExperimentOutcome } from '../domain/records.ts';
import { summaryEntryOf, type SummaryContext, type SummaryEntry } from '../domain/summary.ts';
import { writeFileAtomic, writeJsonAtomic } from '../platform/files.ts';

const SECTIONS = ['configuration', 'benchmark_results', 'cache_statistics', 'conversation_features'] as const;
const TOP_LEVEL = ['experiment_id', 'timestamp', 'status', 'execution_success', 'execution_time_seconds', 'queued_seconds', 'attempts', 'hosts', 'error', 'results_path'] as const;

/** A cell: numbers and text as they are, booleans as true/false, lists and objects as JSON, null empty. */
function csvCell(value: unknown): string | number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number' || typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** Header and rows with a stable column order: top-level fields, then each section's keys as first seen. */
export function summaryCsv(entries: readonly SummaryEntry[]): string {
  const columns: Array<{ name: string; get: (entry: SummaryEntry) => unknown }> = TOP_LEVEL.map((key) => ({ name: key, get: (e: SummaryEntry) => e[key] }));
  for (const section of SECTIONS) {
    const keys = [...new Set(entries.flatMap((entry) => Object.keys(entry[section])))];
    for (const key of keys) columns.push({ name: `${section}.${key}`, get: (e) => e[section][key] });
  }
  const rows = entries.map((entry) => columns.map((column) => csvCell(column.get(entry))));
  return stringify([columns.map((c) => c.name), ...rows]);
}

/** Writes summary.json and summary.csv atomically; returns the summary.json path. */
export async function writeSummaryFiles(resultsDir: string, outcomes: readonly ExperimentOutcome[], context: SummaryContext): Promise<string> {
  const entries = outcomes.map((outcome) => summaryEntryOf(outcome, context));
  const path = join(resultsDir, 'summary.json');
  await writeJsonAtomic(path, entries);
  await writeFileAtomic(join(resultsDir, 'summary.csv'), summaryCsv(entries));
  return path;
}
