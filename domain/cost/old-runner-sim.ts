// The old Python runner's batch policy in a discrete-event model (its runner.py and
// resource_manager.py, read for this): one invocation runs one sweep file on one machine with
// `--gpus N`. It cuts the experiments, in plan order, into batches: an experiment that does not
// fit in what the current batch leaves of the N GPUs starts the next batch. Before each batch and
// after the last it kills every GPU process on the machine and sleeps 10 s. A batch's experiments
// start together and the next batch waits for the whole batch. Readiness is a search of the
// server log once a second, for at most 1,200 s; the log of a server that died never matches, so
// a server that dies at start-up costs the full 1,200 s. A failed experiment is not retried.
//
// Sweeps on one machine run one invocation after another (two at once would kill each other's
// servers: the kill between batches is machine-wide, and both would number their GPUs from 0).
import { figureOf, WarmCache, type AttemptSpan, type Overheads, type SimExperiment, type SimHost, type SimRun, type StartupFigure } from './model.ts';

export interface OldRunnerCosts {
  /** pkill + nvidia-smi kill -9 + the 10 s sleep, before each batch and after the last. */
  kill_s: number;
  /** How long it waits for the ready line before giving up (its default: 1,200 s). */
  ready_timeout_s: number;
  /** How often it reads the server log for the ready line. */
  ready_poll_s: number;
}

export const OLD_RUNNER_COSTS: OldRunnerCosts = { kill_s: 10, ready_timeout_s: 1200, ready_poll_s: 1 };

export interface OldRunnerInput {
  hosts: readonly SimHost[];
  /** Per host, the sweeps run on it, one invocation after another, each its experiments in plan order. */
  invocations: Readonly<Record<string, ReadonlyArray<readonly SimExperiment[]>>>;
  startups: Readonly<Record<string, StartupFigure>>;
  overheads: Overheads;
  costs?: OldRunnerCosts;
  /** After its sweeps, each host runs once more the experiments that failed (what a user does to get them). */
  rerun_failures?: boolean;
  policy?: string;
}

/** The old runner's batches: consecutive experiments while they fit in `gpus`. */
export function oldRunnerBatches<T extends { gpu_count: number }>(experiments: readonly T[], gpus: number): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let used = 0;
  for (const experiment of experiments) {
    if (used + experiment.gpu_count > gpus) {
      if (current.length > 0) batches.push(current);
      current = [experiment];
      used = experiment.gpu_count;
    } else {
      current.push(experiment);
      used += experiment.gpu_count;
    }
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

export function simulateOldRunner(input: OldRunnerInput): SimRun {
  const costs = input.costs ?? OLD_RUNNER_COSTS;
  const { overheads } = input;
  const attempts: AttemptSpan[] = [];
  const unplaceable: string[] = [];
  const host_end_s: Record<string, number> = {};
  const warm = new WarmCache();

  const runExperiment = (experiment: SimExperiment, attempt: number, hostId: string, gpus: string[], invokedS: number, batchS: number): AttemptSpan => {
    const spawned = batchS + overheads.spawn_s;
    const { startup_s, cold } = warm.startup(hostId, experiment, figureOf(input.startups, experiment), spawned);
    const base = { experiment_id: experiment.id, sweep: experiment.sweep, attempt, host_id: hostId, gpu_ids: gpus, requested_s: invokedS, held_from_s: batchS, spawned_s: spawned, cold };
    if (attempt <= experiment.failing_attempts) {
      // The log never shows the ready line: the runner waits out its readiness timeout.
      const died = spawned + experiment.fail_after_s;
      return { ...base, ready_s: null, server_end_s: died, held_until_s: spawned + costs.ready_timeout_s, result: 'failed', replay_s: 0 };
    }
    const ready = spawned + startup_s;
    warm.ready(hostId, experiment, ready);
    const noticed = spawned + Math.ceil(startup_s / costs.ready_poll_s) * costs.ready_poll_s;
    // Its client counts the time limit from its own start: no client start-up on top.
    const end = noticed + experiment.client_s + overheads.collect_s + overheads.teardown_s;
    return { ...base, ready_s: ready, server_end_s: end, held_until_s: end, result: 'succeeded', replay_s: experiment.client_s };
  };

  /** One invocation on a host from `startS`; returns when it exits. */
  const invoke = (host: SimHost, experiments: readonly SimExperiment[], attempt: number, startS: number): number => {
    let t = startS;
    const fitting = experiments.filter((e) => {
      if (e.gpu_count <= host.gpu_count && (e.gpu_class === 'any' || e.gpu_class === host.gpu_class)) return true;
      unplaceable.push(e.id);
      return false;
    });
    for (const batch of oldRunnerBatches(fitting, host.gpu_count)) {
      t += costs.kill_s;
      let next = 0;
      const spans = batch.map((experiment) => {
        const gpus = Array.from({ length: experiment.gpu_count }, (_, i) => String(next + i));
        next += experiment.gpu_count;
        return runExperiment(experiment, attempt, host.host_id, gpus, startS, t);
      });
      const batchEnd = Math.max(...spans.map((s) => s.held_until_s));
      // Its GPUs are nobody else's until the batch is over.
      for (const span of spans) attempts.push({ ...span, held_until_s: batchEnd });
      t = batchEnd;
    }
    return t + costs.kill_s;
  };

  for (const host of input.hosts) {
    let t = 0;
    const sweeps = input.invocations[host.host_id] ?? [];
    for (const sweep of sweeps) t = invoke(host, sweep, 1, t);
    if (input.rerun_failures) {
      for (const sweep of sweeps) {
        const failed = sweep.filter((e) => attempts.some((a) => a.host_id === host.host_id && a.experiment_id === e.id && a.sweep === e.sweep && a.result === 'failed'));
        if (failed.length > 0) t = invoke(host, failed, 2, t);
      }
    }
    host_end_s[host.host_id] = t;
  }
  return { policy: input.policy ?? 'old runner', hosts: [...input.hosts], attempts, host_end_s, unplaceable };
}
