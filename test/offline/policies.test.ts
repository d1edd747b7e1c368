// Properties of the policies in kvsweep's model, over traces of different shapes, two GPU tiers and
// CPU tiers from 10 to 640 chunks: the oracle is never below lru or conversation_aware, and no
// policy's hit rate falls as the CPU tier grows.
import { describe, expect, it } from 'vitest';
import { simulateOffline } from '../../offline/simulate.ts';
import type { OfflinePolicy } from '../../offline/experiment.ts';
import { experiment, hitRate, synthStream } from './support.ts';

const SIZES_GB = [0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32]; // chunks of 512 KiB (sim-small, 256 tokens)
const POLICIES: OfflinePolicy[] = ['lru', 'conversation_aware', 'oracle'];
const TRACES = [
  { name: 'default shape', options: { conversations: 150, seed: 1, conversationRate: 0.5 } },
  { name: 'long conversations, long pauses', options: { conversations: 100, seed: 2, conversationRate: 0.3, turnsMean: 8, thinkTimeMedian: 40 } },
  { name: 'bursts', options: { conversations: 200, seed: 3, conversationRate: 2, thinkTimeMedian: 5, thinkTimeSigma: 1.5 } },
  { name: "like the old tool's", options: { conversations: 300, seed: 4, conversationRate: 0.7, turnsMean: 7.5 } },
];

describe.each(TRACES)('policies on a trace with $name', ({ options }) => {
  const stream = synthStream(options);
  it.each([800, 3000])('with %i GPU blocks: oracle >= lru, conversation_aware; hit rates grow with the CPU tier', (gpuBlocks) => {
    const rates: Record<string, number[]> = {};
    for (const policy of POLICIES) {
      rates[policy] = SIZES_GB.map((size) => hitRate(simulateOffline(stream, experiment({ policy, cache_size_gb: size, engine: { num_gpu_blocks: gpuBlocks } })).records));
    }
    const table = JSON.stringify(rates);
    for (let i = 0; i < SIZES_GB.length; i++) {
      expect(rates.oracle![i]!, `${SIZES_GB[i]} GB: ${table}`).toBeGreaterThanOrEqual(rates.lru![i]!);
      expect(rates.oracle![i]!, `${SIZES_GB[i]} GB: ${table}`).toBeGreaterThanOrEqual(rates.conversation_aware![i]!);
      for (const policy of POLICIES) if (i > 0) expect(rates[policy]![i]!, `${policy} at ${SIZES_GB[i]} GB: ${table}`).toBeGreaterThanOrEqual(rates[policy]![i - 1]!);
    }
    // The sizes span the interesting range: the smallest tier helps the oracle, the largest holds everything.
    expect(rates.oracle![0]!).toBeGreaterThan(rates.lru![0]!);
    expect(rates.lru!.at(-1)!).toBeGreaterThan(rates.lru![0]!);
  });
});

describe('the GPU tier alone (cache_tier gpu: vLLM without LMCache)', () => {
  it('gives hit rates that never fall as vLLM\'s KV cache grows, on every trace', () => {
    for (const { name, options } of TRACES) {
      const stream = synthStream(options);
      const rates = [0.01, 0.02, 0.04, 0.08, 0.16].map((size) => hitRate(simulateOffline(stream, experiment({ cache_tier: 'gpu', cache_size_gb: size })).records));
      for (let i = 1; i < rates.length; i++) expect(rates[i]!, `${name}: ${JSON.stringify(rates)}`).toBeGreaterThanOrEqual(rates[i - 1]!);
      expect(rates.at(-1)!, name).toBeGreaterThan(rates[0]!);
    }
  });

  it('offers lru only: the other policies act at the CPU tier', () => {
    expect(() => simulateOffline(synthStream({ conversations: 2 }), experiment({ cache_tier: 'gpu', policy: 'oracle', cache_size_gb: 0.01 }))).toThrow(
      "policy oracle acts at the CPU tier; with cache_tier gpu there is only vLLM's GPU block pool, which is LRU",
    );
  });
});
