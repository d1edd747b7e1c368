// The inputs of the GPU-hours benchmark: the two sweeps of bench/sweeps/ planned by kvsweep's own
// config layer (12 Llama 70B experiments on 4 GPUs, 8 Qwen3 8B on one), replay times from their
// time limits and traces, start-up figures, and which attempts fail early.
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planSweep } from '../config-files/load-sweep.ts';
import { DRAIN_S } from '../domain/cost/estimate.ts';
import { replaySeconds, type SimExperiment, type StartupFigure } from '../domain/cost/model.ts';
import { H200_ONE_GPU, serverKeyOf } from '../domain/cost/startups.ts';
import type { ExperimentSpec } from '../domain/experiment.ts';
import { loadTrace } from '../loadgen/trace.ts';
import { DEFAULT_SYNTH_OPTIONS } from '../loadgen/trace-synth.ts';
import { writeSynthTrace } from '../loadgen/trace-cli.ts';
import { projectRoot } from '../platform/paths.ts';

/** Llama 70B in fp8 on 4 GPUs: not measured ("takes minutes"); these are the benchmark's choice. */
export const LLAMA_70B_STARTUP: StartupFigure = { warm_s: 180, cold_s: 480, source: 'chosen: 3 min warm, 8 min cold (not measured)' };
/** The other figures tried for it (sensitivity). */
export const LLAMA_70B_VARIANTS: StartupFigure[] = [
  { warm_s: 120, cold_s: 300, source: 'sensitivity: 2 min warm, 5 min cold' },
  LLAMA_70B_STARTUP,
  { warm_s: 360, cold_s: 900, source: 'sensitivity: 6 min warm, 15 min cold' },
];

/** Which attempts fail early, by position in the plan: [index, failing attempts, seconds after spawn]. */
export const FAILURES: Record<string, Array<[number, number, number]>> = {
  // An NCCL or CUDA error while the 4 ranks initialise: the 2nd attempt works.
  'llama-70b': [[2, 1, 60], [7, 1, 60]],
  // An out-of-memory while the cache is allocated (passes on a retry), and one that never starts
  // (a cache the host cannot allocate): it fails every attempt.
  'qwen-8b': [[1, 1, 20], [5, 99, 20]],
};

/** Twice as many (sensitivity). */
export const MORE_FAILURES: Record<string, Array<[number, number, number]>> = {
  'llama-70b': [[2, 1, 60], [5, 1, 60], [7, 1, 60], [10, 1, 60]],
  'qwen-8b': [[1, 1, 20], [3, 1, 20], [5, 99, 20], [6, 99, 20]],
};

/** The same experiments with other failures. */
export function withFailures(experiments: readonly SimExperiment[], failures: Array<[number, number, number]>): SimExperiment[] {
  const byIndex = new Map(failures.map((f) => [f[0], f]));
  return experiments.map((e, i) => ({ ...e, failing_attempts: byIndex.get(i)?.[1] ?? 0, fail_after_s: byIndex.get(i)?.[2] ?? 0 }));
}

export interface BenchSweep {
  name: string;
  specs: ExperimentSpec[];
  experiments: SimExperiment[];
  /** Recorded seconds spanned by the rows each dataset's replay sends. */
  trace_span_s: Record<string, number>;
}

/** One hour of synthetic conversations at each dataset path (the old sweeps' traces are one-hour production logs, not public). */
async function writeTraces(dir: string): Promise<void> {
  mkdirSync(join(dir, 'data'), { recursive: true });
  const hour = { ...DEFAULT_SYNTH_OPTIONS, conversations: 330, conversationRate: 0.1 };
  await writeSynthTrace(join(dir, 'data', 'cw_logs_5_29_5am_6am.csv'), { ...hour, seed: 529 });
  await writeSynthTrace(join(dir, 'data', 'cw_logs_5_28_19pm_20pm.csv'), { ...hour, seed: 528 });
}

async function traceSpan(path: string, numPrompts: number): Promise<number> {
  const trace = await loadTrace(path, { numPrompts });
  return (trace.turns.at(-1)?.offsetMs ?? 0) / 1000;
}

export function toSimExperiment(spec: ExperimentSpec, sweep: string, span: number | null, failure?: [number, number, number]): SimExperiment {
  const client_s = replaySeconds({ time_limit: spec.time_limit, request_rate: spec.request_rate, trace_span_s: span, drain_s: DRAIN_S });
  return {
    id: spec.id,
    sweep,
    server_key: serverKeyOf(spec),
    gpu_count: spec.gpu_count,
    gpu_class: spec.gpu_class,
    client_s,
    max_attempts: spec.max_attempts,
    failing_attempts: failure?.[1] ?? 0,
    fail_after_s: failure?.[2] ?? 0,
    // What an experiment tells the pool with its lease request (workflows/sweep.ts): its time limit.
    expected_s: spec.time_limit,
  };
}

export async function benchSweeps(): Promise<{ sweeps: BenchSweep[]; startups: Record<string, StartupFigure> }> {
  const dir = mkdtempSync(join(tmpdir(), 'kvsweep-bench-gpu-hours-'));
  await writeTraces(dir);
  const sweeps: BenchSweep[] = [];
  const startups: Record<string, StartupFigure> = {};
  for (const name of ['llama-70b', 'qwen-8b']) {
    copyFileSync(join(projectRoot, 'bench', 'sweeps', `${name}.yaml`), join(dir, `${name}.yaml`));
    const { experiments: specs } = await planSweep(join(dir, `${name}.yaml`), { cwd: dir, userConfigDir: null });
    const trace_span_s: Record<string, number> = {};
    for (const spec of specs) trace_span_s[spec.dataset.path] ??= await traceSpan(spec.dataset.path, spec.num_prompts);
    const failures = new Map((FAILURES[name] ?? []).map((f) => [f[0], f]));
    const experiments = specs.map((spec, i) => toSimExperiment(spec, name, trace_span_s[spec.dataset.path]!, failures.get(i)));
    for (const spec of specs) startups[serverKeyOf(spec)] = spec.gpu_count > 1 ? LLAMA_70B_STARTUP : H200_ONE_GPU;
    sweeps.push({ name, specs, experiments, trace_span_s });
  }
  return { sweeps, startups };
}

/** Between two experiments on one reused server: reset its caches and check them empty (assumed; reuse is not built). */
export const REUSE_RESET_S = 5;

/** Experiments of a sweep whose server command, environment and GPUs are identical share a reuse key (issue 18 point 4). */
export function withReuseKeys(sweep: BenchSweep, experiments: readonly SimExperiment[]): SimExperiment[] {
  return experiments.map((e, i) => {
    const spec = sweep.specs[i]!;
    return { ...e, reuse_key: JSON.stringify({ argv: spec.server?.argv, env: spec.server?.env, gpus: spec.gpu_count, class: spec.gpu_class }) };
  });
}
