// Start-up figures for the cost model: recorded ones (attempts in earlier outcome.json files carry
// server_ready_after_ms), else kvsweep's defaults, each saying where it comes from. Pure: the
// caller reads the outcome files.
import type { ExperimentSpec } from '../experiment.ts';
import type { StartupFigure } from './model.ts';

/** Servers that load the same weights the same way: same model, environment and parallelism. */
export function serverKeyOf(x: { huggingface_path: string; environment: string; tensor_parallel_size: number; pipeline_parallel_size: number }): string {
  return `${x.huggingface_path} in ${x.environment}, TP ${x.tensor_parallel_size} x PP ${x.pipeline_parallel_size}`;
}

/** The part of an outcome.json the lookup reads (checked by its schema where it is read). */
export interface RecordedOutcome {
  configuration: Record<string, unknown>;
  attempts: ReadonlyArray<{ server_ready_after_ms: number | null }>;
}

function keyOfConfiguration(c: Record<string, unknown>): string | null {
  const { huggingface_path, environment, tensor_parallel_size, pipeline_parallel_size } = c;
  if (typeof huggingface_path !== 'string' || typeof environment !== 'string') return null;
  if (typeof tensor_parallel_size !== 'number' || typeof pipeline_parallel_size !== 'number') return null;
  return serverKeyOf({ huggingface_path, environment, tensor_parallel_size, pipeline_parallel_size });
}

function median(sorted: readonly number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Recorded start-ups per server key: warm = the median, cold = the slowest (a first start, weights
 * read from disk, is the slow one). Attempts whose server never became ready are not start-ups.
 */
export function recordedStartups(outcomes: readonly RecordedOutcome[]): Record<string, StartupFigure> {
  const seconds = new Map<string, number[]>();
  for (const outcome of outcomes) {
    const key = keyOfConfiguration(outcome.configuration);
    if (key === null) continue;
    for (const attempt of outcome.attempts) {
      if (attempt.server_ready_after_ms === null) continue;
      const list = seconds.get(key) ?? [];
      list.push(attempt.server_ready_after_ms / 1000);
      seconds.set(key, list);
    }
  }
  const table: Record<string, StartupFigure> = {};
  for (const [key, list] of seconds) {
    const sorted = [...list].sort((a, b) => a - b);
    const warm = median(sorted);
    const cold = sorted[sorted.length - 1]!;
    const round = (s: number) => Math.round(s * 10) / 10;
    table[key] = {
      warm_s: warm,
      cold_s: cold,
      source: `${sorted.length} start${sorted.length === 1 ? '' : 's'} recorded by earlier runs (median ${round(warm)} s as warm, slowest ${round(cold)} s as cold)`,
    };
  }
  return table;
}

/** Measured with vLLM 0.26 on one H200 (Qwen3-8B-FP8): ready after 38-41 s warm, 126 s on the first, cold start. */
export const H200_ONE_GPU: StartupFigure = { warm_s: 40, cold_s: 126, source: 'measured: Qwen3-8B on one H200 (38-41 s warm, 126 s cold), no earlier run of this server' };
/** Not measured ("takes minutes" for Llama 70B in fp8 on 4 GPUs): chosen, see docs/benchmarks.md. */
export const MULTI_GPU_ASSUMED: StartupFigure = { warm_s: 180, cold_s: 480, source: 'assumed: a 70B model on 4 GPUs, 3 min warm, 8 min cold; no earlier run of this server' };

/** The simulator's start-up: about 0.3 s of process start plus its --startup-delay divided by --speed. */
function simulatorStartup(spec: ExperimentSpec): StartupFigure {
  const argv = spec.server?.argv ?? [];
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    const n = i >= 0 ? Number(argv[i + 1]) : Number.NaN;
    return Number.isFinite(n) ? n : null;
  };
  const delay = value('--startup-delay') ?? 0;
  const speed = value('--speed') ?? 1;
  const s = 0.3 + delay / speed;
  return { warm_s: s, cold_s: s, source: `kvsweep's simulator: ~0.3 s to start plus its --startup-delay (${delay} s); no earlier run of this server` };
}

/** Whether the experiment's server is kvsweep's simulator (`{kvsweep} sim serve ...`). */
export function isSimulator(spec: ExperimentSpec): boolean {
  // An offline experiment has no server.
  const [program, command] = spec.server?.argv ?? [];
  return program === '{kvsweep}' && command === 'sim';
}

/** The figure an experiment's server gets when no earlier run recorded one. */
export function defaultStartup(spec: ExperimentSpec): StartupFigure {
  if (isSimulator(spec)) return simulatorStartup(spec);
  return spec.gpu_count > 1 ? MULTI_GPU_ASSUMED : H200_ONE_GPU;
}
