// kvsweep's reimplementation of the old simulator's model against the old tool's own figures on
// the same log pair (test/fixtures/old-simulator/reference.json, made by running the old tool):
// token hit ratios within 0.1 points for lru, conversation_aware and oracle; the trace-CSV path
// reads the very events the old converter's logs give; hit ratios never fall as the cache grows.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectFrom } from '../../activities/collect.ts';
import { UserError } from '../../domain/errors.ts';
import { OldCacheModel } from '../../offline/old-simulator/cache-model.ts';
import { runOldSimulatorExperiment } from '../../offline/old-simulator/experiment.ts';
import { readLogPair } from '../../offline/old-simulator/log-pair.ts';
import { LruPolicy, ScoredPolicy } from '../../offline/old-simulator/policies.ts';
import { oracleScorer, ruleScorer } from '../../offline/old-simulator/scorers.ts';
import { convertTrace } from '../../offline/old-simulator/trace-csv.ts';
import { bytesPerToken } from '../../offline/old-simulator/bytes-per-token.ts';
import { loadReference, FIXTURE_DIR, SERVER_LOG } from './old-simulator-reference.ts';

const reference = loadReference();
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kvsweep-old-sim-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('reproduction of the old simulator (lru, conversation_aware, oracle)', () => {
  const cases = reference.experiments.filter((e) => e.policy !== 'lightgbm');
  it.each(cases.map((e) => [`${e.policy} at ${e.cache_size_gb} GB`, e] as const))('%s: token hit ratio within 0.1 points', async (_, e) => {
    const out = join(dir, `${e.policy}-${e.cache_size_gb}`);
    const figures = await runOldSimulatorExperiment(
      { source: { kind: 'log-pair', server_log: SERVER_LOG }, cache_size_gb: e.cache_size_gb, policy: e.policy, bytes_per_token: 147_456 },
      out,
    );
    expect(figures.all.requests).toBe(e.total_requests);
    expect(figures.all.lookup_tokens).toBe(e.lookup_tokens);
    expect(Math.abs(figures.all.token_hit_ratio! - e.token_hit_ratio) * 100).toBeLessThanOrEqual(0.1);
    // result.json is read as a live run's is: the hit ratio lands where the report plots it.
    const collected = await collectFrom(out);
    expect(collected.cache_statistics.external_prefix_cache_hit_rate).toBe(figures.evaluated.token_hit_ratio);
    expect(collected.benchmark_results.mean_ttft_ms).toBeNull();
    expect(collected.benchmark_results.completed).toBe(e.total_requests);
  });
});

describe('inputs', () => {
  it('a trace CSV read through the converter rules gives the events of its converted log pair', () => {
    const fromLogs = readLogPair(SERVER_LOG);
    const fromTrace = convertTrace(join(FIXTURE_DIR, 'trace.csv'), 50);
    expect(fromTrace.events.length).toBe(fromLogs.events.length);
    expect(fromTrace.events).toEqual(fromLogs.events);
  });

  it('drops lookups over 16,384 tokens and the events of their turns', async () => {
    const server = join(dir, 'long', 'server_x.log');
    const lines = [
      '[2025-01-01 00:00:00,000] LMCache INFO: [Observability] on_lookup: conv_1_1, num_tokens=300, hit_tokens=0, accumulated_hit_tokens=0, lookup_id=chatcmpl-a',
      '[2025-01-01 00:00:10,000] LMCache INFO: [Observability] on_lookup: conv_1_2, num_tokens=16385, hit_tokens=0, accumulated_hit_tokens=0, lookup_id=chatcmpl-b',
    ];
    const client = [
      '2025-01-01 00:00:00,000 Send conv_id: 1, turn_id: 1, waiting_time: 0.000, input_len: 300, output_len: 20',
      '2025-01-01 00:00:00,400 Done conv_id: 1, output_len: 20, turn_id: 1',
      '2025-01-01 00:00:10,000 Send conv_id: 1, turn_id: 2, waiting_time: 0.000, input_len: 16385, output_len: 20',
      '2025-01-01 00:00:10,400 Done conv_id: 1, output_len: 20, turn_id: 2',
    ];
    await writeFileIn(server, lines.join('\n') + '\n');
    await writeFileIn(join(dir, 'long', 'client_x.log'), client.join('\n') + '\n');
    const stream = readLogPair(server);
    expect(stream.events.map((e) => `${e.kind} ${e.turn}`)).toEqual(['send 1', 'done 1']);
    expect(stream.source.dropped_long_lookups).toBe(1);
    expect(stream.source.unmatched_events).toBe(2);
  });

  it('says which file is missing or which cell is bad', async () => {
    const lonely = join(dir, 'lonely', 'server_y.log');
    await writeFileIn(lonely, '');
    expect(() => readLogPair(lonely)).toThrow(UserError);
    expect(() => readLogPair(lonely)).toThrow(/its client log .*client_y\.log does not exist/);
    const csv = join(dir, 'bad.csv');
    await writeFile(csv, '@timestamp,ConversationId,CustomerQueryLength,GenerativeModelResponseLength\n2025-01-01 00:00:00.000,1,five,3\n');
    expect(() => convertTrace(csv)).toThrow(/bad\.csv:2: CustomerQueryLength 'five' is not a number/);
    const reordered = join(dir, 'reordered.csv');
    await writeFile(reordered, '@timestamp,CustomerQueryLength,ConversationId,GenerativeModelResponseLength\n');
    expect(() => convertTrace(reordered)).toThrow(/columns are read by position/);
  });

  it('sizes entries with each registry model\'s KV bytes per token', () => {
    expect(bytesPerToken({ name: 'qwen-8b', huggingface_path: 'Qwen/Qwen3-8B-FP8' })).toBe(147_456);
    expect(bytesPerToken({ name: 'llama-8b', huggingface_path: 'meta-llama/Llama-3.1-8B-Instruct' })).toBe(131_072);
    expect(bytesPerToken({ name: 'qwen-32b', huggingface_path: 'Qwen/Qwen3-32B-FP8' })).toBe(262_144);
    expect(bytesPerToken({ name: 'tiny-llama', huggingface_path: 'kvsweep/tiny-llama', kv_bytes_per_token: 1024 })).toBe(1024);
    expect(() => bytesPerToken({ name: 'mine', huggingface_path: 'me/unknown' })).toThrow(/set kv_bytes_per_token/);
  });
});

describe('monotonicity', () => {
  const sizes = [1, 2, 3, 4, 6, 8, 12, 16, 24];
  const policies = ['lru', 'conversation_aware', 'oracle'] as const;
  const ratios = new Map<string, number[]>();
  beforeAll(() => {
    const { events } = readLogPair(SERVER_LOG);
    for (const policy of policies) {
      ratios.set(policy, sizes.map((gb) => {
        const scorer = policy === 'lru' ? undefined : policy === 'oracle' ? oracleScorer(events) : ruleScorer();
        const model = new OldCacheModel({ cacheSizeGb: gb, bytesPerToken: 147_456, policy: scorer ? new ScoredPolicy(scorer) : new LruPolicy(), scorer });
        model.replay(events);
        return model.all.hitTokens / model.all.lookupTokens;
      }));
    }
  });

  it.each(policies)('%s: the token hit ratio never falls as the cache grows', (policy) => {
    const r = ratios.get(policy)!;
    for (let i = 1; i < r.length; i++) expect(r[i]).toBeGreaterThanOrEqual(r[i - 1]!);
    expect(r[0]).toBeLessThan(r[r.length - 1]!);
  });

  it('oracle is never below lru or conversation_aware', () => {
    sizes.forEach((_, i) => {
      expect(ratios.get('oracle')![i]).toBeGreaterThanOrEqual(ratios.get('lru')![i]!);
      expect(ratios.get('oracle')![i]).toBeGreaterThanOrEqual(ratios.get('conversation_aware')![i]!);
    });
  });
});

async function writeFileIn(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}
