// The old tool's input: an LMCache-fork server log (`on_lookup` lines) and the client log beside
// it (`Send`/`Done` lines; its path is the server log's with every `server` replaced by `client`).
// Events follow the client log's order; a send takes the prompt size and time of the server's
// lookup, a done the reply size and time of the client line; turns the server never looked up
// (lookups over 16,384 tokens are dropped) are left out; then all are sorted by time (stable).
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../../domain/errors.ts';
import type { ConversationEvent } from '../lightgbm/training-set.ts';
import { forEachLine } from './lines.ts';
import { logLineSeconds } from './timestamps.ts';

/** Lookups longer than this many tokens are dropped, as the old simulator does. */
export const TOKEN_LIMIT = 16_384;

const LOOKUP = /\[Observability\] on_lookup: conv_(\d+)_(\d+), num_tokens=(\d+), hit_tokens=(\d+), accumulated_hit_tokens=(\d+), lookup_id=([a-zA-Z0-9-]+)/;
const SEND = /Send conv_id: (\d+), turn_id: (\d+), waiting_time: ([\d.]+), input_len: (\d+), output_len: (\d+)/;
const DONE = /Done conv_id: (\d+), output_len: (\d+), turn_id: (\d+)/;

export interface OldEventStream {
  events: ConversationEvent[];
  /** What was read and what was left out, for the result and the user. */
  source: {
    kind: 'log-pair' | 'trace-csv';
    files: string[];
    /** Client events without a server lookup (over the token limit, or never looked up). */
    unmatched_events: number;
    /** Lookups dropped for exceeding TOKEN_LIMIT tokens. */
    dropped_long_lookups: number;
    /** Lines whose timestamp did not parse (their time counts as 0, as in the old tool). */
    unparsed_timestamps: number;
  };
}

/**
 * The client log beside a server log: every `server` of the path replaced by `client`, as the old
 * tool does; when that file does not exist, the replacement in the file name only (a folder named
 * `...server...` above the logs would otherwise send the old rule elsewhere).
 */
export function clientLogPath(serverLog: string): string {
  const whole = serverLog.replaceAll('server', 'client');
  if (existsSync(whole)) return whole;
  const local = join(dirname(serverLog), basename(serverLog).replaceAll('server', 'client'));
  return existsSync(local) ? local : whole;
}

/** Sorts by time keeping equal times in their order (Array.prototype.sort is stable). */
export function sortByTime(events: ConversationEvent[]): ConversationEvent[] {
  return events.sort((a, b) => a.time - b.time);
}

interface Lookup {
  tokens: number;
  time: number;
}

export function readLogPair(serverLog: string): OldEventStream {
  const clientLog = clientLogPath(serverLog);
  if (clientLog === serverLog) {
    throw new UserError(`${serverLog}: the server log's path must contain 'server' (the client log is found by replacing it with 'client')`);
  }
  if (!existsSync(clientLog)) throw new UserError(`${serverLog}: its client log ${clientLog} does not exist`);
  let unparsed = 0;
  let dropped = 0;
  const lookups = new Map<string, Lookup>();
  forEachLine(serverLog, 'server log', (line) => {
    const m = LOOKUP.exec(line);
    if (!m) return;
    const tokens = Number(m[3]);
    if (tokens > TOKEN_LIMIT) {
      dropped++;
      return;
    }
    const time = logLineSeconds(line);
    if (time === 0) unparsed++;
    lookups.set(`${Number(m[1])}_${Number(m[2])}`, { tokens, time });
  });
  const events: ConversationEvent[] = [];
  let unmatched = 0;
  forEachLine(clientLog, 'client log', (line) => {
    const send = SEND.exec(line);
    const done = send ? null : DONE.exec(line);
    if (!send && !done) return;
    const conversation = Number(send ? send[1] : done![1]);
    const turn = Number(send ? send[2] : done![3]);
    const lookup = lookups.get(`${conversation}_${turn}`);
    if (!lookup) {
      unmatched++;
      return;
    }
    if (send) {
      events.push({ kind: 'send', conversation, turn, time: lookup.time, tokens: lookup.tokens });
    } else {
      const time = logLineSeconds(line);
      if (time === 0) unparsed++;
      events.push({ kind: 'done', conversation, turn, time, tokens: Number(done![2]) });
    }
  });
  if (events.length === 0) {
    throw new UserError(`${serverLog}: no events (no 'on_lookup' line of the server log matches a 'Send'/'Done' line of ${clientLog})`);
  }
  return {
    events: sortByTime(events),
    source: { kind: 'log-pair', files: [serverLog, clientLog], unmatched_events: unmatched, dropped_long_lookups: dropped, unparsed_timestamps: unparsed },
  };
}
