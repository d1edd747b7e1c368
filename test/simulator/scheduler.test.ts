import { describe, expect, it } from 'vitest';
import { CpuTier } from '../../simulator/cpu-tier.ts';
import { GpuBlockPool } from '../../simulator/gpu-pool.ts';
import { resolveModel } from '../../simulator/models.ts';
import { GiB, kvBytesPerTokenPerDevice, sizeGpuCache } from '../../simulator/memory.ts';
import { SimRequest } from '../../simulator/request.ts';
import { Scheduler, type SchedulerConfig } from '../../simulator/scheduler.ts';
import { H100, rooflineTiming } from '../../simulator/timing.ts';

const sink = { flush: (): void => {} };
let nextId = 0;
function request(prompt: number[], target: number, user?: string): SimRequest {
  const id = `r${nextId++}`;
  return new SimRequest(id, user ?? id, [...prompt], target, 'length', 7, true, 0, sink);
}
const tokens = (n: number, from = 1000): number[] => Array.from({ length: n }, (_, i) => from + i);

function scheduler(blocks: number, over: Partial<SchedulerConfig> = {}, cpu?: CpuTier): Scheduler {
  const config: SchedulerConfig = { blockSize: 16, maxNumSeqs: 256, maxNumBatchedTokens: 8192, prefixCaching: true, saveDecodeCache: true, seed: 0, ...over };
  return new Scheduler(config, new GpuBlockPool(blocks), cpu);
}

/** Runs steps until nothing is left; returns the number of steps. */
function drain(s: Scheduler, limit = 100_000): number {
  let steps = 0;
  while (s.hasWork()) {
    const plan = s.schedule(steps, steps);
    s.complete(plan, steps + 1, steps + 1);
    s.dirty.length = 0;
    if (++steps > limit) throw new Error('scheduler does not make progress');
  }
  return steps;
}

describe('scheduler', () => {
  it('reports as cached, on a second turn, exactly the computed blocks of turn one prompt and reply', () => {
    const s = scheduler(100);
    const turn1 = request(tokens(40), 20);
    s.add(turn1);
    drain(s);
    expect(turn1.state).toBe('finished');
    expect(turn1.outputLength).toBe(20);
    const turn2 = request([...turn1.tokens, ...tokens(10, 5000)], 5);
    s.add(turn2);
    drain(s);
    // 60 tokens were seen; the last reply token is never computed: floor(59 / 16) blocks.
    expect(turn2.cachedTokens).toBe(Math.floor(59 / 16) * 16);
    expect(s.stats.prefixHits).toBe(48);
    expect(s.stats.prefixQueries).toBe(40 + 70);
  });

  it('never hits the last prompt token: an identical prompt recomputes its last block', () => {
    const s = scheduler(100);
    const a = request(tokens(32), 1);
    s.add(a);
    drain(s);
    const b = request(tokens(32), 1);
    s.add(b);
    drain(s);
    expect(b.cachedTokens).toBe(16);
  });

  it('finds nothing with prefix caching off', () => {
    const s = scheduler(100, { prefixCaching: false });
    s.add(request(tokens(64), 1));
    drain(s);
    const b = request(tokens(64), 1);
    s.add(b);
    drain(s);
    expect(b.cachedTokens).toBe(0);
  });

  it('splits a long prompt into prefill chunks of the token budget', () => {
    const s = scheduler(100, { maxNumBatchedTokens: 32 });
    const r = request(tokens(100), 3);
    s.add(r);
    const chunks: number[] = [];
    let step = 0;
    while (r.outputLength === 0) {
      const plan = s.schedule(step, step);
      chunks.push(plan.newTokens);
      s.complete(plan, ++step, step);
    }
    expect(chunks).toEqual([32, 32, 32, 4]);
  });

  it('runs at most max_num_seqs requests', () => {
    const s = scheduler(100, { maxNumSeqs: 2 });
    for (let i = 0; i < 3; i++) s.add(request(tokens(8, i * 100), 5));
    s.schedule(0, 0);
    expect(s.running).toHaveLength(2);
    expect(s.waiting.length).toBe(1);
  });

  it('preempts the newest request when blocks run out, counts it, and still finishes everything', () => {
    const s = scheduler(9, { blockSize: 4 }); // 8 usable blocks of 4 tokens
    const a = request(tokens(8, 0), 20);
    const b = request(tokens(8, 100), 20);
    s.add(a);
    s.add(b);
    drain(s);
    expect(s.stats.preemptions).toBeGreaterThan(0);
    expect(a.state).toBe('finished');
    expect(b.state).toBe('finished');
    expect(a.outputLength).toBe(20);
    expect(b.outputLength).toBe(20);
    expect(s.pool.numFree).toBe(8);
  });

  it('releases an aborted request at once', () => {
    const s = scheduler(20);
    const r = request(tokens(40), 50);
    s.add(r);
    s.complete(s.schedule(0, 0), 1, 1);
    expect(s.pool.numFree).toBeLessThan(19);
    s.abort(r, 2);
    expect(r.state).toBe('aborted');
    expect(s.pool.numFree).toBe(19);
    expect(s.stats.finished.abort).toBe(1);
  });

  it('loads from the CPU tier what the GPU tier evicted, and counts it as external hits', () => {
    const cpu = new CpuTier(100, 32, 1, { kind: 'lru' });
    const s = scheduler(9, { blockSize: 16 }, cpu); // 8 GPU blocks: 128 tokens
    const first = request(tokens(100, 0), 1, 'conv');
    s.add(first);
    drain(s);
    // Another long prompt evicts the first one's blocks from the GPU.
    s.add(request(tokens(120, 10_000), 1));
    drain(s);
    const again = request(tokens(100, 0), 1, 'conv');
    s.add(again);
    drain(s);
    expect(again.cachedTokens).toBe(96); // 3 chunks of 32 (the 4th would need token 100)
    expect(s.stats.externalHits).toBe(96);
    expect(s.stats.externalQueries).toBe(320);
    expect(cpu.counters.hitTokens).toBe(96);
  });
});

describe('timing model', () => {
  const g = resolveModel('meta-llama/Llama-3.1-8B-Instruct');
  const kv = kvBytesPerTokenPerDevice(g, 2, { tensorParallel: 1, pipelineParallel: 1 });
  const timing = rooflineTiming(g, H100, { tensorParallel: 1, weightBytes: g.weightBytes, kvBytesPerToken: kv, kvBytesPerTokenPerDevice: kv, fp8: false });
  const step = (newTokens: number, contextTokens: number, loadedTokens = 0): number =>
    timing.stepSeconds({ newTokens, contextTokens, attentionPairs: newTokens * contextTokens, loadedTokens });

  it('gives plausible H100 figures for an 8B model', () => {
    // One decoding request: weights read once per step, ~7.5 ms.
    expect(step(1, 1000)).toBeGreaterThan(0.006);
    expect(step(1, 1000)).toBeLessThan(0.01);
    // A 2,000-token prefill: compute bound, ~70-80 ms.
    expect(step(2000, 2000)).toBeGreaterThan(0.05);
    expect(step(2000, 2000)).toBeLessThan(0.12);
  });

  it('grows with the batch and its context, and adds the PCIe time of loads', () => {
    expect(step(64, 64 * 2000)).toBeGreaterThan(step(1, 2000));
    expect(step(128, 128 * 2000)).toBeGreaterThan(step(64, 64 * 2000));
    expect(step(1, 1000, 2000) - step(1, 1000)).toBeCloseTo((2000 * kv) / H100.pcieBytesPerSecond);
    expect(step(0, 0)).toBe(0);
  });
});

describe('memory sizing', () => {
  const size = (model: string, tp: number, utilization = 0.9): number => {
    const g = resolveModel(model);
    return sizeGpuCache(g, {
      tensorParallel: tp, pipelineParallel: 1, gpuMemoryBytes: 80 * GiB, utilization, weightBytes: g.weightBytes, kvDtypeBytes: 2, blockSize: 16, maxBatchedTokens: 8192,
    }).numBlocks;
  };

  it('sizes an 8B model on one 80 GB device like vLLM does (about 400k tokens)', () => {
    const tokens = size('meta-llama/Llama-3.1-8B-Instruct', 1) * 16;
    expect(tokens).toBeGreaterThan(350_000);
    expect(tokens).toBeLessThan(500_000);
  });

  it('needs TP=2 for sim-tp2 and TP=4 for the 70B model at 0.8 utilisation', () => {
    expect(size('kvsweep/sim-tp2', 1)).toBe(0);
    expect(size('kvsweep/sim-tp2', 2)).toBeGreaterThan(0);
    expect(size('meta-llama/Llama-3.3-70B-Instruct', 1, 0.8)).toBe(0);
    expect(size('meta-llama/Llama-3.3-70B-Instruct', 4, 0.8)).toBeGreaterThan(0);
  });

  it('shrinks with lower utilisation', () => {
    expect(size('Qwen/Qwen3-8B-FP8', 1, 0.5)).toBeLessThan(size('Qwen/Qwen3-8B-FP8', 1, 0.9));
  });
});
