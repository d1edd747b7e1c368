// summary.json in the old runner's shape, and summary.csv beside it: one row per experiment with
// its configuration, figures and cache statistics flattened into columns.
import { stringify } from 'csv-stringify/sync';
import { join } from 'node:path';
import type { ExperimentOutcome } from '../domain/outcome.ts';
import { writeFileAtomic, writeJsonAtomic } from '../platform/files.ts';

/** One summary.json entry: the old runner's keys first, then kvsweep's. */
function summaryEntry(outcome: ExperimentOutcome) {
  return {
    experiment_id: outcome.experiment_id,
    timestamp: outcome.timestamp,
    configuration: outcome.configuration,
    benchmark_results: outcome.benchmark_results,
    cache_statistics: outcome.cache_statistics,
    execution_success: outcome.execution_success,
    execution_time_seconds: outcome.execution_time_seconds,
    queued_seconds: outcome.queued_seconds,
    status: outcome.status,
    error: outcome.error,
    attempts: outcome.attempts.length,
    hosts: [...new Set(outcome.attempts.map((a) => a.host_id).filter((h) => h !== null))],
    results_path: outcome.results_path,
  };
}

function csvCell(value: unknown): string | number | boolean | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** Rows with a stable column order: fixed columns, then every configuration/figure key seen. */
export function summaryCsv(outcomes: readonly ExperimentOutcome[]): string {
  const fixed = ['experiment_id', 'status', 'execution_success', 'execution_time_seconds', 'attempts', 'timestamp', 'error'];
  const keysOf = (pick: (o: ExperimentOutcome) => Record<string, unknown>) => [...new Set(outcomes.flatMap((o) => Object.keys(pick(o))))];
  const configKeys = keysOf((o) => o.configuration);
  const benchKeys = keysOf((o) => o.benchmark_results);
  const cacheKeys = keysOf((o) => o.cache_statistics);
  const header = [...fixed, ...configKeys, ...benchKeys, ...cacheKeys.map((k) => `cache_${k}`)];
  const rows = outcomes.map((o) => [
    o.experiment_id, o.status, o.execution_success, o.execution_time_seconds, o.attempts.length, o.timestamp, o.error,
    ...configKeys.map((k) => o.configuration[k]),
    ...benchKeys.map((k) => o.benchmark_results[k]),
    ...cacheKeys.map((k) => o.cache_statistics[k]),
  ].map(csvCell));
  return stringify([header, ...rows]);
}

/** Writes summary.json and summary.csv atomically; returns the summary.json path. */
export async function writeSummaryFiles(resultsDir: string, outcomes: readonly ExperimentOutcome[]): Promise<string> {
  const path = join(resultsDir, 'summary.json');
  await writeJsonAtomic(path, outcomes.map(summaryEntry));
  await writeFileAtomic(join(resultsDir, 'summary.csv'), summaryCsv(outcomes));
  return path;
}
