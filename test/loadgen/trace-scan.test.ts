// The plan-time reads of dataset files: scanTrace must accept and refuse exactly what the replay's
// loadTrace does, with the same counts; the server-log and requests.jsonl counters find what the
// offline simulator would replay.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../domain/errors.ts';
import { loadTrace } from '../../loadgen/trace.ts';
import { clientLogPath, scanRequestsJsonl, scanServerLog } from '../../loadgen/trace-logs.ts';
import { scanTrace } from '../../loadgen/trace-scan.ts';

const HEADER = '@timestamp,ConversationId,CustomerQueryLength,GenerativeModelResponseLength';
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kvsweep-scan-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe('scanTrace agrees with loadTrace', () => {
  const good: Array<[string, string]> = [
    ['plain', `${HEADER}\n2025-05-29 05:00:07.053,1,27.0,64\n2025-05-29 05:00:08,2,12,\n`],
    ['BOM, CRLF, ModelName, quoted ids with commas', `\ufeff${HEADER},ModelName\r\n2025-05-29T05:00:09Z,"conv, with comma",10,5,m1\r\n2025-05-29T05:00:10Z,"conv, with comma",3,5,\r\n`],
    ['drops: empty, NaN, NA, zero and negative query lengths', `${HEADER}\n2025-05-29 05:00:07,a,,5\n2025-05-29 05:00:08,a,NaN,5\n2025-05-29 05:00:09,b,NA,5\n2025-05-29 05:00:10,b,0,5\n2025-05-29 05:00:11,c,-2,5\n2025-05-29 05:00:12,c,4,5\n`],
    ['fewer fields than the header (pandas reads them as empty)', `${HEADER}\n2025-05-29 05:00:07,a,9\n2025-05-29 05:00:08,b,4,2\n`],
    ['pandas timestamp forms and blank lines', `${HEADER}\n\n2025/05/29 05:00,a,9,1\n2025-05-29T05:00:01.5+00:00,a,4,2\n2025-05-29 05:00:02 UTC,b,4,2\n`],
  ];
  it.each(good)('%s', async (name, text) => {
    const path = await file(`${name.replace(/\W+/g, '-')}.csv`, text);
    const [scanned, loaded] = await Promise.all([scanTrace(path), loadTrace(path)]);
    expect(scanned).toMatchObject({
      rows: loaded.turns.length,
      conversations: loaded.conversations,
      rowsRead: loaded.rowsRead,
      droppedMissingQuery: loaded.droppedMissingQuery,
      droppedNonPositiveQuery: loaded.droppedNonPositiveQuery,
      defaultedReplyLength: loaded.defaultedReplyLength,
      raisedReplyLength: loaded.raisedReplyLength,
      firstTimestampMs: loaded.firstTimestampMs,
    });
  });

  it('counts the drops of an old-style trace', async () => {
    const path = await file('drops.csv', good[2]![1]);
    expect(await scanTrace(path)).toMatchObject({ rows: 1, rowsRead: 6, conversations: 1, droppedMissingQuery: 3, droppedNonPositiveQuery: 2 });
  });

  const bad: Array<[string, string, RegExp]> = [
    ['bad timestamp', `${HEADER}\n2025-05-29 05:00:07,a,5,5\nlater,a,5,5\n`, /line 3: bad @timestamp 'later'/],
    ['bad length', `${HEADER}\n2025-05-29 05:00:07,a,five,5\n`, /line 2: bad CustomerQueryLength 'five'/],
    ['missing column', '@timestamp,ConversationId\n2025-05-29 05:00:07,a\n', /missing columns 'CustomerQueryLength', 'GenerativeModelResponseLength'/],
    ['header only', `${HEADER}\n`, /is empty/],
    ['all dropped', `${HEADER}\n2025-05-29 05:00:07,a,0,5\n`, /no usable rows/],
  ];
  it.each(bad)('refuses a trace with a %s, as loadTrace does', async (name, text, message) => {
    const path = await file(`${name.replace(/\W+/g, '-')}.csv`, text);
    for (const read of [scanTrace, loadTrace]) {
      const error = await read(path).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UserError);
      expect((error as Error).message).toMatch(message);
    }
  });
});

describe('server logs', () => {
  const lookup = (conv: number, turn: number, tokens: number) =>
    `[2025-05-29 05:00:09,857] LMCache INFO: [Observability] on_lookup: conv_${conv}_${turn}, num_tokens=${tokens}, hit_tokens=0, accumulated_hit_tokens=0, lookup_id=chatcmpl-${conv}${turn}`;

  it('finds the client log by the file name, not by a folder called server', () => {
    expect(clientLogPath('/data/server/logs/server_alibaba.log')).toBe('/data/server/logs/client_alibaba.log');
    expect(clientLogPath('/data/logs/trace.log')).toBeNull();
  });

  it('counts lookups (and those the old simulator drops), sends and dones; other lines are ignored', async () => {
    const server = await file('server_a.log', ['INFO vLLM starting', lookup(1, 1, 100), 'WARNING something', lookup(2, 1, 20000), lookup(1, 2, 300), ''].join('\n'));
    await file('client_a.log', [
      '2025-05-29 05:00:09,857 Send conv_id: 1, turn_id: 1, waiting_time: 0.000, input_len: 100, output_len: 10',
      '2025-05-29 05:00:10,857 Done conv_id: 1, output_len: 10, turn_id: 1',
      '2025-05-29 05:00:11,000 Send conv_id: 2, turn_id: 1, waiting_time: 0.120, input_len: 20000, output_len: 4',
    ].join('\n'));
    expect(await scanServerLog(server)).toEqual({ path: server, lookups: 3, long_lookups: 1, conversations: 2, client_log: join(dir, 'client_a.log'), sends: 2, dones: 1 });
  });

  it('refuses a client log with no send', async () => {
    const server = await file('server_b.log', lookup(1, 1, 5));
    await file('client_b.log', 'nothing here\n');
    await expect(scanServerLog(server)).rejects.toThrow(/client_b\.log has no 'Send conv_id:' line/);
  });
});

describe('requests.jsonl', () => {
  it('counts requests and conversations', async () => {
    const path = await file('ok.jsonl', '{"conversation":"a","turn":1}\n\n{"conversation":7,"turn":1}\n{"conversation":"a","turn":2}\n');
    expect(await scanRequestsJsonl(path)).toEqual({ path, requests: 3, conversations: 2 });
  });
  it.each([
    ['not JSON', '{"conversation":"a","turn":1}\n{oops\n', /line 2: not JSON/],
    ['no turn', '{"conversation":"a"}\n', /line 1: not a kvsweep request record/],
    ['empty', '\n', /holds no request/],
  ])('refuses %s', async (name, text, message) => {
    const path = await file(`${name.replace(/\W+/g, '-')}.jsonl`, text);
    await expect(scanRequestsJsonl(path)).rejects.toThrow(message);
  });
});
