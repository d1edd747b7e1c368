// What a simulated run cost. GPU time *held* is what a sweep costs: each host's GPUs from the
// start until that host's last work is over (a host with nothing left is given back at once, the
// kindest assumption for either tool); for the old runner that includes waiting for the slowest
// of a batch, the kills and sleeps, and readiness timeouts. *Server* time is GPUs with a server
// process on them; *useful* time is GPUs under a replay that produced results. Utilisation =
// useful / held. *Allocated* time is every host's GPUs until the whole sweep ends (hosts reserved
// for the sweep, as a cluster allocation of several nodes is).
import type { SimRun } from './model.ts';

export interface RunMeasures {
  policy: string;
  makespan_s: number;
  gpu_hours_held: number;
  gpu_hours_allocated: number;
  gpu_hours_server: number;
  gpu_hours_useful: number;
  /** useful / held. */
  utilisation: number;
  succeeded: number;
  failed_experiments: number;
  attempts: number;
  cold_starts: number;
  /** Longest wait of an attempt for its GPUs (request to grant). */
  max_wait_s: number;
}

const HOUR = 3600;

export function measureRun(run: SimRun): RunMeasures {
  const gpusOf = new Map(run.hosts.map((h) => [h.host_id, h.gpu_count]));
  const held = Object.entries(run.host_end_s).reduce((sum, [host, end]) => sum + (gpusOf.get(host) ?? 0) * end, 0);
  const server = run.attempts.reduce((sum, a) => sum + a.gpu_ids.length * (a.server_end_s - a.spawned_s), 0);
  const useful = run.attempts.reduce((sum, a) => sum + (a.result === 'succeeded' ? a.gpu_ids.length * a.replay_s : 0), 0);
  const succeededIds = new Set(run.attempts.filter((a) => a.result === 'succeeded').map((a) => `${a.sweep}/${a.experiment_id}`));
  const allIds = new Set(run.attempts.map((a) => `${a.sweep}/${a.experiment_id}`));
  const makespan = Math.max(0, ...Object.values(run.host_end_s));
  return {
    policy: run.policy,
    makespan_s: makespan,
    gpu_hours_held: held / HOUR,
    gpu_hours_allocated: (run.hosts.reduce((n, h) => n + h.gpu_count, 0) * makespan) / HOUR,
    gpu_hours_server: server / HOUR,
    gpu_hours_useful: useful / HOUR,
    utilisation: held > 0 ? useful / held : 0,
    succeeded: succeededIds.size,
    failed_experiments: allIds.size - succeededIds.size + run.unplaceable.length,
    attempts: run.attempts.length,
    cold_starts: run.attempts.filter((a) => a.cold && a.ready_s !== null).length,
    max_wait_s: Math.max(0, ...run.attempts.map((a) => a.held_from_s - a.requested_s)),
  };
}
