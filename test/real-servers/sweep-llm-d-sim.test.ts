// A sweep of two KV-cache sizes against llm-d-inference-sim through the real workflow and worker:
// configs/examples/llm-d-sim.yaml (see test/real-servers/sweep-suite.ts, docs/real-servers.md).
// What differs from vLLM: counters without `_total` that appear only after the first request, and
// no /reset_prefix_cache (result.json says `unsupported`; each experiment has a fresh server anyway).
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { describeRealServerSweep } from './sweep-suite.ts';

describeRealServerSweep({
  name: 'llm-d-sim',
  serverPath: (record) => record.llm_d_sim!.binary,
  cacheFlag: '--kv-cache-size',
  tokensOf: (blocks) => Number(blocks) * 16,
  serverCacheTokens(folder) {
    // vllm:cache_config_info{block_size="16",num_gpu_blocks="152"} 1, in every scrape.
    const lines = readFileSync(join(folder, 'metrics.jsonl'), 'utf8').trim().split('\n');
    const info = JSON.parse(lines[0]!).metrics['vllm:cache_config_info'];
    if (!info) throw new Error(`no vllm:cache_config_info in the first scrape of ${folder}/metrics.jsonl`);
    const labels = info.samples[0].labels as { block_size: string; num_gpu_blocks: string };
    return Number(labels.num_gpu_blocks) * Number(labels.block_size);
  },
  counters: { hits: 'vllm:prefix_cache_hits', queries: 'vllm:prefix_cache_queries' },
  absent: ['vllm:prefix_cache_hits_total', 'vllm:prefix_cache_queries_total'],
  countersBeforeFirstRequest: false,
  reset: { status: 'unsupported', http_status: 404 },
  runTimeoutMs: 5 * 60_000,
});
