// The offline inputs read into one request stream: the old tool's log pair, an earlier run's
// requests.jsonl (plain or gzipped), and a trace CSV; and the errors that name file, line and field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../domain/errors.ts';
import { loadRequestStream } from '../../offline/inputs/index.ts';
import { clientLogPath } from '../../offline/inputs/server-log.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kvsweep-offline-inputs-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const lookup = (time: string, conv: number, turn: number, tokens: number) =>
  `[2025-05-29 ${time}] LMCache INFO: [Observability] on_lookup: conv_${conv}_${turn}, num_tokens=${tokens}, hit_tokens=0, accumulated_hit_tokens=0, lookup_id=chatcmpl-${conv}${turn}`;
const send = (time: string, conv: number, turn: number, input: number, output: number) =>
  `2025-05-29 ${time} Send conv_id: ${conv}, turn_id: ${turn}, waiting_time: 0.000, input_len: ${input}, output_len: ${output}`;
const done = (time: string, conv: number, turn: number, output: number) => `2025-05-29 ${time} Done conv_id: ${conv}, output_len: ${output}, turn_id: ${turn}`;

async function logPair(name: string, server: string[], client: string[] | null): Promise<string> {
  const path = join(dir, `${name}_server.log`);
  await writeFile(path, server.join('\n') + '\n');
  if (client) await writeFile(clientLogPath(path), client.join('\n') + '\n');
  return path;
}

async function failure(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(UserError);
  return (error as Error).message;
}

describe("the old tool's log pair", () => {
  it('makes a turn of each Send the server looked up: its lookup time and tokens, the Done reply length', async () => {
    const path = await logPair('pair', [
      'some unrelated line',
      lookup('05:00:09,857', 1, 1, 1595),
      lookup('05:00:10,100', 2, 1, 20000), // over 16,384 tokens: dropped
      lookup('05:00:12,500', 1, 2, 1800),
      lookup('05:00:13,000', 3, 1, 50),
    ], [
      send('05:00:09,850', 1, 1, 1595, 118),
      send('05:00:10,090', 2, 1, 20000, 10),
      done('05:00:11,037', 1, 1, 117),
      send('05:00:12,490', 1, 2, 1800, 60),
      done('05:00:13,000', 1, 2, 60),
      send('05:00:12,900', 4, 1, 30, 5), // never looked up: left out
      send('05:00:12,990', 3, 1, 50, 7), // no Done: the Send's output_len
    ]);
    const s = await loadRequestStream({ kind: 'server_log', path }, null);
    expect(s.size).toBe(3);
    expect(s.conversationIds).toEqual(['1', '3']);
    expect(Array.from(s.conversation)).toEqual([0, 0, 1]);
    expect(Array.from(s.turn)).toEqual([1, 2, 1]);
    expect(Array.from(s.offsetMs)).toEqual([0, 2643, 3143]);
    expect(Array.from(s.promptTokens)).toEqual([1595, 1800, 50]);
    expect(Array.from(s.replyTokens)).toEqual([117, 60, 7]);
    expect(s.notes).toEqual([
      '1 lookups over 16384 tokens dropped (as the old simulator does)',
      '1 sends without a lookup in the server log left out (aborted or dropped)',
    ]);
  });

  it('names what is missing: the client log, the lookups, a timestamp', async () => {
    const noClient = await logPair('lonely', [lookup('05:00:09,857', 1, 1, 10)], null);
    expect(await failure(loadRequestStream({ kind: 'server_log', path: noClient }, null))).toBe(
      `client log (the server log's path with server -> client) not found: ${clientLogPath(noClient)}`,
    );
    const noLookup = await logPair('empty', ['nothing here'], [send('05:00:09,850', 1, 1, 10, 1)]);
    expect(await failure(loadRequestStream({ kind: 'server_log', path: noLookup }, null))).toMatch(/has no '\[Observability\] on_lookup/);
    const badTime = await logPair('time', ['[yesterday] [Observability] on_lookup: conv_1_1, num_tokens=5, hit_tokens=0'], [send('05:00:09,850', 1, 1, 5, 1)]);
    expect(await failure(loadRequestStream({ kind: 'server_log', path: badTime }, null))).toBe(
      `${badTime} line 1: no timestamp at the start of the line (expected e.g. 2025-05-29 05:00:09,857)`,
    );
    expect(() => clientLogPath('/logs/trace.log')).toThrow(/must contain 'server'/);
  });
});

describe("an earlier run's requests.jsonl", () => {
  const record = (index: number, conversation: string, turn: number, scheduled: number, status: string, prompt: number | null, output: number | null) => ({
    index, conversation, turn, status, scheduled_ms: scheduled, due_ms: scheduled, sent_ms: scheduled, send_error_ms: 0, ttft_ms: 5, itl_ms: [],
    e2el_ms: 50, prompt_tokens: prompt, expected_prompt_tokens: prompt, cached_tokens: 0, output_tokens: output, requested_output_tokens: 10,
    http_status: 200, error: null,
  });

  it('replays the completed requests with the sizes the server counted, gzipped or not', async () => {
    const lines = [
      record(0, 'a', 1, 0, 'ok', 100, 10),
      record(1, 'b', 1, 500, 'failed', null, null),
      record(2, 'a', 2, 1500, 'ok', 130, 10),
      record(3, 'b', 2, 2500, 'not_started', null, null),
    ].map((r) => JSON.stringify(r)).join('\n') + '\n';
    await writeFile(join(dir, 'requests.jsonl'), lines);
    await writeFile(join(dir, 'requests.jsonl.gz'), gzipSync(lines));
    for (const name of ['requests.jsonl', 'requests.jsonl.gz']) {
      const s = await loadRequestStream({ kind: 'requests_jsonl', path: join(dir, name) }, null);
      expect(s.size).toBe(2);
      expect(Array.from(s.promptTokens)).toEqual([100, 130]);
      expect(Array.from(s.replyTokens)).toEqual([10, 10]);
      expect(Array.from(s.offsetMs)).toEqual([0, 1500]);
      expect(s.notes).toEqual([
        '1 requests with status failed left out (only completed requests are replayed)',
        '1 requests with status not_started left out (only completed requests are replayed)',
      ]);
    }
  });

  it('names the line and field of a record that is not one', async () => {
    await writeFile(join(dir, 'broken.jsonl'), `${JSON.stringify(record(0, 'a', 1, 0, 'ok', 100, 10))}\n{"index": 1}\n`);
    expect(await failure(loadRequestStream({ kind: 'requests_jsonl', path: join(dir, 'broken.jsonl') }, null))).toMatch(
      new RegExp(`^${join(dir, 'broken.jsonl')} line 2: field 'conversation': `),
    );
    await writeFile(join(dir, 'text.jsonl'), 'not json\n');
    expect(await failure(loadRequestStream({ kind: 'requests_jsonl', path: join(dir, 'text.jsonl') }, null))).toBe(
      `${join(dir, 'text.jsonl')} line 1: not JSON (expected one request record of a kvsweep run per line)`,
    );
    expect(await failure(loadRequestStream({ kind: 'requests_jsonl', path: join(dir, 'missing.jsonl') }, null))).toBe(`requests file not found: ${join(dir, 'missing.jsonl')}`);
  });
});

describe('a trace CSV', () => {
  it('is read by the load generator\'s rules, num_prompts first by time', async () => {
    const path = join(dir, 'trace.csv');
    await writeFile(path, [
      '@timestamp,ConversationId,CustomerQueryLength,GenerativeModelResponseLength',
      '2025-05-29 05:00:01.000,x,10,',
      '2025-05-29 05:00:00.000,y,20,5',
      '2025-05-29 05:00:02.500,x,0,5',
      '2025-05-29 05:00:03.000,x,7,3',
    ].join('\n'));
    const s = await loadRequestStream({ kind: 'trace_csv', path }, 2);
    expect(s.conversationIds).toEqual(['y', 'x']);
    expect(Array.from(s.queryTokens)).toEqual([20, 10]);
    expect(Array.from(s.replyTokens)).toEqual([5, 128]);
    expect(Array.from(s.promptTokens)).toEqual([-1, -1]);
    expect(s.notes).toEqual(['1 rows with query length <= 0 dropped', '1 rows without a reply length replied 128 tokens', '1 rows beyond num_prompts 2 left out']);
  });
});
