// The offline simulator's other inputs, checked and counted for `kvsweep plan` (the offline runner
// parses them in full): the old LMCache fork's server log with its client log beside it, and the
// requests.jsonl of an earlier kvsweep run. Lines as OLD-TOOL.md section 4 shows them:
//   [2025-05-29 05:00:09,857] LMCache INFO: [Observability] on_lookup: conv_1_2, num_tokens=1595, ...
//   2025-05-29 05:00:09,857 Send conv_id: 1, turn_id: 2, waiting_time: 0.000, input_len: 1595, output_len: 118
//   2025-05-29 05:00:11,037 Done conv_id: 1, output_len: 118, turn_id: 2
import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../domain/errors.ts';
import { forEachLine } from './trace-scan.ts';

const LOOKUP = /\[Observability\] on_lookup: conv_(\d+)_(\d+), num_tokens=(\d+)/;
const SEND = /\bSend conv_id: (\d+), turn_id: (\d+), waiting_time: [\d.]+, input_len: (\d+), output_len: (\d+)/;
const DONE = /\bDone conv_id: (\d+), output_len: (\d+), turn_id: (\d+)/;
/** The old simulator drops lookups longer than this (its TOKEN_LIMIT). */
export const OLD_SIMULATOR_TOKEN_LIMIT = 16_384;

export interface ServerLogSummary {
  path: string;
  /** on_lookup lines: one per request the server saw. */
  lookups: number;
  /** Of them, longer than 16,384 tokens (the old simulator drops these). */
  long_lookups: number;
  conversations: number;
  client_log: string;
  sends: number;
  dones: number;
}

export interface RequestsJsonlSummary {
  path: string;
  requests: number;
  conversations: number;
}

/**
 * The client log of a server log, as the old simulator finds it: the same folder, the file name
 * with `server` replaced by `client` (it replaced every `server` in the whole path; kvsweep only
 * in the name, so a folder called `server` does not move it). Null when the name has no `server`.
 */
export function clientLogPath(serverLog: string): string | null {
  const name = basename(serverLog);
  return name.includes('server') ? join(dirname(serverLog), name.replaceAll('server', 'client')) : null;
}

async function readable(path: string, what: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new UserError(`${what} not found: ${path}`);
  if (!info.isFile()) throw new UserError(`${what} ${path} is not a file`);
}

/** Counts a server log's lookups and its client log's sends and dones; throws when either is unusable. */
export async function scanServerLog(path: string): Promise<ServerLogSummary> {
  await readable(path, 'server log');
  let lookups = 0;
  let longLookups = 0;
  const conversations = new Set<string>();
  await forEachLine(path, (text) => {
    const m = LOOKUP.exec(text);
    if (!m) return;
    lookups++;
    conversations.add(m[1]!);
    if (Number(m[3]) > OLD_SIMULATOR_TOKEN_LIMIT) longLookups++;
  });
  if (lookups === 0) {
    throw new UserError(`server log ${path} has no '[Observability] on_lookup:' line: not an LMCache server log the offline simulator can replay`);
  }
  const client = clientLogPath(path);
  if (client === null) {
    throw new UserError(`server log ${path}: its client log is found by replacing 'server' with 'client' in the file name, which has no 'server'`);
  }
  await readable(client, `client log of ${basename(path)} (the old simulator pairs the two)`);
  let sends = 0;
  let dones = 0;
  await forEachLine(client, (text) => {
    if (SEND.test(text)) sends++;
    else if (DONE.test(text)) dones++;
  });
  if (sends === 0) throw new UserError(`client log ${client} has no 'Send conv_id:' line: the offline simulator would have no request to replay`);
  return { path, lookups, long_lookups: longLookups, conversations: conversations.size, client_log: client, sends, dones };
}

/** Counts the requests of a kvsweep requests.jsonl; throws with the line at the first that is not one. */
export async function scanRequestsJsonl(path: string): Promise<RequestsJsonlSummary> {
  await readable(path, 'requests.jsonl');
  let requests = 0;
  const conversations = new Set<string>();
  await forEachLine(path, (text, line) => {
    if (text.trim() === '') return;
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch {
      throw new UserError(`requests.jsonl ${path} line ${line}: not JSON`);
    }
    const { conversation, turn } = (typeof record === 'object' && record !== null ? record : {}) as { conversation?: unknown; turn?: unknown };
    if ((typeof conversation !== 'string' && typeof conversation !== 'number') || !Number.isInteger(turn)) {
      throw new UserError(`requests.jsonl ${path} line ${line}: not a kvsweep request record (it needs 'conversation' and 'turn')`);
    }
    requests++;
    conversations.add(String(conversation));
  });
  if (requests === 0) throw new UserError(`requests.jsonl ${path} holds no request`);
  return { path, requests, conversations: conversations.size };
}
