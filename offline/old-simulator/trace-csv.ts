// A trace CSV turned into the old simulator's events as the old tool's converter would turn it
// into a log pair and its simulator read that pair back: columns by position (timestamp,
// conversation, query tokens, reply tokens), rows in file order numbered into turns per
// conversation, a turn's prompt = all earlier queries and replies + its query, done = send + reply
// / decode speed, times cut to milliseconds as the logs write them. Rows with a query over 16,384
// tokens are skipped before turns are numbered; an empty query counts 50 tokens, an empty reply 128.
import { parse } from 'csv-parse/sync';
import { UserError } from '../../domain/errors.ts';
import type { ConversationEvent } from '../lightgbm/training-set.ts';
import { forEachLine } from './lines.ts';
import { sortByTime, TOKEN_LIMIT, type OldEventStream } from './log-pair.ts';
import { loggedSeconds, parseTraceMicros, timedeltaMicros } from './timestamps.ts';

/** The old converter's default decode speed (tokens per second). */
export const DEFAULT_DECODE_TOKENS_PER_SECOND = 50;
const EMPTY_QUERY_TOKENS = 50;
const EMPTY_REPLY_TOKENS = 128;
const HEADER = ['@timestamp', 'ConversationId', 'CustomerQueryLength', 'GenerativeModelResponseLength'];

interface Conversation {
  id: number;
  turns: number;
  tokens: number;
}

function cells(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  return (parse(line, { relax_column_count: true }) as string[][])[0] ?? [];
}

/** int(float(text)) of the old converter, or the default for an empty cell. */
function tokensOf(text: string | undefined, fallback: number, where: string, column: string): number {
  if (text === undefined) throw new UserError(`${where}: no ${column} column`);
  if (text === '') return fallback;
  const value = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(value)) throw new UserError(`${where}: ${column} '${text}' is not a number`);
  return Math.trunc(value);
}

export function convertTrace(path: string, decodeTokensPerSecond = DEFAULT_DECODE_TOKENS_PER_SECOND): OldEventStream {
  if (!(decodeTokensPerSecond > 0)) throw new UserError(`decode speed must be a positive number of tokens per second, not ${decodeTokensPerSecond}`);
  const conversations = new Map<string, Conversation>();
  // Events in row order and their times in microseconds, side by side (no wrapper per event).
  const events: ConversationEvent[] = [];
  const micros: number[] = [];
  let dropped = 0;
  let unmatched = 0;
  forEachLine(path, 'trace CSV', (line, lineNumber) => {
    if (line === '') return;
    const row = cells(line);
    const where = `${path}:${lineNumber}`;
    if (row[0] === '@timestamp' || (lineNumber === 1 && line.startsWith('@'))) {
      const names = row.slice(0, 4).map((c) => c.trim());
      if (names.join() !== HEADER.join()) throw new UserError(`${where}: the header must start with ${HEADER.join(',')} (columns are read by position), not ${names.join(',')}`);
      return;
    }
    const query = tokensOf(row[2], EMPTY_QUERY_TOKENS, where, 'CustomerQueryLength');
    if (query > TOKEN_LIMIT) {
      dropped++; // the converter skips the row: no log lines, no turn number
      return;
    }
    const reply = tokensOf(row[3], EMPTY_REPLY_TOKENS, where, 'GenerativeModelResponseLength');
    const send = parseTraceMicros(row[0] ?? '');
    if (send === undefined) throw new UserError(`${where}: @timestamp '${row[0] ?? ''}' is not YYYY-MM-DD HH:MM:SS[.ffffff]`);
    const key = row[1] ?? '';
    let c = conversations.get(key);
    if (!c) {
      c = { id: conversations.size + 1, turns: 0, tokens: 0 };
      conversations.set(key, c);
    }
    c.turns++;
    const input = c.tokens + query;
    c.tokens += query + reply;
    if (input > TOKEN_LIMIT) {
      dropped++;
      unmatched += 2;
      return;
    }
    const done = send + timedeltaMicros(reply / decodeTokensPerSecond);
    events.push({ kind: 'send', conversation: c.id, turn: c.turns, time: loggedSeconds(send), tokens: input });
    events.push({ kind: 'done', conversation: c.id, turn: c.turns, time: loggedSeconds(done), tokens: reply });
    micros.push(send, done);
  });
  if (events.length === 0) throw new UserError(`${path}: no rows`);
  // The converter sorts the client log at microseconds (stable); the reader sorts again at milliseconds.
  const order = Uint32Array.from(events, (_, i) => i).sort((a, b) => micros[a]! - micros[b]! || a - b);
  return {
    events: sortByTime(Array.from(order, (i) => events[i]!)),
    source: { kind: 'trace-csv', files: [path], unmatched_events: unmatched, dropped_long_lookups: dropped, unparsed_timestamps: 0 },
  };
}
