// A whole-file check of a trace CSV for `kvsweep plan`: every row through the same rules as the
// replay (trace-parse.ts), counting rows, conversations and dropped rows, without keeping the rows.
// Lines are split by hand (a trace is plain numbers and ids); a line with a quote goes through
// csv-parse, so quoted fields read as the replay reads them. Speed: bench/trace-scan.ts.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { parse as parseCsvLine } from 'csv-parse/sync';
import { UserError } from '../domain/errors.ts';
import {
  CONVERSATION_COLUMN,
  MODEL_COLUMN,
  QUERY_COLUMN,
  REPLY_COLUMN,
  TIMESTAMP_COLUMN,
  checkHeader,
  parseFields,
  type RowCounts,
} from './trace-parse.ts';

export interface TraceSummary extends RowCounts {
  path: string;
  /** Rows the replay keeps (before num_prompts). */
  rows: number;
  conversations: number;
  /** Epoch ms of the earliest and latest kept row. */
  firstTimestampMs: number;
  lastTimestampMs: number;
}

/** Fields of one line: split at commas, or read by csv-parse when the line holds a quote. */
function splitLine(text: string, line: number, path: string): string[] {
  if (!text.includes('"')) return text.split(',').map((field) => field.trim());
  try {
    const records = parseCsvLine(text, { trim: true, relax_column_count: true }) as string[][];
    return records[0] ?? [];
  } catch (error) {
    throw new UserError(`trace ${path} line ${line}: not a readable CSV line (${(error as Error).message})`);
  }
}

/**
 * Calls `onLine` for each line of a file read as a stream, with its 1-based number (no line
 * terminator). Lines are handed over synchronously within each chunk: an async step per line
 * would cost more than reading it.
 */
export async function forEachLine(path: string, onLine: (text: string, line: number) => void): Promise<void> {
  let rest = '';
  let number = 0;
  for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const text = rest + (chunk as string);
    let start = 0;
    for (let end = text.indexOf('\n', start); end >= 0; end = text.indexOf('\n', start)) {
      onLine(text.slice(start, text.charCodeAt(end - 1) === 13 ? end - 1 : end), ++number);
      start = end + 1;
    }
    rest = text.slice(start);
  }
  if (rest !== '') onLine(rest.endsWith('\r') ? rest.slice(0, -1) : rest, ++number);
}

/** Throws a UserError (file, line, problem) on anything the replay would refuse. */
export async function scanTrace(path: string): Promise<TraceSummary> {
  await stat(path).catch(() => {
    throw new UserError(`trace file not found: ${path}`);
  });
  const counts: RowCounts = { rowsRead: 0, droppedMissingQuery: 0, droppedNonPositiveQuery: 0, defaultedReplyLength: 0, raisedReplyLength: 0 };
  const conversations = new Set<string>();
  let width = 0;
  let at = { timestamp: 0, conversation: 0, query: 0, reply: 0, model: -1 };
  let rows = 0;
  let first = Infinity;
  let last = -Infinity;
  await forEachLine(path, (raw, line) => {
    const text = line === 1 ? raw.replace(/^\uFEFF/, '') : raw;
    if (text.trim() === '') return;
    const fields = splitLine(text, line, path);
    if (width === 0) {
      checkHeader(fields, path);
      width = fields.length;
      const index = (name: string) => fields.indexOf(name);
      at = { timestamp: index(TIMESTAMP_COLUMN), conversation: index(CONVERSATION_COLUMN), query: index(QUERY_COLUMN), reply: index(REPLY_COLUMN), model: index(MODEL_COLUMN) };
      return;
    }
    if (fields.length > width) throw new UserError(`trace ${path} line ${line}: ${fields.length} fields, but the header names ${width}`);
    // Fewer fields than the header: the missing ones are empty, as pandas reads them.
    const row = parseFields(
      { timestamp: fields[at.timestamp], conversation: fields[at.conversation], query: fields[at.query], reply: fields[at.reply], model: at.model < 0 ? undefined : fields[at.model] },
      line,
      path,
      counts,
    );
    if (row === null) return;
    rows++;
    conversations.add(row.conversationId);
    if (row.timestampMs < first) first = row.timestampMs;
    if (row.timestampMs > last) last = row.timestampMs;
  });
  if (width === 0) throw new UserError(`trace ${path} is empty (no header)`);
  if (counts.rowsRead === 0) throw new UserError(`trace ${path} is empty (a header and no rows)`);
  if (rows === 0) throw new UserError(`trace ${path} has no usable rows: all ${counts.rowsRead} rows have an empty, NaN or <= 0 query length`);
  return { path, rows, conversations: conversations.size, firstTimestampMs: first, lastTimestampMs: last, ...counts };
}

