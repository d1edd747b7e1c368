// What the report's table links to and quotes from each experiment folder: the logs and result
// files that exist (links relative to the results folder, so the folder can be moved or shared),
// and for a failed experiment the tail of its last attempt's log from outcome.json.
import { readdir, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { z } from 'zod';
import { AttemptRecord } from '../domain/records.ts';
import { readRecord } from '../platform/files.ts';
import type { ReportEntry } from './summary-entries.ts';

export interface FileLink {
  label: string;
  /** Relative to the report's folder (normally the results folder), URL-encoded. */
  href: string;
}

export interface ExperimentFiles {
  links: FileLink[];
  /** The last log lines of the last failed attempt, when outcome.json has them. */
  logTail: string[];
}

/** Files of an experiment folder worth a link, in the order the table shows them. */
const LINKED_FILES = ['server.log', 'client.log', 'result.json', 'outcome.json', 'requests.jsonl', 'metrics.jsonl', 'server-command.json'];
const ATTEMPT_FILES = ['server.log', 'client.log'];

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isDirectory() ?? false;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isFile() ?? false;
}

/** An href from a folder to a file: each path segment URL-encoded (ids may hold '%' or '#'). */
export function relativeHref(fromDir: string, file: string): string {
  return relative(fromDir, file).split(sep).map(encodeURIComponent).join('/');
}

/** The experiment's folder: `<resultsDir>/<id>` (also after a move), else its recorded results_path. */
async function experimentFolder(resultsDir: string, entry: ReportEntry): Promise<string | null> {
  if (basename(entry.experiment_id) === entry.experiment_id && (await isDirectory(join(resultsDir, entry.experiment_id)))) {
    return join(resultsDir, entry.experiment_id);
  }
  if (entry.results_path && (await isDirectory(entry.results_path))) return entry.results_path;
  return null;
}

/** Of outcome.json, the attempts' log tails: all the table quotes. */
const LogTails = z.looseObject({ attempts: z.array(AttemptRecord.pick({ log_tail: true })) });

/** The last failed attempt's log tail; none when outcome.json is missing or does not parse. */
async function logTailOf(path: string): Promise<string[]> {
  const read = await readRecord(path, LogTails).catch(() => null);
  if (read?.state !== 'valid') return [];
  const failed = read.value.attempts.filter((a) => a.log_tail.length > 0);
  return failed[failed.length - 1]?.log_tail ?? [];
}

/** The old runner's logs: `server<id>.log` and `client<id>.log` in the results folder itself. */
async function oldRunnerLinks(resultsDir: string, entry: ReportEntry, reportDir: string): Promise<FileLink[]> {
  const links: FileLink[] = [];
  if (basename(entry.experiment_id) !== entry.experiment_id) return links;
  for (const kind of ['server', 'client']) {
    const file = join(resultsDir, `${kind}${entry.experiment_id}.log`);
    if (await isFile(file)) links.push({ label: `${kind}.log`, href: relativeHref(reportDir, file) });
  }
  return links;
}

/**
 * Links (relative to `reportDir`) and log tail of one experiment; an experiment without a folder
 * gets none (no dead links).
 */
export async function experimentFiles(resultsDir: string, entry: ReportEntry, reportDir = resultsDir): Promise<ExperimentFiles> {
  const folder = await experimentFolder(resultsDir, entry);
  if (folder === null) return { links: await oldRunnerLinks(resultsDir, entry, reportDir), logTail: [] };
  const links: FileLink[] = [];
  for (const name of LINKED_FILES) {
    if (await isFile(join(folder, name))) links.push({ label: name, href: relativeHref(reportDir, join(folder, name)) });
  }
  // A retried experiment keeps its earlier attempts' logs under attempts/<n>/; the folder's own
  // logs are the last attempt's.
  const attemptDirs = (await readdir(join(folder, 'attempts')).catch(() => [] as string[])).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(a) - Number(b));
  for (const attempt of attemptDirs) {
    for (const name of ATTEMPT_FILES) {
      const file = join(folder, 'attempts', attempt, name);
      if (await isFile(file)) links.push({ label: `attempt ${attempt} ${name}`, href: relativeHref(reportDir, file) });
    }
  }
  const logTail = entry.status === 'succeeded' ? [] : await logTailOf(join(folder, 'outcome.json'));
  return { links, logTail };
}
