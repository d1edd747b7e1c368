// The old tool's log pair (an LMCache-fork server log and its client's log; OLD-TOOL.md section 4)
// as a request stream for kvsweep's cache model. A turn is a client `Send` whose (conversation,
// turn) the server looked up: it arrives at the lookup's time with the lookup's whole-context
// `num_tokens` as its prompt, and replies the `Done` line's output_len (the Send line's when no
// Done came). As the old simulator does: the client log's path is the server log's with `server`
// replaced by `client`, lookups over 16,384 tokens are dropped, and a later lookup of the same
// turn replaces an earlier one.
import { UserError } from '../../domain/errors.ts';
import { parseTimestamp } from '../../loadgen/trace-parse.ts';
import { readLines } from './requests-jsonl.ts';
import { buildStream, type RequestStream, type TurnRow } from './stream.ts';

/** The old simulator's limit on a lookup's tokens (common.py TOKEN_LIMIT). */
export const LOOKUP_TOKEN_LIMIT = 16_384;

const TIME = /^\[?(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:[.,]\d+)?)\]?/;
const LOOKUP = /\[Observability\] on_lookup: conv_(\d+)_(\d+), num_tokens=(\d+)/;
const SEND = /Send conv_id: (\d+), turn_id: (\d+), waiting_time: [\d.]+, input_len: (\d+), output_len: (\d+)/;
const DONE = /Done conv_id: (\d+), output_len: (\d+), turn_id: (\d+)/;

/** The client log of a server log, as the old tool finds it. */
export function clientLogPath(serverLog: string): string {
  if (!serverLog.includes('server')) {
    throw new UserError(`server log ${serverLog}: its name must contain 'server' (the client log is found by replacing it with 'client')`);
  }
  return serverLog.replaceAll('server', 'client');
}

function lineTime(line: string, path: string, number: number): number {
  const m = TIME.exec(line);
  const ms = m ? parseTimestamp(m[1]!) : null;
  if (ms === null) throw new UserError(`${path} line ${number}: no timestamp at the start of the line (expected e.g. 2025-05-29 05:00:09,857)`);
  return ms;
}

interface Lookup {
  ms: number;
  tokens: number;
}

export async function readServerLog(serverLog: string, numPrompts: number | null): Promise<RequestStream> {
  const clientLog = clientLogPath(serverLog);
  const lookups = new Map<string, Lookup>();
  const tooLong = new Set<string>();
  let number = 0;
  for await (const line of readLines(serverLog, 'server log')) {
    number++;
    const m = LOOKUP.exec(line);
    if (!m) continue;
    const tokens = Number(m[3]);
    const key = `${m[1]}_${m[2]}`;
    if (tokens > LOOKUP_TOKEN_LIMIT) {
      tooLong.add(key);
      lookups.delete(key);
      continue;
    }
    tooLong.delete(key);
    lookups.set(key, { ms: lineTime(line, serverLog, number), tokens });
  }
  if (lookups.size === 0 && tooLong.size === 0) throw new UserError(`server log ${serverLog} has no '[Observability] on_lookup: conv_C_T, num_tokens=N' line`);

  const sends: Array<{ key: string; conversation: string; turn: number; output: number; order: number }> = [];
  const done = new Map<string, number>();
  number = 0;
  for await (const line of readLines(clientLog, 'client log (the server log\'s path with server -> client)')) {
    number++;
    const send = SEND.exec(line);
    if (send) {
      sends.push({ key: `${send[1]}_${send[2]}`, conversation: send[1]!, turn: Number(send[2]), output: Number(send[4]), order: number });
      continue;
    }
    const d = DONE.exec(line);
    if (d) done.set(`${d[1]}_${d[3]}`, Number(d[2]));
  }
  if (sends.length === 0) throw new UserError(`client log ${clientLog} has no 'Send conv_id: C, turn_id: T, ...' line`);

  const rows: TurnRow[] = [];
  let unmatched = 0;
  for (const s of sends) {
    const lookup = lookups.get(s.key);
    if (!lookup) {
      if (!tooLong.has(s.key)) unmatched++;
      continue;
    }
    const reply = done.get(s.key) ?? s.output;
    rows.push({ conversationId: s.conversation, turn: s.turn, offsetMs: lookup.ms, queryTokens: -1, promptTokens: lookup.tokens, replyTokens: Math.max(1, reply), order: s.order });
  }
  if (rows.length === 0) throw new UserError(`no Send of ${clientLog} matches an on_lookup of ${serverLog}: nothing to replay`);
  const notes: string[] = [];
  if (tooLong.size > 0) notes.push(`${tooLong.size} lookups over ${LOOKUP_TOKEN_LIMIT} tokens dropped (as the old simulator does)`);
  if (unmatched > 0) notes.push(`${unmatched} sends without a lookup in the server log left out (aborted or dropped)`);
  return buildStream('server_log', serverLog, rows, numPrompts, notes);
}
