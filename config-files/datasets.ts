// The dataset files of a sweep: what each holds (detected when the sweep is planned), and a full
// read of each, so a bad trace or log fails `plan` and `run` before anything starts, with the
// file, the line and the problem. Each file is read once however many entries name it.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { basename, extname, isAbsolute, relative, resolve } from 'node:path';
import type { DatasetFormat } from '../domain/experiment.ts';
import { UserError } from '../domain/errors.ts';
import type { ConfigProblem } from '../domain/config/problems.ts';
import type { NormalisedDataset } from '../domain/config/resolved.ts';
import { scanRequestsJsonl, scanServerLog } from '../loadgen/trace-logs.ts';
import { scanTrace } from '../loadgen/trace-scan.ts';

/** What `plan` reports about one dataset file. */
export type DatasetSummary =
  | {
      format: 'trace_csv';
      path: string;
      rows: number;
      rows_read: number;
      conversations: number;
      dropped_missing_query: number;
      dropped_non_positive_query: number;
      defaulted_reply_length: number;
    }
  | { format: 'server_log'; path: string; requests: number; conversations: number; long_requests: number; client_log: string; client_sends: number; client_dones: number }
  | { format: 'requests_jsonl'; path: string; requests: number; conversations: number };

const SNIFF_BYTES = 4096;

function head(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(SNIFF_BYTES);
    return buffer.toString('utf8', 0, readSync(fd, buffer, 0, SNIFF_BYTES, 0));
  } finally {
    closeSync(fd);
  }
}

/**
 * What a dataset file holds, from its name and first bytes: `.jsonl` is a requests.jsonl, `.log`
 * (or a file that starts with LMCache's on_lookup lines) a server log, anything else a trace CSV.
 * The full read (`summariseDatasets`) then checks that the content is what the name says.
 */
export function detectFormat(path: string): DatasetFormat {
  const extension = extname(path).toLowerCase();
  if (extension === '.jsonl' || basename(path) === 'requests.jsonl') return 'requests_jsonl';
  if (extension === '.log') return 'server_log';
  if (extension === '.csv') return 'trace_csv';
  let start: string;
  try {
    start = head(path);
  } catch {
    return 'trace_csv'; // unreadable: the full read says why
  }
  if (start.includes('[Observability] on_lookup:')) return 'server_log';
  if (start.trimStart().startsWith('{')) return 'requests_jsonl';
  return 'trace_csv';
}

async function summarise(path: string, format: DatasetFormat): Promise<DatasetSummary> {
  switch (format) {
    case 'trace_csv': {
      const s = await scanTrace(path);
      return {
        format,
        path,
        rows: s.rows,
        rows_read: s.rowsRead,
        conversations: s.conversations,
        dropped_missing_query: s.droppedMissingQuery,
        dropped_non_positive_query: s.droppedNonPositiveQuery,
        defaulted_reply_length: s.defaultedReplyLength,
      };
    }
    case 'server_log': {
      const s = await scanServerLog(path);
      return { format, path, requests: s.lookups, conversations: s.conversations, long_requests: s.long_lookups, client_log: s.client_log, client_sends: s.sends, client_dones: s.dones };
    }
    case 'requests_jsonl':
      return { format, ...(await scanRequestsJsonl(path)) };
  }
}

/**
 * Reads every dataset file of the entries once. A file that cannot be used is a problem at the
 * `path` of the first entry naming it; `display` names files as the user knows them.
 */
export async function summariseDatasets(
  file: string,
  entries: readonly NormalisedDataset[],
  display: (absolute: string) => string,
): Promise<{ summaries: DatasetSummary[]; problems: ConfigProblem[] }> {
  const summaries: DatasetSummary[] = [];
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  for (const entry of entries) {
    const { path, format = 'trace_csv' } = entry.dataset;
    if (seen.has(path)) continue;
    seen.add(path);
    try {
      summaries.push(await summarise(path, format));
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      problems.push({ file, path: [...entry.yaml_path, 'path'], message: error.message.replaceAll(path, display(path)) });
    }
  }
  return { summaries, problems };
}

/**
 * A dataset path relative to the sweep file's folder; for the old runner's YAMLs, which named
 * paths from the directory it was started in, the current directory is tried second.
 */
export function resolveDatasetPath(raw: string, baseDir: string, cwd: string): { path: string; format: DatasetFormat } | { problem: string } {
  const candidates = isAbsolute(raw) ? [raw] : [...new Set([resolve(baseDir, raw), resolve(cwd, raw)])];
  for (const candidate of candidates) {
    try {
      const stat = statSync(candidate);
      if (stat.isFile()) return { path: candidate, format: detectFormat(candidate) };
      return { problem: `dataset ${candidate} is not a file` };
    } catch {
      // try the next place
    }
  }
  const folders = [...new Set([baseDir, cwd])].map((dir) => (dir === cwd ? 'the current directory' : displayPath(dir, cwd)));
  const places = isAbsolute(raw) ? '' : ` (looked from ${folders.join(' and from ')})`;
  return { problem: `dataset file not found: ${raw}${places}` };
}

/** How a file is named in messages: relative to the current directory when inside it. */
export function displayPath(absolute: string, cwd: string): string {
  const rel = relative(cwd, absolute);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : absolute;
}
