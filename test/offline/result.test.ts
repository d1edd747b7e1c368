// What an offline run writes is what a live run's client writes: result.json that kvsweep's result
// schema and the orchestrator's collector read, requests.jsonl whose records add up to the cache
// counters, figures computed as the load generator computes them, and the live client's time limit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectFrom } from '../../activities/collect.ts';
import { aggregate } from '../../loadgen/aggregate.ts';
import { LATENCY_KEYS, LoadgenResult, RequestRecord } from '../../loadgen/result-schema.ts';
import { writeSynthTrace } from '../../loadgen/trace-cli.ts';
import { DEFAULT_SYNTH_OPTIONS } from '../../loadgen/trace-synth.ts';
import { runOfflineExperiment } from '../../offline/run.ts';

let dir: string;
let trace: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kvsweep-offline-result-'));
  trace = join(dir, 'trace.csv');
  await writeSynthTrace(trace, { ...DEFAULT_SYNTH_OPTIONS, conversations: 80, seed: 2, conversationRate: 0.5 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// The GPU tier (16,000 tokens) smaller than the CPU tier (102 chunks of 256) so the CPU tier adds hits.
const base = { model: 'kvsweep/sim-small', max_model_len: 8192, cache_size_gb: 0.05, policy: 'lru' as const, request_rate: 1, engine: { num_gpu_blocks: 1000 } };

async function records(resultDir: string): Promise<RequestRecord[]> {
  const text = await readFile(join(resultDir, 'requests.jsonl'), 'utf8');
  return text.trim().split('\n').map((line) => RequestRecord.parse(JSON.parse(line)));
}

describe('an offline run', () => {
  it('writes a result.json the schema and the collector read, with requests.jsonl adding up to its counters', async () => {
    const out = join(dir, 'plain');
    const run = await runOfflineExperiment({ ...base, input: { kind: 'trace_csv', path: trace } }, out);
    const result = LoadgenResult.parse(JSON.parse(await readFile(run.resultPath, 'utf8')));
    expect(result.completed).toBe(result.num_prompts);
    expect(result.offline).toMatchObject({ policy: 'lru', cache_tier: 'cpu', gpu_blocks: 1000, block_size: 16, chunk_size: 256, cpu_chunks: 102 });
    const c = result.cache_statistics;
    expect(c.prefix_cache_hits).toBeGreaterThan(0);
    expect(c.external_prefix_cache_hits).toBeGreaterThan(0);
    expect(c.lmcache?.deltas.local_cpu_evict_count).toBeGreaterThan(0);

    const rs = await records(out);
    const sum = (pick: (r: RequestRecord) => number | null | undefined) => rs.reduce((a, r) => a + (pick(r) ?? 0), 0);
    expect(sum((r) => r.prompt_tokens)).toBe(c.prefix_cache_queries);
    expect(sum((r) => r.gpu_hit_tokens)).toBe(c.prefix_cache_hits);
    expect(sum((r) => r.cpu_hit_tokens)).toBe(c.external_prefix_cache_hits);
    expect(sum((r) => r.cached_tokens)).toBe(c.prefix_cache_hits! + c.external_prefix_cache_hits!);

    // The load generator's own aggregation of these records gives the same figures (ITL aside:
    // offline, it comes from the engine's steps, not from per-chunk gaps).
    const again = aggregate(rs, {
      date: result.date, baseUrl: result.base_url, model: result.model_id, dataset: result.dataset, arrival: result.arrival,
      requestRate: 1, seed: result.seed, mockDecoding: false, timeLimitS: null, timeLimitReached: false, interrupted: false,
      firstSendMs: 0, lastSendMs: Math.max(...rs.map((r) => r.sent_ms!)), endMs: result.duration * 1000, maxConcurrent: result.max_concurrent_requests,
      calibration: result.prompt_size.calibration, messageSizes: result.prompt_size.messages, reasoning: result.reasoning, cacheStatistics: c, client: result.client, files: result.files,
    });
    for (const key of LATENCY_KEYS.filter((k) => !k.includes('itl'))) expect(result[key], key).toBeCloseTo(again[key]!, 6);
    for (const key of ['completed', 'total_input_tokens', 'total_output_tokens', 'request_throughput', 'output_throughput', 'achieved_request_rate'] as const) {
      expect(result[key], key).toBeCloseTo(again[key] as number, 6);
    }
    expect(result.mean_itl_ms).toBeGreaterThan(0);
    expect(result.p99_itl_ms).toBeGreaterThanOrEqual(result.median_itl_ms!);

    const collected = await collectFrom(out);
    expect(collected.cache_statistics.prefix_cache_hit_rate).toBe(c.prefix_cache_hit_rate);
    expect(collected.cache_statistics.lmcache_num_hit_tokens).toBe(c.external_prefix_cache_hits);
    expect(collected.benchmark_results.completed).toBe(result.completed);
    const metrics = (await readFile(join(out, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { phase: string });
    expect(metrics.map((m) => m.phase)).toEqual(['before', 'after']);
  });

  it('stops sending at the time limit and aborts what still runs after the grace period, as the live client does', async () => {
    // Rate 100: the whole trace is due within a few seconds, faster than the engine can serve it.
    const out = join(dir, 'limit');
    const run = await runOfflineExperiment({ ...base, input: { kind: 'trace_csv', path: trace }, request_rate: 100, time_limit: 1, engine: { num_gpu_blocks: 600, max_num_seqs: 4 } }, out);
    const r = run.result;
    expect(r.time_limit_reached).toBe(true);
    expect(r.not_started).toBeGreaterThan(0);
    expect(r.completed + r.failed + r.aborted + r.not_started).toBe(r.num_prompts);
    const rs = await records(out);
    for (const x of rs.filter((x) => x.status !== 'not_started')) expect(x.sent_ms!, `request ${x.index}`).toBeLessThan(1000);
    for (const x of rs.filter((x) => x.status === 'ok')) expect(x.sent_ms! + x.e2el_ms!, `request ${x.index}`).toBeLessThanOrEqual(6000 + 1e-6);
    expect(r.aborted).toBeGreaterThan(0);
    expect(Object.keys(r.errors)).toEqual(['aborted: still running 5000 ms after the time limit']);
  });

  it('folds replies into prompts with mock decoding, and fails turns longer than max_model_len with HTTP 400', async () => {
    const out = join(dir, 'mock');
    const run = await runOfflineExperiment({ ...base, input: { kind: 'trace_csv', path: trace }, mock_decoding: true, max_model_len: 1024 }, out);
    const rs = await records(out);
    expect(rs.every((x) => x.requested_output_tokens === 1)).toBe(true);
    expect(rs.filter((x) => x.status === 'ok').every((x) => x.output_tokens === 1)).toBe(true);
    const failed = rs.filter((x) => x.status === 'failed');
    expect(failed.length).toBe(run.result.failed);
    expect(failed.length).toBeGreaterThan(0);
    for (const x of failed) {
      expect(x.http_status).toBe(400);
      expect(x.expected_prompt_tokens! + 1).toBeGreaterThan(1024);
    }
  });
});
