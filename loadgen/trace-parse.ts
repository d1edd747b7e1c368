// Pure parsing rules of the conversational trace CSV (REFERENCE.md section 2), kept apart from the
// file streaming so each rule is table-testable: timestamps, lengths, header, and the assembly of
// rows into replay order (sorted by time, limited to num_prompts, turns numbered per conversation).
import { UserError } from '../domain/errors.ts';

export const TIMESTAMP_COLUMN = '@timestamp';
export const CONVERSATION_COLUMN = 'ConversationId';
export const QUERY_COLUMN = 'CustomerQueryLength';
export const REPLY_COLUMN = 'GenerativeModelResponseLength';
export const MODEL_COLUMN = 'ModelName';
export const REQUIRED_COLUMNS = [TIMESTAMP_COLUMN, CONVERSATION_COLUMN, QUERY_COLUMN, REPLY_COLUMN] as const;
/** What the old loader used when a row has no reply length. */
export const DEFAULT_REPLY_TOKENS = 128;

/** One turn of a conversation, in replay order. */
export interface TraceTurn {
  /** Position in replay order, 0-based. */
  index: number;
  /** Milliseconds after the earliest kept timestamp, at full precision. */
  offsetMs: number;
  conversationId: string;
  /** 1-based, in time order within its conversation. */
  turn: number;
  /** Tokens of this turn's new user message only. */
  queryTokens: number;
  /** Tokens of the model's reply. */
  replyTokens: number;
  modelName: string | null;
  /** Line of the CSV file the row came from, for messages. */
  line: number;
}

/** A row that passed validation, before sorting. */
export interface TraceRow {
  timestampMs: number;
  conversationId: string;
  queryTokens: number;
  replyTokens: number;
  modelName: string | null;
  line: number;
}

export interface RowCounts {
  rowsRead: number;
  /** Rows whose query length is empty or NaN: dropped, as the old loader did (it read them as 0). */
  droppedMissingQuery: number;
  droppedNonPositiveQuery: number;
  defaultedReplyLength: number;
  raisedReplyLength: number;
}

// The forms pandas.to_datetime reads in these traces: a date with `-` or `/`, then optionally a
// time (` ` or `T`; seconds and fractions optional) and a zone (`Z`, `UTC`, `+hh`, `+hhmm`, `+hh:mm`).
const TIMESTAMP_PATTERN =
  /^(\d{4})([-/])(\d{1,2})\2(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$/i;
const NUMBER_PATTERN = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
/** What pandas.read_csv reads as a missing value by default (its na_values). */
const MISSING_VALUES = new Set([
  '', '#n/a', '#n/a n/a', '#na', '-1.#ind', '-1.#qnan', '-nan', '1.#ind', '1.#qnan', '<na>', 'n/a', 'na', 'null', 'nan', 'none',
]);

/**
 * Milliseconds since the epoch, sub-millisecond digits kept. Accepts `2025-05-29 05:00:07.053`
 * and the other forms pandas reads for these traces (ISO `T`, `2025/05/29`, no seconds, a date
 * alone, a `Z`/`UTC`/`+hh:mm` zone; no zone means UTC), or a plain number of seconds. Returns null
 * when the text is not a valid time.
 */
export function parseTimestamp(text: string): number | null {
  const value = text.trim();
  const fast = parsePlainTimestamp(value);
  if (fast !== undefined) return fast;
  if (NUMBER_PATTERN.test(value)) return Number(value) * 1000;
  const m = TIMESTAMP_PATTERN.exec(value);
  if (!m) return null;
  const [, y, , mo, d, h = '0', mi = '0', s = '0', fraction, zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const base = Date.UTC(year, month - 1, day, Number(h), Number(mi), Number(s));
  const check = new Date(base);
  if (
    check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day ||
    Number(h) > 23 || Number(mi) > 59 || Number(s) > 59
  ) {
    return null;
  }
  const fractionMs = fraction ? Number(`0.${fraction}`) * 1000 : 0;
  return base + fractionMs - zoneOffsetMs(zone);
}

/** The day of the last plain timestamp read, and its epoch ms (rows of a trace share few days). */
let lastDay = '';
let lastDayMs = 0;

function digitsAt(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * The traces' own form, `2025-05-29 05:00:07.053` (or with `T`), read without the regular
 * expression: `plan` reads every row of traces of a million rows. Undefined when the text has
 * another form (then the general rules apply), null when it has this form but is no valid time.
 */
function parsePlainTimestamp(value: string): number | null | undefined {
  if (value.length < 19 || value.charCodeAt(4) !== 45 || value.charCodeAt(7) !== 45 || value.charCodeAt(13) !== 58 || value.charCodeAt(16) !== 58) return undefined;
  const separator = value.charCodeAt(10);
  if (separator !== 32 && separator !== 84) return undefined;
  let fractionMs = 0;
  if (value.length > 19) {
    if (value.charCodeAt(19) !== 46 || value.length === 20 || value.length > 29) return undefined;
    const fraction = digitsAt(value, 20, value.length);
    if (fraction < 0) return undefined;
    fractionMs = (fraction / 10 ** (value.length - 20)) * 1000;
  }
  const h = digitsAt(value, 11, 13);
  const mi = digitsAt(value, 14, 16);
  const sec = digitsAt(value, 17, 19);
  if (h < 0 || mi < 0 || sec < 0) return undefined;
  if (h > 23 || mi > 59 || sec > 59) return null;
  const day = value.slice(0, 10);
  if (day !== lastDay) {
    const year = digitsAt(value, 0, 4);
    const month = digitsAt(value, 5, 7);
    const date = digitsAt(value, 8, 10);
    if (year < 0 || month < 0 || date < 0) return undefined;
    const ms = Date.UTC(year, month - 1, date);
    const check = new Date(ms);
    if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== date) return null;
    lastDay = day;
    lastDayMs = ms;
  }
  return lastDayMs + ((h * 60 + mi) * 60 + sec) * 1000 + fractionMs;
}

function zoneOffsetMs(zone: string | undefined): number {
  if (!zone || !/^[+-]/.test(zone)) return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
  return sign * (hours * 60 + minutes) * 60_000;
}

/** A token count written as an integer or a float (`27.0`); null when missing (empty, NaN, NA, ...). */
export function parseLength(text: string | undefined): number | null | 'invalid' {
  const value = (text ?? '').trim();
  if (NUMBER_PATTERN.test(value)) return Math.round(Number(value));
  return MISSING_VALUES.has(value.toLowerCase()) ? null : 'invalid';
}

/** Throws a UserError naming every required column the header lacks. */
export function checkHeader(columns: readonly string[], path: string): void {
  const missing = REQUIRED_COLUMNS.filter((c) => !columns.includes(c));
  if (missing.length > 0) {
    throw new UserError(
      `trace ${path}: missing column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `'${c}'`).join(', ')} ` +
        `(header has: ${columns.map((c) => `'${c}'`).join(', ')}; expected ${REQUIRED_COLUMNS.join(',')}[,${MODEL_COLUMN}])`,
    );
  }
}

/** The text of one row's columns, by meaning. */
export interface RowFields {
  timestamp: string | undefined;
  conversation: string | undefined;
  query: string | undefined;
  reply: string | undefined;
  model: string | undefined;
}

/**
 * Validates one CSV record (columns by name) and updates the counts. Returns the row, or null
 * when the old loader's rules drop it (query length empty, NaN or <= 0). Throws a UserError with
 * the line on values that cannot be read.
 */
export function parseRow(record: Record<string, string | undefined>, line: number, path: string, counts: RowCounts): TraceRow | null {
  const fields = {
    timestamp: record[TIMESTAMP_COLUMN],
    conversation: record[CONVERSATION_COLUMN],
    query: record[QUERY_COLUMN],
    reply: record[REPLY_COLUMN],
    model: record[MODEL_COLUMN],
  };
  return parseFields(fields, line, path, counts);
}

/** parseRow on the columns' text. */
export function parseFields(fields: RowFields, line: number, path: string, counts: RowCounts): TraceRow | null {
  counts.rowsRead++;
  const where = `trace ${path} line ${line}`;
  const timestampText = fields.timestamp ?? '';
  const timestampMs = parseTimestamp(timestampText);
  if (timestampMs === null) {
    throw new UserError(`${where}: bad ${TIMESTAMP_COLUMN} '${truncate(timestampText)}' (expected e.g. 2025-05-29 05:00:07.053)`);
  }
  const conversationId = (fields.conversation ?? '').trim();
  if (conversationId === '') throw new UserError(`${where}: empty ${CONVERSATION_COLUMN}`);
  const query = parseLength(fields.query);
  if (query === 'invalid') {
    throw new UserError(`${where}: bad ${QUERY_COLUMN} '${truncate(fields.query ?? '')}' (expected a number of tokens)`);
  }
  if (query === null) {
    counts.droppedMissingQuery++;
    return null;
  }
  if (query <= 0) {
    counts.droppedNonPositiveQuery++;
    return null;
  }
  let reply = parseLength(fields.reply);
  if (reply === 'invalid') {
    throw new UserError(`${where}: bad ${REPLY_COLUMN} '${truncate(fields.reply ?? '')}' (expected a number of tokens)`);
  }
  if (reply === null) {
    counts.defaultedReplyLength++;
    reply = DEFAULT_REPLY_TOKENS;
  } else if (reply < 1) {
    // A server cannot be asked for zero tokens; one is the closest honest request.
    counts.raisedReplyLength++;
    reply = 1;
  }
  const model = (fields.model ?? '').trim();
  return { timestampMs, conversationId, queryTokens: query, replyTokens: reply, modelName: model === '' ? null : model, line };
}

/** Sorts rows by time (file order breaks ties), keeps the first `limit`, numbers turns. */
export function assembleTurns(rows: TraceRow[], limit: number | null): TraceTurn[] {
  rows.sort((a, b) => a.timestampMs - b.timestampMs || a.line - b.line);
  const kept = limit === null ? rows : rows.slice(0, limit);
  const first = kept[0]?.timestampMs ?? 0;
  const turnsSoFar = new Map<string, number>();
  return kept.map((row, index) => {
    const turn = (turnsSoFar.get(row.conversationId) ?? 0) + 1;
    turnsSoFar.set(row.conversationId, turn);
    return {
      index,
      offsetMs: row.timestampMs - first,
      conversationId: row.conversationId,
      turn,
      queryTokens: row.queryTokens,
      replyTokens: row.replyTokens,
      modelName: row.modelName,
      line: row.line,
    };
  });
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
