// Loads a conversational trace CSV by streaming it through csv-parse: a trace of a million rows is
// read record by record, never held as one string. Validation rules live in trace-parse.ts.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { parse, CsvError } from 'csv-parse';
import { UserError } from '../domain/errors.ts';
import { assembleTurns, checkHeader, parseRow, type RowCounts, type TraceRow, type TraceTurn } from './trace-parse.ts';

export interface Trace extends RowCounts {
  path: string;
  /** In replay order. */
  turns: TraceTurn[];
  conversations: number;
  /** Epoch milliseconds of the earliest kept row. */
  firstTimestampMs: number;
  /** Rows left out because of num_prompts. */
  beyondLimit: number;
}

export interface LoadTraceOptions {
  /** Keep at most this many rows (after sorting by time). */
  numPrompts?: number | null;
}

/** Reads, validates and orders a trace; throws UserError on anything that makes it unusable. */
export async function loadTrace(path: string, options: LoadTraceOptions = {}): Promise<Trace> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new UserError(`trace ${path} is not a file`);
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`trace file not found: ${path}`);
  }
  const counts: RowCounts = { rowsRead: 0, droppedMissingQuery: 0, droppedNonPositiveQuery: 0, defaultedReplyLength: 0, raisedReplyLength: 0 };
  const rows: TraceRow[] = [];
  // One string per conversation id, however many rows repeat it.
  const conversationIds = new Map<string, string>();
  const parser = createReadStream(path).pipe(
    parse({
      bom: true,
      trim: true,
      skip_empty_lines: true,
      // A row with fewer fields than the header has the rest empty, as pandas reads it.
      relax_column_count_less: true,
      info: true,
      columns: (header: string[]) => {
        const names = header.map((name) => name.trim());
        checkHeader(names, path);
        return names;
      },
    }),
  );
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      const row = parseRow(record, info.lines, path, counts);
      if (row === null) continue;
      const id = conversationIds.get(row.conversationId);
      if (id === undefined) conversationIds.set(row.conversationId, row.conversationId);
      else row.conversationId = id;
      rows.push(row);
    }
  } catch (error) {
    if (error instanceof UserError) throw error;
    if (error instanceof CsvError) throw new UserError(`trace ${path}: not a readable CSV: ${error.message}`);
    throw error;
  } finally {
    parser.destroy();
  }
  if (counts.rowsRead === 0) throw new UserError(`trace ${path} is empty (a header and no rows)`);
  if (rows.length === 0) {
    throw new UserError(
      `trace ${path} has no usable rows: all ${counts.rowsRead} rows have an empty, NaN or <= 0 query length`,
    );
  }
  const limit = options.numPrompts ?? null;
  const turns = assembleTurns(rows, limit);
  const firstTimestampMs = rows[0]!.timestampMs;
  return {
    path,
    turns,
    conversations: new Set(turns.map((t) => t.conversationId)).size,
    firstTimestampMs,
    beyondLimit: rows.length - turns.length,
    ...counts,
  };
}
