// The simulator as a process: vLLM's command line, start-up log order, signals, flag errors.
import { createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { killAll, runSim, spawnSim, startSim, waitReady } from './sim-process.ts';

const MODEL = 'kvsweep/sim-small';
afterAll(killAll);

describe('command line', () => {
  it('starts with the orchestrator\'s vllm serve command line, noting the flags it does not act on', async () => {
    const sim = await startSim(
      [
        MODEL, '--dtype', 'half', '--gpu_memory_utilization', '0.8', '--max_num_seqs', '128', '--max-model-len', '16384',
        '--enable-chunked-prefill', '--enable-prefix-caching', '--port', '0', '--tensor-parallel-size', '1',
        '--max-num-batched-tokens', '16384', '--kv-transfer-config', '{"kv_connector":"LMCacheConnectorV1","kv_role":"kv_both"}',
        '--disable-log-requests', '--gpu-memory-gb=40', '--speed', 'inf',
      ],
      { CUDA_VISIBLE_DEVICES: '3', VLLM_SERVER_DEV_MODE: '1', LMCACHE_CHUNK_SIZE: '256', LMCACHE_LOCAL_CPU: 'True', LMCACHE_MAX_LOCAL_CPU_SIZE: '2', LMCACHE_SAVE_DECODE_CACHE: 'true' },
    );
    const out = sim.output();
    expect(out).toMatch(/--enable-chunked-prefill is accepted for compatibility/);
    expect(out).toMatch(/--disable-log-requests is accepted for compatibility/);
    expect(out).toMatch(/LMCache CPU tier: 2\.000 GiB per device = 4096 chunks of 256 tokens, eviction lru/);
    const metrics = await (await fetch(`${sim.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/^vllm:external_prefix_cache_hits_total\{engine="0",model_name="kvsweep\/sim-small"\} 0$/m);
    // As vLLM V1 without Prometheus multiprocess mode: LMCache's series are not on /metrics.
    expect(metrics).not.toMatch(/^lmcache:/m);
    await sim.kill();
  });

  it('logs the start-up lines in vLLM\'s order, answering HTTP only after the start-up delay', async () => {
    const started = Date.now();
    const sim = await spawnSim([MODEL, '--port', '0', '--startup-delay', '1']);
    expect((await fetch(`${sim.baseUrl}/health`).catch(() => undefined))?.status).toBeUndefined();
    await waitReady(sim);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    // /health answers once the line is written; the pipe may not have brought it here yet.
    for (let i = 0; i < 250 && !sim.output().includes('Application startup complete.'); i++) await new Promise((r) => setTimeout(r, 20));
    const lines = sim.output().split('\n');
    const first = lines.findIndex((l) => l.includes('Starting vLLM API server 0 on http://127.0.0.1:'));
    const complete = lines.findIndex((l) => l.includes('Application startup complete.'));
    expect(first).toBe(0);
    expect(complete).toBeGreaterThan(first);
    expect(lines.findIndex((l) => l.includes('Loading weights'))).toBeLessThan(complete);
    await sim.kill();
  });

  it('exits 0 promptly on SIGTERM, with an in-flight streaming request, logging the shutdown', async () => {
    const sim = await startSim([MODEL, '--port', '0', '--fixed-ttft-ms', '10', '--fixed-itl-ms', '100']);
    const body = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 100, stream: true });
    // fetch resolves with the response head: the stream has started and runs for about 10 s.
    const response = await fetch(`${sim.baseUrl}/v1/chat/completions`, { method: 'POST', body });
    const inflight = response.text().catch(() => 'cut');
    const t0 = Date.now();
    sim.child.kill('SIGTERM');
    expect(await sim.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(sim.output()).toMatch(/INFO: {5}Shutting down[\s\S]*Finished server process/);
    await inflight;
  });

  it('exits 0 on SIGINT during the start-up delay', async () => {
    const sim = await spawnSim([MODEL, '--port', '0', '--startup-delay', '30']);
    sim.child.kill('SIGINT');
    expect(await sim.exited).toBe(0);
  });
});

describe('flag errors', () => {
  it.each([
    [['--num-gpu-blocks-override', '-5'], {}, /--num-gpu-blocks-override: expected a positive integer/],
    [['--kv-transfer-config', '{oops'], {}, /--kv-transfer-config: not valid JSON/],
    [['--tensor-parallel-size', '2'], { CUDA_VISIBLE_DEVICES: '0' }, /--tensor-parallel-size 2 x --pipeline-parallel-size 1 = 2 devices/],
    [['--frobnicate'], {}, /unknown option '--frobnicate'/],
    [['--port'], {}, /--port <port>' argument missing/],
  ])('exits non-zero naming the flag: %j', async (args, env, message) => {
    const r = await runSim(['serve', MODEL, ...args], env);
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(message);
    expect(r.output).not.toMatch(/Starting vLLM API server/);
  });

  it('exits non-zero for an unknown model and a missing model', async () => {
    const unknown = await runSim(['serve', 'acme/nope', '--port', '0']);
    expect(unknown.code).toBe(2);
    expect(unknown.output).toMatch(/unknown model 'acme\/nope'/);
    const missing = await runSim(['serve']);
    expect(missing.code).toBe(2);
    expect(missing.output).toMatch(/MODEL is required/);
  });

  it('exits non-zero naming --port when the port is in use', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await runSim(['serve', MODEL, '--port', String(port)]);
      expect(r.code).not.toBe(0);
      expect(r.output).toMatch(new RegExp(`--port ${port}: cannot listen on 127.0.0.1:${port} \\(address already in use\\)`));
    } finally {
      blocker.close();
    }
  });

  it('prints help and exits 0', async () => {
    const r = await runSim(['serve', '--help']);
    expect(r.code).toBe(0);
    expect(r.output).toMatch(/--fixed-ttft-ms/);
  });
});
