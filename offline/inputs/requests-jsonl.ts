// An earlier live run's requests.jsonl as a request stream, to re-simulate a real run at other
// cache sizes and policies. Each request the server answered in full (status ok) is replayed with
// the prompt and reply lengths the server counted, at the time the run scheduled it (already at that
// run's request rate: rate 1 replays it as it ran). The others are left out, with a note.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { UserError } from '../../domain/errors.ts';
import { RequestRecord } from '../../loadgen/result-schema.ts';
import { buildStream, type RequestStream, type TurnRow } from './stream.ts';

/** A line-by-line reader of a text file, gunzipped when it ends in .gz. */
export async function* readLines(path: string, what: string): AsyncGenerator<string> {
  try {
    if (!(await stat(path)).isFile()) throw new UserError(`${what} ${path} is not a file`);
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`${what} not found: ${path}`);
  }
  const file = createReadStream(path);
  const lines = createInterface({ input: path.endsWith('.gz') ? file.pipe(createGunzip()) : file, crlfDelay: Infinity });
  try {
    for await (const line of lines) yield line;
  } catch (error) {
    throw new UserError(`${what} ${path}: cannot read it (${(error as Error).message})`);
  } finally {
    lines.close();
    file.destroy();
  }
}

export async function readRequestsJsonl(path: string, numPrompts: number | null): Promise<RequestStream> {
  const rows: TurnRow[] = [];
  const skipped = new Map<string, number>();
  let line = 0;
  for await (const text of readLines(path, 'requests file')) {
    line++;
    if (text.trim() === '') continue;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw new UserError(`${path} line ${line}: not JSON (expected one request record of a kvsweep run per line)`);
    }
    const parsed = RequestRecord.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new UserError(`${path} line ${line}: field '${issue.path.join('.') || '(record)'}': ${issue.message}`);
    }
    const r = parsed.data;
    if (r.status !== 'ok' || r.prompt_tokens === null || r.output_tokens === null) {
      skipped.set(r.status, (skipped.get(r.status) ?? 0) + 1);
      continue;
    }
    rows.push({
      conversationId: r.conversation,
      turn: r.turn,
      offsetMs: r.scheduled_ms,
      queryTokens: -1,
      promptTokens: r.prompt_tokens,
      replyTokens: Math.max(1, r.output_tokens),
      order: r.index,
    });
  }
  if (rows.length === 0) throw new UserError(`${path} holds no request that completed (status ok): nothing to replay`);
  const notes = [...skipped].map(([status, n]) => `${n} requests with status ${status} left out (only completed requests are replayed)`);
  return buildStream('requests_jsonl', path, rows, numPrompts, notes);
}
