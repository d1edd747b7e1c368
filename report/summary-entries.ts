// Reading a results folder's summary.json for the report. Lenient on purpose: the report also
// reads the old runner's summary.json (no status, no attempts) and must show a broken experiment
// rather than refuse the whole file, so only the shape the report relies on is checked.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { UserError } from '../domain/errors.ts';

const figures = z.record(z.string(), z.unknown()).nullish().transform((value) => value ?? {});

const summaryEntrySchema = z.looseObject({
  experiment_id: z.string().min(1),
  timestamp: z.string().nullish(),
  configuration: figures,
  benchmark_results: figures,
  cache_statistics: figures,
  execution_success: z.boolean().nullish(),
  execution_time_seconds: z.number().nullish(),
  status: z.string().nullish(),
  error: z.string().nullish(),
  // kvsweep writes a count; a list of attempt records is counted too.
  attempts: z.union([z.number(), z.array(z.unknown()).transform((list) => list.length)]).nullish(),
  hosts: z.array(z.string()).nullish(),
  results_path: z.string().nullish(),
});

/** One experiment as the report sees it: every optional field made explicit. */
export interface SummaryEntry {
  experiment_id: string;
  timestamp: string | null;
  configuration: Record<string, unknown>;
  benchmark_results: Record<string, unknown>;
  cache_statistics: Record<string, unknown>;
  /** succeeded, failed, cancelled; from execution_success when the file has no status. */
  status: string;
  execution_time_seconds: number | null;
  error: string | null;
  attempts: number | null;
  hosts: string[];
  results_path: string | null;
}

/** Parses summary.json's text (the file's path is only for messages). */
export function parseSummary(text: string, path: string): SummaryEntry[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new UserError(`report: ${path} is not JSON: ${(error as Error).message}`);
  }
  const parsed = z.array(summaryEntrySchema).safeParse(raw);
  if (!parsed.success) {
    throw new UserError(`report: ${path} is not a kvsweep summary (a list of experiments):\n${z.prettifyError(parsed.error)}`);
  }
  return parsed.data.map((entry) => ({
    experiment_id: entry.experiment_id,
    timestamp: entry.timestamp ?? null,
    configuration: entry.configuration,
    benchmark_results: entry.benchmark_results,
    cache_statistics: entry.cache_statistics,
    status: entry.status ?? (entry.execution_success === true ? 'succeeded' : entry.execution_success === false ? 'failed' : 'unknown'),
    execution_time_seconds: entry.execution_time_seconds ?? null,
    error: entry.error ?? null,
    attempts: entry.attempts ?? null,
    hosts: entry.hosts ?? [],
    results_path: entry.results_path ?? null,
  }));
}

/** Reads `<resultsDir>/summary.json`; a missing file is a UserError that names it. */
export async function readSummary(resultsDir: string): Promise<{ path: string; entries: SummaryEntry[] }> {
  const path = join(resultsDir, 'summary.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new UserError(`report: no summary.json in ${resultsDir} (looked for ${path}); give the results folder of a sweep, <log_base_dir>/<tag>_<date>`);
    }
    throw new UserError(`report: cannot read ${path}: ${(error as Error).message}`);
  }
  return { path, entries: parseSummary(text, path) };
}

/** A number, or null for anything else (missing keys, null, strings such as "n/a", NaN). */
export function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
