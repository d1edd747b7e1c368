// Server-metric deltas against the simulator's own counters, and the CLI contract the
// orchestrator relies on (--progress jsonl, exit codes, files).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runLoadgen } from '../../loadgen/run.ts';
import { LoadgenResult } from '../../loadgen/result-schema.ts';
import { DEFAULT_SYNTH_OPTIONS } from '../../loadgen/trace-synth.ts';
import { writeSynthTrace } from '../../loadgen/trace-cli.ts';
import { SIM_MODEL, scrapeCounters, startSim, type SimProcess } from './sim-process.ts';

const ENTRY = fileURLToPath(new URL('../../bin/kvsweep.js', import.meta.url));
const COUNTERS = [
  'vllm:prefix_cache_queries',
  'vllm:prefix_cache_hits',
  'vllm:external_prefix_cache_queries',
  'vllm:external_prefix_cache_hits',
  'vllm:num_preemptions',
];
let dir: string;
let dataset: string;
const sims: SimProcess[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kvsweep-metrics-'));
  dataset = join(dir, 'chat.csv');
  await writeSynthTrace(dataset, {
    ...DEFAULT_SYNTH_OPTIONS,
    conversations: 40,
    seed: 5,
    conversationRate: 20,
    turnsMean: 3,
    maxTurns: 5,
    firstQueryMedian: 120,
    queryMedian: 40,
    replyMedian: 30,
    thinkTimeMedian: 0.3,
  });
});
afterAll(async () => {
  await Promise.all(sims.map((s) => s.stop()));
  await rm(dir, { recursive: true, force: true });
});

function runCli(args: string[], signalAfterMs?: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [ENTRY, 'loadgen', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    if (signalAfterMs !== undefined) {
      // Once the replay runs (first progress line), then after the delay.
      child.stdout.once('data', () => setTimeout(() => child.kill('SIGTERM'), signalAfterMs));
    }
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('server metrics', () => {
  it('per-run deltas equal the simulator counters, GPU and LMCache tiers, and the reset works', async () => {
    const sim = await startSim(
      ['--speed', '50', '--num-gpu-blocks-override', '160', '--max-model-len', '2048', '--kv-transfer-config', '{"kv_connector":"LMCacheConnectorV1","kv_role":"kv_both"}'],
      // Prometheus multiprocess mode: the simulator then shows LMCache's series, as vLLM does.
      { VLLM_SERVER_DEV_MODE: '1', LMCACHE_MAX_LOCAL_CPU_SIZE: '1', LMCACHE_CHUNK_SIZE: '256', LMCACHE_LOCAL_CPU: 'True', PROMETHEUS_MULTIPROC_DIR: dir },
    );
    sims.push(sim);
    for (const name of ['first', 'second']) {
      const before = await scrapeCounters(sim.baseUrl, COUNTERS);
      const run = await runLoadgen({
        baseUrl: sim.baseUrl, model: SIM_MODEL, dataset, requestRate: 4, arrival: 'trace', numPrompts: null,
        timeLimitS: null, mockDecoding: false, seed: 2, resultDir: join(dir, name),
      });
      const after = await scrapeCounters(sim.baseUrl, COUNTERS);
      const c = run.result.cache_statistics;
      expect(c.prefix_cache_reset.status, name).toBe('ok');
      expect(c.prefix_cache_queries, name).toBe(after['vllm:prefix_cache_queries']! - before['vllm:prefix_cache_queries']!);
      expect(c.prefix_cache_hits, name).toBe(after['vllm:prefix_cache_hits']! - before['vllm:prefix_cache_hits']!);
      expect(c.external_prefix_cache_queries, name).toBe(after['vllm:external_prefix_cache_queries']! - before['vllm:external_prefix_cache_queries']!);
      expect(c.external_prefix_cache_hits, name).toBe(after['vllm:external_prefix_cache_hits']! - before['vllm:external_prefix_cache_hits']!);
      expect(c.preemptions, name).toBe(after['vllm:num_preemptions']! - before['vllm:num_preemptions']!);
      // Multi-turn conversations: later turns hit what earlier ones left in the cache.
      expect(c.prefix_cache_hits!, name).toBeGreaterThan(0);
      expect(c.prefix_cache_hit_rate, name).toBeCloseTo(c.prefix_cache_hits! / c.prefix_cache_queries!, 12);
      expect(c.lmcache, name).not.toBeNull();
      // The per-request cached tokens the server reported add up to its hit counters.
      const records = (await readFile(join(dir, name, 'requests.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { cached_tokens: number });
      const cached = records.reduce((sum, r) => sum + (r.cached_tokens ?? 0), 0);
      expect(cached, name).toBe(c.prefix_cache_hits! + c.external_prefix_cache_hits!);
      const series = (await readFile(join(dir, name, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { phase: string });
      expect(series[0]!.phase).toBe('before');
      expect(series.at(-1)!.phase).toBe('after');
    }
  });

  it('reads counters exposed without _total, as other simulators name them', async () => {
    const sim = await startSim(['--speed', '50', '--no-counter-total-suffix']);
    sims.push(sim);
    const before = await scrapeCounters(sim.baseUrl, COUNTERS);
    const run = await runLoadgen({
      baseUrl: sim.baseUrl, model: SIM_MODEL, dataset, requestRate: 8, arrival: 'trace', numPrompts: 40,
      timeLimitS: null, mockDecoding: false, seed: 2, resultDir: join(dir, 'no-total'),
    });
    const after = await scrapeCounters(sim.baseUrl, COUNTERS);
    const text = await (await fetch(`${sim.baseUrl}/metrics`)).text();
    expect(text).toMatch(/^vllm:prefix_cache_queries\{/m);
    expect(run.result.cache_statistics.prefix_cache_queries).toBe(after['vllm:prefix_cache_queries']! - before['vllm:prefix_cache_queries']!);
    expect(run.result.cache_statistics.prefix_cache_hits).toBeGreaterThan(0);
    expect(run.result.cache_statistics.prefix_cache_reset.status).toBe('unsupported');
  });
});

describe('kvsweep loadgen CLI', () => {
  let cliSim: SimProcess;
  beforeAll(async () => {
    cliSim = await startSim(['--fixed-ttft-ms', '5', '--fixed-itl-ms', '2']);
    sims.push(cliSim);
  });

  it('--progress jsonl: progress lines about once a second, then done with the result path', async () => {
    const sim = cliSim;
    const resultDir = join(dir, 'cli');
    const { code, stdout, stderr } = await runCli([
      '--base-url', sim.baseUrl, '--model', SIM_MODEL, '--dataset', dataset, '--request-rate', '3', '--result-dir', resultDir, '--progress', 'jsonl',
    ]);
    expect(code, stderr).toBe(0);
    const events = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const progress = events.filter((e) => e.type === 'progress');
    expect(progress.length).toBeGreaterThanOrEqual(2);
    for (const p of progress) expect(Object.keys(p).sort()).toEqual(['completed', 'elapsed_s', 'failed', 'scheduled', 'sent', 'total', 'type']);
    expect(events.at(-1)).toEqual({ type: 'done', result: join(resultDir, 'result.json') });
    expect(progress.at(-1)).toMatchObject({ completed: progress.at(-1)!.total, sent: progress.at(-1)!.total });
    expect(stderr).toContain('Serving Benchmark Result');
    const result = LoadgenResult.parse(JSON.parse(await readFile(join(resultDir, 'result.json'), 'utf8')));
    expect(result.completed).toBe(progress.at(-1)!.total);
    expect(result.client.gc_pacing.enabled).toBe(true);
  });

  it('prints the result block on stdout without --progress; --no-gc-pacing turns the GC pacer off', async () => {
    const sim = cliSim;
    const resultDir = join(dir, 'cli2');
    const { code, stdout } = await runCli(['--base-url', sim.baseUrl, '--model', SIM_MODEL, '--dataset', dataset, '--request-rate', '20', '--num-prompts', '10', '--result-dir', resultDir, '--no-gc-pacing']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^============ Serving Benchmark Result ============$/m);
    expect(stdout).toMatch(/^Successful requests: +10$/m);
    const result = LoadgenResult.parse(JSON.parse(await readFile(join(resultDir, 'result.json'), 'utf8')));
    expect(result.client.gc_pacing).toEqual({ enabled: false, collections: 0, pause_ms_total: 0, pause_ms_max: null });
  });

  it('SIGTERM stops the replay, aborts requests in flight, still writes the results, exits 143', async () => {
    const sim = cliSim;
    const resultDir = join(dir, 'sigterm');
    const { code, stdout, stderr } = await runCli(
      ['--base-url', sim.baseUrl, '--model', SIM_MODEL, '--dataset', dataset, '--request-rate', '1', '--result-dir', resultDir, '--progress', 'jsonl'],
      500,
    );
    expect(code, stderr).toBe(143);
    expect(stderr).toMatch(/SIGTERM: stopping/);
    expect(stdout.trim().split('\n').at(-1)).toContain('"type":"done"');
    const result = LoadgenResult.parse(JSON.parse(await readFile(join(resultDir, 'result.json'), 'utf8')));
    expect(result.interrupted).toBe(true);
    expect(result.not_started).toBeGreaterThan(0);
    expect(result.completed + result.failed + result.aborted + result.not_started).toBe(result.num_prompts);
  });

  it.each([
    ['an unreachable server', ['--base-url', 'http://127.0.0.1:9'], /cannot reach the server at http:\/\/127\.0\.0\.1:9/],
    ['a missing trace', ['--dataset', '/nonexistent/trace.csv'], /trace file not found: \/nonexistent\/trace\.csv/],
    ['an unknown model', ['--model', 'no-such-model'], /does not serve model 'no-such-model'/],
    ['a bad rate', ['--request-rate', 'fast'], /--request-rate.*fast.*expected a number > 0/],
    ['a missing option', ['--result-dir'], /argument missing/],
  ])('exits non-zero with the reason for %s', async (_name, override, message) => {
    const sim = cliSim;
    const base: Record<string, string> = { '--base-url': sim.baseUrl, '--model': SIM_MODEL, '--dataset': dataset, '--result-dir': join(dir, 'bad') };
    for (let i = 0; i < override.length; i += 2) base[override[i]!] = override[i + 1]!;
    const args = Object.entries(base).flatMap(([k, v]) => (v === undefined ? [k] : [k, v]));
    const { code, stderr } = await runCli(args);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(message);
  });
});
