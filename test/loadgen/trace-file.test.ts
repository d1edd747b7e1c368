// The trace file as a whole: every bad-trace case gives a clear error; synth and stats agree.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTrace } from '../../loadgen/trace.ts';
import { computeTraceStats } from '../../loadgen/trace-stats.ts';
import { DEFAULT_SYNTH_OPTIONS, formatTimestamp } from '../../loadgen/trace-synth.ts';
import { writeSynthTrace, main as traceMain } from '../../loadgen/trace-cli.ts';
import { UserError } from '../../domain/errors.ts';

const HEADER = '@timestamp,ConversationId,CustomerQueryLength,GenerativeModelResponseLength';
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kvsweep-trace-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function traceFile(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe('loadTrace errors', () => {
  it.each([
    ['missing file', null, /trace file not found: .*nope\.csv/],
    ['empty file', '', /is empty/],
    ['header only', `${HEADER}\n`, /is empty/],
    ['missing columns', '@timestamp,ConversationId\n2025-01-01 00:00:00,1\n', /missing columns 'CustomerQueryLength', 'GenerativeModelResponseLength'/],
    ['bad timestamp', `${HEADER}\n2025-01-01 00:00:00,1,5,5\n2025-01-01 00:00:01,1,5,5\nnot-a-time,1,5,5\n`, /line 4: bad @timestamp 'not-a-time'/],
    ['all rows dropped', `${HEADER}\n2025-01-01 00:00:00,1,0,5\n2025-01-01 00:00:01,1,-1,5\n`, /no usable rows: all 2 rows have an empty, NaN or <= 0 query length/],
    ['bad length', `${HEADER}\n2025-01-01 00:00:00,1,five,5\n`, /line 2: bad CustomerQueryLength 'five'/],
    ['broken CSV', `${HEADER}\n2025-01-01 00:00:00,"1,5,5\n`, /not a readable CSV/],
    ['too many fields', `${HEADER}\n2025-01-01 00:00:00,1,5,5,x,y\n`, /not a readable CSV/],
  ])('%s', async (name, text, message) => {
    const path = text === null ? join(dir, 'nope.csv') : await traceFile(`${name.replace(/ /g, '-')}.csv`, text);
    const error = await loadTrace(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(message);
  });
});

describe('loadTrace', () => {
  it('applies the old loader rules: sort, defaults, drops, any id, num_prompts', async () => {
    const path = await traceFile(
      'mixed.csv',
      '\ufeff' +
        `${HEADER},ModelName\n` +
        '2025-05-29 05:00:09.000,"conv, with comma",10.0,,m1\n' +
        '2025-05-29 05:00:07.053,7f3c-uuid,27.0,64.0,m1\n' +
        '2025-05-29 05:00:08.000,7f3c-uuid,0,64,m1\n' +
        '2025-05-29 05:00:08.500,7f3c-uuid,12,30,\n',
    );
    const trace = await loadTrace(path);
    expect(trace.turns.map((t) => [t.conversationId, t.turn, t.offsetMs, t.queryTokens, t.replyTokens, t.modelName])).toEqual([
      ['7f3c-uuid', 1, 0, 27, 64, 'm1'],
      ['7f3c-uuid', 2, 1447, 12, 30, null],
      ['conv, with comma', 1, 1947, 10, 128, 'm1'],
    ]);
    expect(trace).toMatchObject({ rowsRead: 4, droppedNonPositiveQuery: 1, defaultedReplyLength: 1, conversations: 2, beyondLimit: 0 });
    const limited = await loadTrace(path, { numPrompts: 2 });
    expect(limited.turns.map((t) => t.offsetMs)).toEqual([0, 1447]);
    expect(limited.beyondLimit).toBe(1);
  });

  it('streams a trace of 200,000 rows', async () => {
    const path = join(dir, 'big.csv');
    const out = createWriteStream(path);
    out.write(`${HEADER}\n`);
    for (let i = 0; i < 200_000; i++) {
      if (!out.write(`${formatTimestamp(Date.UTC(2025, 0, 1) + i * 250)},${i % 5000},${(i % 50) + 1},20\n`)) {
        await once(out, 'drain');
      }
    }
    out.end();
    await once(out, 'finish');
    const trace = await loadTrace(path);
    expect(trace.turns).toHaveLength(200_000);
    expect(trace.conversations).toBe(5000);
    expect(trace.turns.at(-1)!.turn).toBe(40);
  });
});

describe('trace synth and stats', () => {
  it('same seed, same bytes; another seed, another trace', async () => {
    const options = { ...DEFAULT_SYNTH_OPTIONS, conversations: 30, seed: 7 };
    const a = join(dir, 'a.csv');
    const b = join(dir, 'b.csv');
    const c = join(dir, 'c.csv');
    await writeSynthTrace(a, options);
    await writeSynthTrace(b, options);
    await writeSynthTrace(c, { ...options, seed: 8 });
    expect(await readFile(a, 'utf8')).toBe(await readFile(b, 'utf8'));
    expect(await readFile(a, 'utf8')).not.toBe(await readFile(c, 'utf8'));
  });

  it('produces what was asked for, readable by the loader', async () => {
    const path = join(dir, 'shape.csv');
    const options = {
      ...DEFAULT_SYNTH_OPTIONS,
      conversations: 2000,
      seed: 3,
      conversationRate: 4,
      turnsMean: 3,
      queryMedian: 50,
      firstQueryMedian: 50,
      querySigma: 0.5,
      replyMedian: 100,
      replySigma: 0.5,
      thinkTimeMedian: 10,
      thinkTimeSigma: 0.5,
      modelName: 'demo',
    };
    await writeSynthTrace(path, options);
    const stats = computeTraceStats(await loadTrace(path));
    expect(stats.conversations).toBe(2000);
    expect(stats.turns_per_conversation.mean).toBeGreaterThan(2.8);
    expect(stats.turns_per_conversation.mean).toBeLessThan(3.2);
    expect(stats.query_tokens.median).toBeGreaterThan(46);
    expect(stats.query_tokens.median).toBeLessThan(54);
    expect(stats.reply_tokens.median).toBeGreaterThan(93);
    expect(stats.reply_tokens.median).toBeLessThan(107);
    expect(stats.turn_gap_s.median).toBeGreaterThan(9.3);
    expect(stats.turn_gap_s.median).toBeLessThan(10.7);
    // 2000 arrivals at 4/s: about 500 s before the last conversation starts.
    expect(stats.conversation_rate).toBeGreaterThan(3);
    expect(stats.model_names).toEqual({ demo: stats.rows });
    expect(stats.history_token_share).toBeGreaterThan(0.3);
  });

  it('stats --json over the CLI entry prints JSON', async () => {
    const path = join(dir, 'cli.csv');
    expect(await traceMain(['synth', '--out', path, '--conversations', '5', '--seed', '2'])).toBe(0);
    const lines: string[] = [];
    const original = console.log;
    console.log = (text: string) => lines.push(text);
    try {
      expect(await traceMain(['stats', path, '--json'])).toBe(0);
    } finally {
      console.log = original;
    }
    expect(JSON.parse(lines.join('\n'))).toMatchObject({ conversations: 5 });
  });
});
