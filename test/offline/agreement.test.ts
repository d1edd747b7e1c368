// Offline against live: the same trace and settings through `kvsweep sim serve` + the load
// generator (real processes, real HTTP, real time) and through the offline replay (virtual time)
// give hit rates within 1 point. The live simulator runs at --speed 6 and the trace at rate 6, so
// its policy clock runs as the offline replay's at rate 1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoadgen } from '../../loadgen/run.ts';
import { writeSynthTrace } from '../../loadgen/trace-cli.ts';
import { DEFAULT_SYNTH_OPTIONS } from '../../loadgen/trace-synth.ts';
import { runOfflineExperiment } from '../../offline/run.ts';
import { startSim, type SimProcess } from '../loadgen/sim-process.ts';

const MODEL = 'kvsweep/sim-small';
const SPEED = 6;
const GPU_BLOCKS = 700; // 11,184 tokens: the GPU tier evicts
const CPU_GB = 0.02; // 40 chunks of 256 tokens: so does the CPU tier
const LMCACHE = '{"kv_connector":"LMCacheConnectorV1","kv_role":"kv_both"}';

let dir: string;
let trace: string;
const sims: SimProcess[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kvsweep-offline-agreement-'));
  trace = join(dir, 'trace.csv');
  // 40 conversations over about a minute, 4 turns each on average, 10 s between turns.
  await writeSynthTrace(trace, { ...DEFAULT_SYNTH_OPTIONS, conversations: 40, seed: 11, conversationRate: 0.7, thinkTimeMedian: 10, replyMedian: 80 });
});
afterAll(async () => {
  await Promise.all(sims.map((s) => s.stop()));
  await rm(dir, { recursive: true, force: true });
});

describe.each(['lru', 'conversation_aware'] as const)('offline and the live simulator, %s', (policy) => {
  it('give hit rates within 1 point, GPU tier and CPU tier', { timeout: 180_000 }, async () => {
    const env: Record<string, string> = {
      LMCACHE_CHUNK_SIZE: '256',
      LMCACHE_LOCAL_CPU: 'True',
      LMCACHE_SAVE_DECODE_CACHE: 'true',
      LMCACHE_MAX_LOCAL_CPU_SIZE: String(CPU_GB),
      VLLM_SERVER_DEV_MODE: '1',
    };
    if (policy === 'conversation_aware') env.LMCACHE_EXTRA_CONFIG = JSON.stringify({ use_conversation_eviction: true, conversation_eviction_config: {} });
    const sim = await startSim(
      ['--max-model-len', '4096', '--num-gpu-blocks-override', String(GPU_BLOCKS), '--max_num_seqs', '128', '--max-num-batched-tokens', '16384',
        '--kv-transfer-config', LMCACHE, '--speed', String(SPEED)],
      env,
      MODEL,
    );
    sims.push(sim);
    const live = await runLoadgen({
      baseUrl: sim.baseUrl, model: MODEL, dataset: trace, requestRate: SPEED, arrival: 'trace', numPrompts: null, timeLimitS: null,
      mockDecoding: false, seed: 1, resultDir: join(dir, `live-${policy}`),
    });
    await sim.stop();
    const offline = await runOfflineExperiment(
      { input: { kind: 'trace_csv', path: trace }, model: MODEL, max_model_len: 4096, cache_size_gb: CPU_GB, policy, request_rate: 1, engine: { num_gpu_blocks: GPU_BLOCKS } },
      join(dir, `offline-${policy}`),
    );
    const l = live.result.cache_statistics;
    const o = offline.result.cache_statistics;
    const context = `live ${JSON.stringify([l.prefix_cache_hit_rate, l.external_prefix_cache_hit_rate])} offline ${JSON.stringify([o.prefix_cache_hit_rate, o.external_prefix_cache_hit_rate])}`;
    expect(live.result.completed, context).toBe(offline.result.completed);
    // The same requests, at the same sizes: the prompts the server counted are the offline prompts.
    expect(live.result.total_input_tokens, context).toBe(offline.result.total_input_tokens);
    expect(o.prefix_cache_hit_rate!, context).toBeGreaterThan(0.2);
    expect(o.external_prefix_cache_hits!, context).toBeGreaterThan(0);
    expect(Math.abs(l.prefix_cache_hit_rate! - o.prefix_cache_hit_rate!), context).toBeLessThanOrEqual(0.01);
    expect(Math.abs(l.external_prefix_cache_hit_rate! - o.external_prefix_cache_hit_rate!), context).toBeLessThanOrEqual(0.01);
  });
});
