// The offline driver against itself: decode stretches run in one call (closed-form step times,
// blocks allocated per request) must give what running every step through schedule() and
// complete() gives — the same hits, counters and times — under GPU pressure with preemptions and
// a CPU tier that evicts; and the closed-form step times must equal the timing model's.
import { describe, expect, it } from 'vitest';
import { decodeSpan, decodeStep, stepsUntil } from '../../simulator/decode-lines.ts';
import { resolveModel } from '../../simulator/models.ts';
import { H100, rooflineTiming } from '../../simulator/timing.ts';
import { offlineCacheStatistics } from '../../offline/result.ts';
import { simulateOffline } from '../../offline/simulate.ts';
import { experiment, synthStream } from './support.ts';

describe('decode lines', () => {
  // Qwen3-8B decodes memory-bound; a huge batch of long contexts crosses into compute-bound.
  const geometry = resolveModel('Qwen/Qwen3-8B-FP8');
  const timing = rooflineTiming(geometry, { ...H100, hbmBytesPerSecond: 2.7e13 }, { tensorParallel: 1, weightBytes: geometry.weightBytes, kvBytesPerToken: 147_456, kvBytesPerTokenPerDevice: 147_456, fp8: true });
  it.each([
    [1, 100, 50],
    [8, 20_000, 700],
    [900, 9_000_000, 3000],
  ])('sum the timing model step by step (%i requests, %i context tokens, %i steps)', (n, context, steps) => {
    const lines = timing.decodeLines(n, context);
    let total = 0;
    for (let j = 0; j < steps; j++) {
      const work = { newTokens: n, contextTokens: context + n * (j + 1), attentionPairs: context + n * (j + 1), loadedTokens: 0 };
      const step = timing.stepSeconds(work);
      expect(decodeStep(lines, j)).toBeCloseTo(step, 12);
      total += step;
    }
    expect(Math.abs(decodeSpan(lines, steps) - total) / total).toBeLessThan(1e-9);
    const until = 5 + total / 2;
    const k = stepsUntil(lines, 5, until, steps);
    expect(5 + decodeSpan(lines, k)).toBeGreaterThanOrEqual(until);
    expect(5 + decodeSpan(lines, k - 1)).toBeLessThan(until);
  });
});

describe('decode stretches', () => {
  const cases = [
    // GPU tier of 4,800 tokens (preemptions), CPU tier of 20 chunks of 256 (evictions).
    { name: 'lru under GPU and CPU pressure', seed: 3, rate: 20, over: { policy: 'lru' as const, cache_size_gb: 0.01, engine: { num_gpu_blocks: 300 } } },
    { name: 'conversation_aware', seed: 4, rate: 5, over: { policy: 'conversation_aware' as const, cache_size_gb: 0.02, engine: { num_gpu_blocks: 800 } } },
    { name: 'oracle, chunks of 64', seed: 5, rate: 5, over: { policy: 'oracle' as const, cache_size_gb: 0.01, engine: { num_gpu_blocks: 800, chunk_size: 64 } } },
  ];
  it.each(cases)('equal every step run alone: $name', ({ seed, rate, over }) => {
    const stream = synthStream({ conversations: 60, seed, conversationRate: 2, thinkTimeMedian: 5 });
    const e = experiment({ ...over, request_rate: rate });
    const fast = simulateOffline(stream, e);
    const slow = simulateOffline(stream, e, { stretches: false });
    expect(fast.engine.steps).toBeLessThan(slow.engine.steps);
    const a = offlineCacheStatistics(fast);
    const b = offlineCacheStatistics(slow);
    expect(a.prefix_cache_hits).toBeGreaterThan(0);
    expect({ ...a.lmcache, peaks: undefined }).toEqual({ ...b.lmcache, peaks: undefined });
    expect([a.prefix_cache_hits, a.external_prefix_cache_hits, a.preemptions]).toEqual([b.prefix_cache_hits, b.external_prefix_cache_hits, b.preemptions]);
    if (seed === 3) expect(a.preemptions).toBeGreaterThan(0);
    for (let i = 0; i < stream.size; i++) {
      expect(fast.records.cachedTokens[i], `request ${i}`).toBe(slow.records.cachedTokens[i]);
      expect(fast.records.gpuHitTokens[i], `request ${i}`).toBe(slow.records.gpuHitTokens[i]);
      expect(fast.records.statusOf(i), `request ${i}`).toBe(slow.records.statusOf(i));
      if (fast.records.statusOf(i) !== 'ok') continue;
      expect(Math.abs(fast.records.ttftMs[i]! - slow.records.ttftMs[i]!), `request ${i}`).toBeLessThan(1e-6);
      expect(Math.abs(fast.records.e2elMs[i]! - slow.records.e2elMs[i]!), `request ${i}`).toBeLessThan(1e-6);
    }
    expect(fast.figures.itlSeconds.count).toBe(slow.figures.itlSeconds.count);
    expect(fast.figures.itlSeconds.mean()).toBeCloseTo(slow.figures.itlSeconds.mean()!, 9);
    expect(fast.figures.itlSeconds.percentile(99)).toBeCloseTo(slow.figures.itlSeconds.percentile(99)!, 5);
  });
});
