// What a sweep will cost before it starts (`kvsweep plan`): its wall time and GPU-hours on
// `--gpus N` or on a set of hosts, from the same simulation of kvsweep's pool the GPU-hours
// benchmark uses, assuming every experiment succeeds on its first attempt. Each figure says where
// it comes from. Pure: the caller reads the traces and earlier outcomes.
import type { ExperimentSpec } from '../experiment.ts';
import { simulateKvsweep } from './kvsweep-sim.ts';
import { measureRun } from './measures.ts';
import { replaySeconds, type Overheads, type SimExperiment, type SimHost, type StartupFigure } from './model.ts';
import type { RequestOrder } from './orders.ts';
import { defaultStartup, isSimulator, serverKeyOf } from './startups.ts';

/** kvsweep's own costs around each attempt (docs/benchmarks.md, Orchestration; a GPU server's exit). */
export const KVSWEEP_OVERHEADS: Overheads = { spawn_s: 0.1, client_start_s: 1, collect_s: 1, teardown_s: 5, failed_teardown_s: 1 };
/** The same with kvsweep's simulator, which exits within milliseconds of SIGTERM. */
export const SIMULATOR_OVERHEADS: Overheads = { ...KVSWEEP_OVERHEADS, teardown_s: 0.1, failed_teardown_s: 0.1 };
/** Requests still running at the time limit get this long before they are aborted (the load generator's grace). */
export const DRAIN_S = 5;

export interface EstimateOptions {
  /** Per dataset path: recorded seconds spanned by the rows the replay sends; absent or null when not read. */
  trace_span_s?: Readonly<Record<string, number | null>>;
  overheads?: Overheads;
  order?: RequestOrder;
}

export interface StartupUse extends StartupFigure {
  server_key: string;
  experiments: number;
}

export interface SweepEstimate {
  wall_s: number;
  /** GPUs of every host from the start until its last experiment ends. */
  gpu_hours: number;
  /** GPUs with a server on them. */
  gpu_hours_server: number;
  hosts: SimHost[];
  experiments: number;
  /** Experiments no host can take. */
  unplaceable: string[];
  startups: StartupUse[];
  /** How the replay times were found, one line per kind. */
  replay_sources: string[];
  assumptions: string[];
}

function hostsOf(capacity: readonly SimHost[] | number): SimHost[] {
  if (typeof capacity !== 'number') return [...capacity];
  return [{ host_id: 'local', gpu_count: capacity, gpu_class: 'any' }];
}

export function estimateSweep(
  experiments: readonly ExperimentSpec[],
  capacity: readonly SimHost[] | number,
  startupTimes: Readonly<Record<string, StartupFigure>>,
  options: EstimateOptions = {},
): SweepEstimate {
  const hosts = hostsOf(capacity);
  const anyClass = typeof capacity === 'number';
  const startups: Record<string, StartupFigure> = {};
  const uses = new Map<string, number>();
  const replayKinds = new Map<string, number>();
  const sims: SimExperiment[] = experiments.map((spec) => {
    const key = serverKeyOf(spec);
    startups[key] ??= startupTimes[key] ?? defaultStartup(spec);
    uses.set(key, (uses.get(key) ?? 0) + 1);
    const span = options.trace_span_s?.[spec.dataset.path] ?? null;
    const client_s = replaySeconds({ time_limit: spec.time_limit, request_rate: spec.request_rate, trace_span_s: span, drain_s: DRAIN_S });
    const kind = span === null ? 'the time limit (trace not read)' : client_s - DRAIN_S < spec.time_limit ? "the trace's span at its replay rate" : 'the time limit (the trace is longer)';
    replayKinds.set(kind, (replayKinds.get(kind) ?? 0) + 1);
    return {
      id: spec.id,
      sweep: 'plan',
      server_key: key,
      gpu_count: spec.gpu_count,
      gpu_class: anyClass ? 'any' : spec.gpu_class,
      client_s,
      max_attempts: spec.max_attempts,
      failing_attempts: 0,
      fail_after_s: 0,
      // What the experiment tells the pool (workflows/sweep.ts): its time limit.
      expected_s: spec.time_limit,
    };
  });
  const run = simulateKvsweep({
    hosts,
    submissions: [{ at_s: 0, experiments: sims }],
    startups,
    overheads: options.overheads ?? (experiments.every(isSimulator) ? SIMULATOR_OVERHEADS : KVSWEEP_OVERHEADS),
    ...(options.order ? { order: options.order } : {}),
  });
  const measures = measureRun(run);
  return {
    wall_s: measures.makespan_s,
    gpu_hours: measures.gpu_hours_held,
    gpu_hours_server: measures.gpu_hours_server,
    hosts,
    experiments: experiments.length,
    unplaceable: run.unplaceable,
    startups: [...uses].map(([server_key, count]) => ({ server_key, experiments: count, ...startups[server_key]! })),
    replay_sources: [...replayKinds].map(([kind, count]) => `${count} experiment${count === 1 ? '' : 's'}: replay = ${kind} + ${DRAIN_S} s drain`),
    assumptions: [
      'every experiment succeeds on its first attempt (a retry adds its start-up and replay again)',
      'a server is cold (slower) the first time it starts on a host, warm after one became ready there',
      ...(anyClass ? ['GPU classes are not checked (--gpus N: one host of N GPUs)'] : []),
    ],
  };
}
