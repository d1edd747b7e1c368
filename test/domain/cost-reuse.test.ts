// The server-reuse what-if of the GPU-hours model (issue 18 point 4, not built): a finished
// experiment hands its GPUs and server to a waiting first attempt of the same server, which then
// skips the start-up; it never holds back work that free GPUs could start.
import { describe, expect, it } from 'vitest';
import { simulateKvsweep } from '../../domain/cost/kvsweep-sim.ts';
import { measureRun } from '../../domain/cost/measures.ts';
import type { Overheads, SimExperiment } from '../../domain/cost/model.ts';

const NONE: Overheads = { spawn_s: 0, client_start_s: 0, collect_s: 0, teardown_s: 0, failed_teardown_s: 0 };
const STARTUPS = { s: { warm_s: 10, cold_s: 30, source: 'test' } };

function exp(id: string, client_s: number, more: Partial<SimExperiment> = {}): SimExperiment {
  return { id, sweep: 'w', server_key: 's', reuse_key: 'same', gpu_count: 1, gpu_class: 'any', client_s, max_attempts: 3, failing_attempts: 0, fail_after_s: 0, ...more };
}

const run = (gpus: number, experiments: SimExperiment[], reuse?: number) =>
  simulateKvsweep({ hosts: [{ host_id: 'h', gpu_count: gpus, gpu_class: 'g' }], submissions: [{ at_s: 0, experiments }], startups: STARTUPS, overheads: NONE, ...(reuse === undefined ? {} : { reuse_reset_s: reuse }) });

describe('server reuse, modelled', () => {
  it('runs a waiting experiment of the same server on it after a reset instead of a start-up', () => {
    const fresh = run(1, [exp('a', 100), exp('b', 100)]);
    const reused = run(1, [exp('a', 100), exp('b', 100)], 2);
    expect(measureRun(fresh).makespan_s).toBe(30 + 100 + 10 + 100);
    expect(measureRun(reused).makespan_s).toBe(30 + 100 + 2 + 100);
    expect(reused.attempts.map((a) => [a.experiment_id, a.held_from_s, a.ready_s, a.reused_server ?? false])).toEqual([['a', 0, 30, false], ['b', 130, 132, true]]);
  });

  it('does not hand over to another server, to a retry, or after a failed attempt', () => {
    expect(run(1, [exp('a', 100), exp('b', 100, { reuse_key: 'other' })], 2).attempts.some((a) => a.reused_server)).toBe(false);
    const failed = run(1, [exp('a', 100, { failing_attempts: 1, fail_after_s: 5 }), exp('b', 100)], 2);
    // a's first attempt fails: b starts its own server; a's retry starts a fresh one (retries get no reused server).
    expect(failed.attempts.map((x) => [x.experiment_id, x.attempt, x.reused_server ?? false])).toEqual([['a', 1, false], ['b', 1, false], ['a', 2, false]]);
  });

  it('never delays work: with a GPU free for each, both start at once on servers of their own', () => {
    const both = run(2, [exp('a', 100), exp('b', 100)], 2);
    expect(both.attempts.every((a) => a.held_from_s === 0 && !a.reused_server)).toBe(true);
  });
});
