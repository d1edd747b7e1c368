// Where `plan` finds the start-up times of earlier runs: the outcome.json files of results folders,
// those this machine's sweeps wrote (KVSWEEP_HOME/sweeps/*.json name their folders) and those
// under the sweep's own log_base_dir. The IO side of domain/cost/startups.ts; an unreadable
// record is counted and skipped, never fatal (an estimate is not worth failing `plan` for).
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { recordedStartups, type RecordedOutcome } from '../domain/cost/startups.ts';
import type { StartupFigure } from '../domain/cost/model.ts';
import { ExperimentOutcome, SweepRecord } from '../domain/records.ts';
import { readRecord } from '../platform/files.ts';

export interface StartupHistory {
  /** Per server key (serverKeyOf), from the attempts whose server became ready. */
  startups: Record<string, StartupFigure>;
  /** Results folders looked at, and outcome.json files read from them. */
  folders: string[];
  outcomes: number;
  /** Files that could not be read (cut short, another shape): skipped. */
  unreadable: string[];
}

async function subfolders(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => join(dir, e.name));
  } catch {
    return [];
  }
}

/**
 * Results folders to look in: each sweep record's results_dir under `dataDir`/sweeps, and every
 * folder under each of `logBaseDirs` (a sweep writes `<log_base_dir>/<tag>_<date>/`).
 */
export async function resultsFolders(dataDir: string, logBaseDirs: readonly string[]): Promise<string[]> {
  const folders = new Set<string>();
  const sweepsDir = join(dataDir, 'sweeps');
  let records: string[] = [];
  try {
    records = (await readdir(sweepsDir)).filter((name) => name.endsWith('.json'));
  } catch {
    // No sweep has been started from this machine's data folder.
  }
  for (const name of records) {
    const record = await readRecord(join(sweepsDir, name), SweepRecord);
    if (record.state === 'valid') folders.add(resolve(record.value.results_dir));
  }
  for (const base of logBaseDirs) for (const folder of await subfolders(base)) folders.add(resolve(folder));
  return [...folders].sort();
}

/** The start-ups recorded in the outcome.json files of the experiments in `folders`. */
export async function readStartupHistory(folders: readonly string[]): Promise<StartupHistory> {
  const outcomes: RecordedOutcome[] = [];
  const unreadable: string[] = [];
  for (const folder of folders) {
    for (const experiment of await subfolders(folder)) {
      const read = await readRecord(join(experiment, 'outcome.json'), ExperimentOutcome);
      if (read.state === 'valid') outcomes.push(read.value);
      else if (read.state === 'invalid') unreadable.push(read.problem);
    }
  }
  return { startups: recordedStartups(outcomes), folders: [...folders], outcomes: outcomes.length, unreadable };
}
