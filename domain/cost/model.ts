// What a sweep costs in GPU time, modelled: the inputs of the discrete-event simulations (hosts,
// experiments, start-up figures, per-attempt overheads) and what they produce (one span per
// attempt). Used by bench/gpu-hours.ts (kvsweep's pool against the old runner's batches) and by
// the estimate `plan` prints. Pure: no Node APIs, no clocks; times are seconds from the start.

export interface SimHost {
  host_id: string;
  gpu_count: number;
  gpu_class: string;
}

/** How long a server takes from spawn to ready. Cold = the first start of it on a host (weights from disk). */
export interface StartupFigure {
  warm_s: number;
  cold_s: number;
  /** Where the figures come from, for the reader ("measured on an H200", "3 earlier runs"). */
  source: string;
}

export interface SimExperiment {
  id: string;
  /** The sweep it belongs to (the old runner runs one sweep file per invocation). */
  sweep: string;
  /** Servers with the same key load the same weights: a start after one became ready on that host is warm. */
  server_key: string;
  gpu_count: number;
  gpu_class: string;
  /** The replay: from the client's start to its end (time limit or trace end, plus the drain). */
  client_s: number;
  max_attempts: number;
  /** How many attempts, from the first, fail early (>= max_attempts: every attempt fails). */
  failing_attempts: number;
  /** A failing attempt's server dies this long after spawn (before it is ready). */
  fail_after_s: number;
  /** Expected duration of one attempt, for orders that want it (longest first). */
  expected_s?: number;
  /** Experiments with the same key have identical server command and environment: one server could run them in turn. */
  reuse_key?: string;
}

/** A sweep handed to the scheduler at `at_s`, its experiments in plan order. */
export interface Submission {
  at_s: number;
  experiments: SimExperiment[];
}

/** Per-attempt costs around the server's start-up and the replay. */
export interface Overheads {
  /** Lease granted (or batch started) to server spawned. */
  spawn_s: number;
  /** Client process start before the replay's clock starts. */
  client_start_s: number;
  /** Reading the results after the replay. */
  collect_s: number;
  /** SIGTERM to the server's exit (GPUs free). */
  teardown_s: number;
  /** Teardown of a server that already died. */
  failed_teardown_s: number;
}

/** One attempt of one experiment on its GPUs. */
export interface AttemptSpan {
  experiment_id: string;
  sweep: string;
  attempt: number;
  host_id: string;
  gpu_ids: string[];
  /** When the attempt asked for GPUs (its lease request, or its invocation's start). */
  requested_s: number;
  /** GPUs given to the attempt (lease granted, or batch started). */
  held_from_s: number;
  spawned_s: number;
  /** When the server was ready (null: it died first). */
  ready_s: number | null;
  /** The server process gone (died or torn down). */
  server_end_s: number;
  /** GPUs given back (lease released, or the batch over and its processes killed). */
  held_until_s: number;
  cold: boolean;
  /** Ran on the server of the attempt before it (server reuse what-if): no start-up. */
  reused_server?: boolean;
  result: 'succeeded' | 'failed';
  /** The replay's length when it ran. */
  replay_s: number;
}

export interface SimRun {
  policy: string;
  hosts: SimHost[];
  attempts: AttemptSpan[];
  /** When each host's last work ended: it is held by the sweep until then. */
  host_end_s: Record<string, number>;
  /** Experiments no host could ever take (too many GPUs, no host of their class). */
  unplaceable: string[];
  /** kvsweep's pool: passes that gave smaller requests the GPUs a larger waiting one needed. */
  passed_over?: number;
}

/** Replay seconds of one experiment: the time limit, or the trace's end at this replay speed if sooner, plus the drain. */
export function replaySeconds(input: { time_limit: number; request_rate: number; trace_span_s: number | null; drain_s: number }): number {
  const traceEnd = input.trace_span_s === null ? Number.POSITIVE_INFINITY : input.trace_span_s / input.request_rate;
  return Math.min(input.time_limit, traceEnd) + input.drain_s;
}

/** `count` GPU ids of a host, as workers register them. */
export function gpuIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => String(i));
}

/**
 * Tracks which servers have been ready on which host: a start is cold unless a server of the same
 * key became ready on that host before it was spawned (the weights are then in the page cache).
 */
export class WarmCache {
  private readonly readyAt = new Map<string, number>();

  startup(hostId: string, experiment: SimExperiment, figure: StartupFigure, spawnedS: number): { startup_s: number; cold: boolean } {
    const warmFrom = this.readyAt.get(`${hostId}\u0000${experiment.server_key}`);
    const cold = warmFrom === undefined || warmFrom > spawnedS;
    return { startup_s: cold ? figure.cold_s : figure.warm_s, cold };
  }

  ready(hostId: string, experiment: SimExperiment, readyS: number): void {
    const key = `${hostId}\u0000${experiment.server_key}`;
    const known = this.readyAt.get(key);
    if (known === undefined || readyS < known) this.readyAt.set(key, readyS);
  }
}

/** The startup figure of an experiment's server; a missing one is a caller's bug. */
export function figureOf(startups: Readonly<Record<string, StartupFigure>>, experiment: SimExperiment): StartupFigure {
  const figure = startups[experiment.server_key];
  if (!figure) throw new Error(`no start-up figure for server '${experiment.server_key}' (experiment ${experiment.id})`);
  return figure;
}
