// What `plan` will say a sweep costs (domain/cost/estimate.ts): the demo sweep worked out by hand,
// recorded start-ups beating the defaults, and where each figure comes from.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planSweep } from '../../config-files/load-sweep.ts';
import { estimateSweep, SIMULATOR_OVERHEADS } from '../../domain/cost/estimate.ts';
import { defaultStartup, H200_ONE_GPU, MULTI_GPU_ASSUMED, recordedStartups, serverKeyOf } from '../../domain/cost/startups.ts';
import type { ExperimentSpec } from '../../domain/experiment.ts';
import { loadTrace } from '../../loadgen/trace.ts';
import { projectRoot } from '../../platform/paths.ts';

const demo = await planSweep(join(projectRoot, 'configs', 'demo.yaml'), { userConfigDir: null });
const specs = demo.experiments;
const trace = await loadTrace(specs[0]!.dataset.path, { numPrompts: specs[0]!.num_prompts });
const span = trace.turns.at(-1)!.offsetMs / 1000;
const spans = { [specs[0]!.dataset.path]: span };

/** One attempt of a demo experiment on its GPU: spawn, the simulator's start, client start, replay + drain, collect, teardown. */
const attemptS = 0.1 + 0.3 + 1 + (span / specs[0]!.request_rate + 5) + 1 + 0.1;

describe('estimateSweep', () => {
  it('simulates the demo sweep (6 one-GPU experiments) on --gpus 2: three rounds', () => {
    expect(specs).toHaveLength(6);
    const estimate = estimateSweep(specs, 2, {}, { trace_span_s: spans });
    expect(estimate.wall_s).toBeCloseTo(3 * attemptS, 6);
    expect(estimate.gpu_hours).toBeCloseTo((2 * 3 * attemptS) / 3600, 9);
    expect(estimate.unplaceable).toEqual([]);
    expect(estimate.startups).toEqual([expect.objectContaining({ experiments: 6, warm_s: 0.3, server_key: 'Qwen/Qwen3-8B-FP8 in sim, TP 1 x PP 1' })]);
    expect(estimate.startups[0]!.source).toMatch(/simulator/);
    expect(estimate.replay_sources).toEqual(["6 experiments: replay = the trace's span at its replay rate + 5 s drain"]);
    expect(estimate.assumptions.join('\n')).toMatch(/first attempt/);
  });

  it('takes the time limit when the trace was not read, and the same hosts given as a list', () => {
    const estimate = estimateSweep(specs, [{ host_id: 'a', gpu_count: 1, gpu_class: 'x' }, { host_id: 'b', gpu_count: 2, gpu_class: 'y' }], {});
    const perAttempt = 0.1 + 0.3 + 1 + (60 + 5) + 1 + 0.1;
    expect(estimate.wall_s).toBeCloseTo(2 * perAttempt, 6);
    expect(estimate.replay_sources).toEqual(['6 experiments: replay = the time limit (trace not read) + 5 s drain']);
  });

  it('uses recorded start-ups over the defaults, and says so', () => {
    const key = serverKeyOf(specs[0]!);
    const recorded = { [key]: { warm_s: 2, cold_s: 7, source: '3 starts recorded by earlier runs' } };
    const estimate = estimateSweep(specs, 6, recorded, { trace_span_s: spans, overheads: SIMULATOR_OVERHEADS });
    // Six at once on six GPUs of one host, all cold: nothing was ready there before.
    expect(estimate.wall_s).toBeCloseTo(attemptS - 0.3 + 7, 6);
    expect(estimate.startups[0]!.source).toBe('3 starts recorded by earlier runs');
  });

  it('names the experiments no host can take', () => {
    const estimate = estimateSweep(specs.slice(0, 2), [], {});
    expect(estimate.unplaceable).toEqual(specs.slice(0, 2).map((s) => s.id));
    expect(estimate.wall_s).toBe(0);
  });
});

describe('start-up figures', () => {
  const outcome = (hf: string, env: string, tp: number, ready: Array<number | null>) => ({
    configuration: { huggingface_path: hf, environment: env, tensor_parallel_size: tp, pipeline_parallel_size: 1 },
    attempts: ready.map((server_ready_after_ms) => ({ server_ready_after_ms })),
  });

  it('are the median (warm) and the slowest (cold) of the recorded ones, per model, environment and parallelism', () => {
    const table = recordedStartups([
      outcome('m', 'vllm', 1, [40_000, null]),
      outcome('m', 'vllm', 1, [126_000]),
      outcome('m', 'vllm', 1, [38_000, 41_000]),
      outcome('m', 'lmcache', 1, [50_000]),
      outcome('m', 'vllm', 4, [200_000]),
      { configuration: { environment: 'vllm' }, attempts: [{ server_ready_after_ms: 1 }] },
    ]);
    expect(Object.keys(table).sort()).toEqual(['m in lmcache, TP 1 x PP 1', 'm in vllm, TP 1 x PP 1', 'm in vllm, TP 4 x PP 1']);
    expect(table['m in vllm, TP 1 x PP 1']).toMatchObject({ warm_s: 40.5, cold_s: 126 });
    expect(table['m in vllm, TP 1 x PP 1']!.source).toBe('4 starts recorded by earlier runs (median 40.5 s as warm, slowest 126 s as cold)');
    expect(table['m in vllm, TP 4 x PP 1']).toMatchObject({ warm_s: 200, cold_s: 200 });
  });

  it('default to the H200 figures on one GPU, an assumption on several, and the simulator its own', () => {
    const server = specs[0]!.server!;
    const gpu = (gpu_count: number): ExperimentSpec => ({ ...specs[0]!, gpu_count, server: { ...server, argv: ['vllm', 'serve', 'x'] } });
    expect(defaultStartup(gpu(1))).toBe(H200_ONE_GPU);
    expect(defaultStartup(gpu(4))).toBe(MULTI_GPU_ASSUMED);
    const delayed: ExperimentSpec = { ...specs[0]!, server: { ...server, argv: [...server.argv, '--startup-delay', '6', '--speed', '2'] } };
    expect(defaultStartup(delayed).warm_s).toBeCloseTo(3.3);
  });
});
