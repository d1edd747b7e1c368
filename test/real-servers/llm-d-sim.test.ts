// llm-d-inference-sim, a third-party vLLM simulator (Go), built at a pinned version: see
// docs/real-servers.md.
import { describeRealServer } from './suite.ts';

describeRealServer({
  name: 'llm-d-sim',
  provisionOnly: 'llm-d-sim',
  command(record, port) {
    const sim = record.llm_d_sim;
    if (!sim) throw new Error('provisioned.json has no llm_d_sim entry');
    return {
      argv: [
        sim.binary,
        '--model', 'tiny-llama',
        '--port', String(port), // it has no bind-address flag: it listens on 0.0.0.0
        '--force-dummy-tokenizer', // otherwise it asks the hub whether the model exists
        '--enable-kvcache',
        '--kv-cache-size', '64', // blocks
        '--block-size', '16',
        '--max-model-len', '2048',
        '--zmq-endpoint=', // no KV-event publisher dialling tcp://127.0.0.1:5557 every second
        '--seed', '7',
        '--time-to-first-token', '20ms',
        '--inter-token-latency', '2ms',
      ],
      env: { POD_IP: '127.0.0.1' }, // --enable-kvcache refuses to start without it
      readyPattern: /"Server starting" protocol="HTTP"/,
      healthUrl: `http://127.0.0.1:${port}/health`,
      model: 'tiny-llama',
      blockSize: 16,
    };
  },
  readyTimeoutMs: 30_000,
  counters: { hits: 'vllm:prefix_cache_hits', queries: 'vllm:prefix_cache_queries' },
  absent: ['vllm:prefix_cache_hits_total', 'vllm:prefix_cache_queries_total'],
  resetPrefixCache: 'absent',
});
