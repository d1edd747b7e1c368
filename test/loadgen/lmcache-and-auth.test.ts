// Against the real simulator, through a recording HTTP proxy: every request carries the
// Authorization header when OPENAI_API_KEY is set; the LMCache fork's /lmcache/stats is read
// before and after the run (or its absence noted); LMCache's lmcache:* series appear only in
// Prometheus multiprocess mode, and their absence is explained; the simulator logs LMCache's
// allocation warning for every store that finds the CPU tier full, and the collector counts them.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoadgen, type LoadgenOptions } from '../../loadgen/run.ts';
import { authFromEnv } from '../../loadgen/auth.ts';
import { UserError } from '../../domain/errors.ts';
import { MISSING_LMCACHE_SERIES } from '../../loadgen/cache-stats.ts';
import { collectFrom, countInFile, LMCACHE_FAILED_ALLOCATION } from '../../activities/collect.ts';
import { scrapeCounters, SIM_MODEL, startSim, type SimProcess } from './sim-process.ts';

const LMCACHE = ['--kv-transfer-config', '{"kv_connector":"LMCacheConnectorV1","kv_role":"kv_both"}'];
const TIER = { VLLM_SERVER_DEV_MODE: '1', LMCACHE_CHUNK_SIZE: '256', LMCACHE_LOCAL_CPU: 'True' };
let dir: string;
let trace: string;
const sims: SimProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kvsweep-fidelity-'));
  // 12 conversations of 3 turns with long messages: several LMCache chunks per request.
  const rows = ['@timestamp,ConversationId,CustomerQueryLength,GenerativeModelResponseLength'];
  for (let t = 0; t < 3; t++) for (let c = 0; c < 12; c++) rows.push(`${t * 10 + c * 0.5},conv${c},${300 + 40 * c},${20 + t}`);
  trace = join(dir, 'trace.csv');
  await writeFile(trace, `${rows.join('\n')}\n`);
});
afterAll(async () => {
  for (const sim of sims) await sim.stop();
});

/** An HTTP proxy in front of `target` that records each request's path and Authorization header. */
async function recordingProxy(target: string): Promise<{ url: string; seen: Array<{ path: string; auth: string | undefined }>; close: () => Promise<void> }> {
  const seen: Array<{ path: string; auth: string | undefined }> = [];
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    seen.push({ path: req.url ?? '', auth: req.headers.authorization });
    const forward = http.request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    close: () => {
      agent.destroy();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function options(baseUrl: string, name: string, extra: Partial<LoadgenOptions> = {}): LoadgenOptions {
  return { baseUrl, model: SIM_MODEL, dataset: trace, requestRate: 20, arrival: 'trace', numPrompts: null, timeLimitS: null, mockDecoding: false, seed: 1, resultDir: join(dir, name), ...extra };
}

describe('Authorization and the LMCache fork statistics', () => {
  it('sends the key with every request, reads /lmcache/stats around the run, and shows lmcache:* in multiprocess mode', async () => {
    const sim = await startSim(['--speed', '50', '--lmcache-stats-endpoint', ...LMCACHE], { ...TIER, LMCACHE_MAX_LOCAL_CPU_SIZE: '1', PROMETHEUS_MULTIPROC_DIR: dir });
    sims.push(sim);
    const proxy = await recordingProxy(sim.baseUrl);
    try {
      const run = await runLoadgen(options(proxy.url, 'auth', { auth: authFromEnv({ OPENAI_API_KEY: 'sk-test-123' }), lmcacheStatsUrl: `${proxy.url}/lmcache/stats` }));
      expect(run.result.completed).toBe(36);
      const paths = new Set(proxy.seen.map((s) => s.path));
      for (const path of ['/v1/models', '/reset_prefix_cache', '/tokenize', '/metrics', '/v1/chat/completions', '/lmcache/stats']) expect(paths, path).toContain(path);
      expect(proxy.seen.filter((s) => s.auth !== 'Bearer sk-test-123')).toEqual([]);
      const c = run.result.cache_statistics;
      expect(c.lmcache_stats_endpoint).toMatchObject({ status: 'ok', url: `${proxy.url}/lmcache/stats` });
      const fork = c.lmcache_stats_endpoint!;
      expect(fork.figures.requests).toBe(36);
      expect(fork.figures.query_tokens).toBe(c.prefix_cache_queries);
      expect(fork.figures.hit_rate).toBeCloseTo(fork.figures.hit_tokens! / fork.figures.query_tokens!, 12);
      expect(fork.conversation).toMatchObject({ requests: 36, continue_turns: 24 });
      expect(c.lmcache).not.toBeNull();
      expect(c.missing_figures).toEqual([]);
      expect(run.summaryText).toContain('LMCache stats requests:');
      expect(run.summaryText).toMatch(/conversation_continue_turns:\s+24\n/);
      // The summary entry's flat names.
      const collected = await collectFrom(join(dir, 'auth'));
      expect(collected.cache_statistics).toMatchObject({ lmcache_stats_endpoint: 'ok', lmcache_stats_requests: 36, conversation_continue_turns: 24 });
    } finally {
      await proxy.close();
    }
  });

  it('a server that wants a key and gets none: exit 2 that says to set OPENAI_API_KEY', async () => {
    const server = http.createServer((req, res) => {
      res.statusCode = req.headers.authorization === 'Bearer right' ? 200 : 401;
      res.end(JSON.stringify({ error: 'Unauthorized' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const missing = runLoadgen(options(url, 'nokey', { auth: authFromEnv({}) }));
      await expect(missing).rejects.toBeInstanceOf(UserError);
      await expect(missing).rejects.toThrow('wants an API key (a server started with --api-key): set OPENAI_API_KEY');
      await expect(runLoadgen(options(url, 'badkey', { auth: authFromEnv({ OPENAI_API_KEY: 'wrong' }) }))).rejects.toThrow('refused the key in OPENAI_API_KEY');
      expect(() => authFromEnv({ OPENAI_API_KEY: 'a\r\nx: y' })).toThrow(UserError);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('without multiprocess mode or the stats endpoint: the figures are missing and the result says why', async () => {
    const sim = await startSim(['--speed', '50', ...LMCACHE], { ...TIER, LMCACHE_MAX_LOCAL_CPU_SIZE: '1' });
    sims.push(sim);
    const lines: string[] = [];
    const run = await runLoadgen(options(sim.baseUrl, 'missing', { lmcacheStatsUrl: `${sim.baseUrl}/lmcache/stats`, log: (l) => lines.push(l) }));
    const c = run.result.cache_statistics;
    expect(c.external_prefix_cache_queries).toBeGreaterThan(0);
    expect(c.lmcache).toBeNull();
    expect(c.lmcache_stats_endpoint).toMatchObject({ status: 'unavailable', detail: expect.stringContaining('HTTP 404') });
    expect(c.missing_figures.map((m) => m.figures)).toEqual([MISSING_LMCACHE_SERIES.figures, "lmcache_stats and conversation_stats (the LMCache fork's statistics endpoint)"]);
    expect(lines.filter((l) => l.startsWith('missing figures: '))).toHaveLength(2);
    expect(run.summaryText).toContain(`Missing: ${MISSING_LMCACHE_SERIES.figures}`);
  });
});

describe("LMCache's failed allocations", () => {
  it('the simulator warns for every store that finds the tier full (then evicts), and the collector counts the warnings', async () => {
    // 0.004 GiB of sim Qwen-0.5B KV (12 KiB a token) = 1 chunk of 256 tokens: nearly every store finds it full.
    const sim = await startSim(['--speed', '50', ...LMCACHE], { ...TIER, LMCACHE_MAX_LOCAL_CPU_SIZE: '0.004', PROMETHEUS_MULTIPROC_DIR: dir });
    sims.push(sim);
    const before = await scrapeCounters(sim.baseUrl, ['lmcache:local_cpu_evict_count']);
    await runLoadgen(options(sim.baseUrl, 'alloc'));
    const after = await scrapeCounters(sim.baseUrl, ['lmcache:local_cpu_evict_count']);
    const log = join(dir, 'alloc', 'server.log');
    await writeFile(log, sim.log());
    const warnings = await countInFile(log, LMCACHE_FAILED_ALLOCATION);
    // Under LRU each such store evicts exactly one chunk.
    expect(warnings).toBe(after['lmcache:local_cpu_evict_count']! - before['lmcache:local_cpu_evict_count']!);
    expect(warnings).toBeGreaterThan(10);
    expect(sim.log()).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\] LMCache WARNING: Failed to allocate memory block of size \d+ because no memory is available/m);
    const collected = await collectFrom(join(dir, 'alloc'), { path: log, offset: 0 });
    expect(collected.cache_statistics.lmcache_failed_allocations).toBe(warnings);
    // Only what this server start wrote: from the offset its start began at.
    const text = await readFile(log, 'utf8');
    const cut = text.indexOf(LMCACHE_FAILED_ALLOCATION) + 1;
    expect(await countInFile(log, LMCACHE_FAILED_ALLOCATION, Buffer.byteLength(text.slice(0, cut)))).toBe(warnings! - 1);
    expect(await countInFile(join(dir, 'no-such.log'), LMCACHE_FAILED_ALLOCATION)).toBeNull();
  });
});
