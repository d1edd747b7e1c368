// The GPU-hours models (domain/cost/): kvsweep's pool driven through domain/placement.ts and the
// old runner's batches, on cases small enough to work out by hand.
import { describe, expect, it } from 'vitest';
import { EventQueue } from '../../domain/cost/event-queue.ts';
import { simulateKvsweep } from '../../domain/cost/kvsweep-sim.ts';
import { measureRun } from '../../domain/cost/measures.ts';
import { replaySeconds, type Overheads, type SimExperiment, type SimHost } from '../../domain/cost/model.ts';
import { oldRunnerBatches, simulateOldRunner } from '../../domain/cost/old-runner-sim.ts';
import { REQUEST_ORDERS } from '../../domain/cost/orders.ts';

const NONE: Overheads = { spawn_s: 0, client_start_s: 0, collect_s: 0, teardown_s: 0, failed_teardown_s: 0 };
const STARTUPS = { s: { warm_s: 10, cold_s: 30, source: 'test' } };

function exp(id: string, client_s: number, more: Partial<SimExperiment> = {}): SimExperiment {
  return { id, sweep: 'w', server_key: 's', gpu_count: 1, gpu_class: 'any', client_s, max_attempts: 3, failing_attempts: 0, fail_after_s: 0, expected_s: client_s, ...more };
}

function host(id: string, gpus: number): SimHost {
  return { host_id: id, gpu_count: gpus, gpu_class: 'h200' };
}

function kvsweep(hosts: SimHost[], experiments: SimExperiment[], order = REQUEST_ORDERS.fifo!) {
  return simulateKvsweep({ hosts, submissions: [{ at_s: 0, experiments }], startups: STARTUPS, overheads: NONE, order });
}

const spans = (run: ReturnType<typeof kvsweep>) => run.attempts.map((a) => [a.experiment_id, a.attempt, a.held_from_s, a.ready_s, a.held_until_s, a.cold]);

describe('event queue', () => {
  it('yields events by time, and in insertion order at equal times', () => {
    const q = new EventQueue<string>();
    for (const [at, name] of [[5, 'c'], [1, 'a'], [5, 'd'], [3, 'b'], [1, 'a2']] as const) q.push(at, name);
    const out: string[] = [];
    for (let e = q.pop(); e; e = q.pop()) out.push(e.event);
    expect(out).toEqual(['a', 'a2', 'b', 'c', 'd']);
  });
});

describe("kvsweep's pool, simulated", () => {
  it('grants GPUs as they free up; the first start of a server on a host is cold, later ones warm', () => {
    const run = kvsweep([host('h', 2)], [exp('e1', 100), exp('e2', 50), exp('e3', 20)]);
    expect(spans(run)).toEqual([
      ['e2', 1, 0, 30, 80, true],
      ['e3', 1, 80, 90, 110, false],
      ['e1', 1, 0, 30, 130, true],
    ]);
    const m = measureRun(run);
    expect(m.makespan_s).toBe(130);
    expect(m.gpu_hours_held * 3600).toBeCloseTo(260);
    expect(m.gpu_hours_server * 3600).toBeCloseTo(130 + 80 + 30);
    expect(m.gpu_hours_useful * 3600).toBeCloseTo(170);
    expect(m.utilisation).toBeCloseTo(170 / 260);
    expect(m.cold_starts).toBe(2);
  });

  it('retries a failed attempt at the back of the queue, up to max_attempts', () => {
    const run = kvsweep([host('h', 1)], [exp('e1', 40, { failing_attempts: 1, fail_after_s: 5 }), exp('e2', 10)]);
    expect(spans(run)).toEqual([
      ['e1', 1, 0, null, 5, true],
      ['e2', 1, 5, 35, 45, true],
      ['e1', 2, 45, 55, 95, false],
    ]);
    const forever = kvsweep([host('h', 1)], [exp('bad', 40, { failing_attempts: 99, fail_after_s: 5, max_attempts: 3 })]);
    expect(forever.attempts.map((a) => [a.attempt, a.result])).toEqual([[1, 'failed'], [2, 'failed'], [3, 'failed']]);
    expect(measureRun(forever).failed_experiments).toBe(1);
  });

  it('reports what no host can take and still ends', () => {
    const run = kvsweep([host('h', 4)], [exp('big', 10, { gpu_count: 8 }), exp('small', 10)]);
    expect(run.unplaceable).toEqual(['big']);
    expect(run.attempts.map((a) => a.experiment_id)).toEqual(['small']);
  });

  it('places waiting requests in the order it is given, through the pool code', () => {
    const experiments = [exp('one', 10), exp('four', 10, { gpu_count: 4 })];
    expect(kvsweep([host('h', 4)], experiments).attempts.map((a) => [a.experiment_id, a.held_from_s])).toEqual([['one', 0], ['four', 40]]);
    expect(kvsweep([host('h', 4)], experiments, REQUEST_ORDERS.largest).attempts.map((a) => [a.experiment_id, a.held_from_s])).toEqual([['four', 0], ['one', 40]]);
  });

  it('adds its overheads around each attempt', () => {
    const overheads: Overheads = { spawn_s: 0.1, client_start_s: 1, collect_s: 1, teardown_s: 5, failed_teardown_s: 2 };
    const run = simulateKvsweep({ hosts: [host('h', 1)], submissions: [{ at_s: 0, experiments: [exp('f', 9, { failing_attempts: 1, fail_after_s: 3 })] }], startups: STARTUPS, overheads });
    const [failed, ok] = run.attempts;
    expect(failed!.held_until_s).toBeCloseTo(0.1 + 3 + 2);
    expect(ok!.held_from_s).toBeCloseTo(5.1);
    expect(ok!.held_until_s).toBeCloseTo(5.1 + 0.1 + 30 + 1 + 9 + 1 + 5);
  });
});

describe("the old runner's batches, simulated", () => {
  it.each([
    [[4, 4, 4], 8, [[4, 4], [4]]],
    [[1, 4, 4, 1], 8, [[1, 4], [4, 1]]],
    [[1, 1, 1, 1, 1], 4, [[1, 1, 1, 1], [1]]],
    [[2, 1, 2, 2, 1], 4, [[2, 1], [2, 2], [1]]],
  ])('cuts %j on %i GPUs into consecutive batches %j', (sizes, gpus, expected) => {
    const batches = oldRunnerBatches(sizes.map((gpu_count) => ({ gpu_count })), gpus);
    expect(batches.map((b) => b.map((e) => e.gpu_count))).toEqual(expected);
  });

  const old = (experiments: SimExperiment[], rerun = false) =>
    simulateOldRunner({ hosts: [host('h', 2)], invocations: { h: [experiments] }, startups: STARTUPS, overheads: NONE, rerun_failures: rerun });

  it('kills and sleeps before each batch and after the last; a batch waits for its slowest', () => {
    const run = old([exp('e1', 100), exp('e2', 50), exp('e3', 20)]);
    expect(spans(run)).toEqual([
      ['e1', 1, 10, 40, 140, true],
      ['e2', 1, 10, 40, 140, true],
      ['e3', 1, 150, 160, 180, false],
    ]);
    expect(run.host_end_s).toEqual({ h: 190 });
    expect(measureRun(run).gpu_hours_held * 3600).toBeCloseTo(380);
  });

  it('notices readiness on its once-a-second poll', () => {
    const run = simulateOldRunner({ hosts: [host('h', 1)], invocations: { h: [[exp('e', 100)]] }, startups: { s: { warm_s: 10.2, cold_s: 30.2, source: 'test' } }, overheads: NONE });
    expect(run.attempts[0]!.held_until_s).toBeCloseTo(10 + 31 + 100);
  });

  it('waits out its 1,200 s readiness timeout for a server that died, and reruns failures only when asked', () => {
    const run = old([exp('e1', 100), exp('e2', 50, { failing_attempts: 1, fail_after_s: 5 })]);
    expect(run.attempts.map((a) => [a.experiment_id, a.result, a.server_end_s, a.held_until_s])).toEqual([
      ['e1', 'succeeded', 140, 1210],
      ['e2', 'failed', 15, 1210],
    ]);
    expect(run.host_end_s.h).toBe(1220);
    const rerun = old([exp('e1', 100), exp('e2', 50, { failing_attempts: 1, fail_after_s: 5 })], true);
    expect(rerun.attempts.at(-1)).toMatchObject({ experiment_id: 'e2', attempt: 2, result: 'succeeded', held_from_s: 1230 });
    expect(rerun.host_end_s.h).toBe(1230 + 10 + 50 + 10);
  });

  it('runs the sweeps of a host one after another, and each host on its own', () => {
    const run = simulateOldRunner({
      hosts: [host('a', 1), host('b', 1)],
      invocations: { a: [[exp('x', 10)], [exp('y', 10, { sweep: 'other' })]], b: [[exp('z', 10)]] },
      startups: STARTUPS,
      overheads: NONE,
    });
    expect(run.host_end_s).toEqual({ a: 10 + 30 + 10 + 10 + 10 + 10 + 10 + 10, b: 10 + 30 + 10 + 10 });
  });
});

describe('replay time', () => {
  it.each([
    [{ time_limit: 2400, request_rate: 1, trace_span_s: 3600, drain_s: 5 }, 2405],
    [{ time_limit: 2400, request_rate: 2, trace_span_s: 3600, drain_s: 5 }, 1805],
    [{ time_limit: 60, request_rate: 6, trace_span_s: 61, drain_s: 0 }, 61 / 6],
    [{ time_limit: 60, request_rate: 6, trace_span_s: null, drain_s: 5 }, 65],
  ])('%j -> %f s', (input, expected) => {
    expect(replaySeconds(input)).toBeCloseTo(expected);
  });
});
