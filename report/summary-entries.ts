// Reading a results folder's summary.json for the report: kvsweep's (domain/summary.ts) and the
// old Python runner's (no status, no attempts, its own key names, entries appended over runs).
// Lenient on purpose: a broken experiment is shown rather than the whole file refused, so only the
// shape the report relies on is checked. Each entry is then seen both ways: kvsweep's keys filled
// from the old runner's and the other way round, through the one mapping (OLD_KEYS).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { UserError } from '../domain/errors.ts';
import { SummaryEntry, withKvsweepKeys, withOldKeys, type SummarySection } from '../domain/summary.ts';

const block = z.record(z.string(), z.unknown()).nullish().transform((value) => value ?? {});

/**
 * summary.json's entry schema with every field optional, and the looser forms other writers used:
 * the old runner had no status, attempts or hosts; early kvsweep wrote attempt records, not a count.
 */
const ReadEntry = z.looseObject({
  ...SummaryEntry.partial().shape,
  experiment_id: SummaryEntry.shape.experiment_id,
  timestamp: z.string().nullish(),
  configuration: block,
  benchmark_results: block,
  cache_statistics: block,
  conversation_features: block,
  execution_success: z.boolean().nullish(),
  execution_time_seconds: z.number().nullish(),
  status: z.string().nullish(),
  error: z.string().nullish(),
  attempts: z.union([z.number(), z.array(z.unknown()).transform((list) => list.length)]).nullish(),
  hosts: z.array(z.string()).nullish(),
  results_path: z.string().nullish(),
});

/** The old plotter's dataset name: the trace file's name up to its first dot. */
function datasetFromPath(path: unknown): string | undefined {
  if (typeof path !== 'string' || path === '') return undefined;
  const base = path.split(/[\\/]/).pop()!;
  return base.split('.')[0] || undefined;
}

/** Adds the keys a section lacks, from the other tool's names; never replaces a value it has. */
function bothWays(section: SummarySection, raw: Record<string, unknown>): Record<string, unknown> {
  const withKvsweep = withKvsweepKeys(section, raw);
  const derived = withOldKeys(section, withKvsweep, { experiment_tag: null });
  const out = { ...withKvsweep };
  for (const [key, value] of Object.entries(derived)) if (out[key] === undefined && value !== null) out[key] = value;
  return out;
}

/** One experiment as the report sees it: every optional field explicit, both tools' keys. */
export const ReportEntry = ReadEntry.transform((entry) => {
  const configuration = bothWays('configuration', entry.configuration);
  if (configuration.dataset === undefined) {
    const dataset = datasetFromPath(configuration.dataset_path);
    if (dataset !== undefined) configuration.dataset = dataset;
  }
  return {
    experiment_id: entry.experiment_id,
    timestamp: entry.timestamp ?? null,
    configuration,
    benchmark_results: bothWays('benchmark_results', entry.benchmark_results),
    cache_statistics: bothWays('cache_statistics', entry.cache_statistics),
    /** succeeded, failed, cancelled; from execution_success when the file has no status. */
    status: entry.status ?? (entry.execution_success === true ? 'succeeded' : entry.execution_success === false ? 'failed' : 'unknown'),
    execution_time_seconds: entry.execution_time_seconds ?? null,
    error: entry.error ?? null,
    attempts: entry.attempts ?? null,
    hosts: entry.hosts ?? [],
    results_path: entry.results_path ?? null,
  };
});
export type ReportEntry = z.output<typeof ReportEntry>;

/** Parses summary.json's text (the file's path is only for messages). */
export function parseSummary(text: string, path: string): ReportEntry[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new UserError(`report: ${path} is not JSON: ${(error as Error).message}`);
  }
  const parsed = z.array(ReportEntry).safeParse(raw);
  if (!parsed.success) {
    throw new UserError(`report: ${path} is not a kvsweep summary (a list of experiments):\n${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

/** Reads `<resultsDir>/summary.json`; a missing file is a UserError that names it. */
export async function readSummary(resultsDir: string): Promise<{ path: string; entries: ReportEntry[] }> {
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
