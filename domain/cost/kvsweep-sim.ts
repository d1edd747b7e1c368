// kvsweep's GPU pool in a discrete-event simulation, driven by the pool's own placement code
// (domain/placement.ts) the way workflows/gpu-pool.ts applies it: hosts register at the start,
// a sweep's first requests arrive in one signal, the pool places after every signal (request,
// release), an experiment releases its lease when its server is torn down and, when the attempt
// failed and attempts are left, asks again at once (at the back of the queue).
//
// Not modelled, because nothing in these sweeps triggers them: host loss and the GPUs it keeps
// booked, the 30 s check for holders terminated by hand, the 5-minute re-request of a lost grant.
import { emptyPool, enqueue, freeGpus, POOL_WAITING_ORDER, registerHost, release, schedule, type Lease, type LeaseRequest, type PoolState, type WaitingOrder } from '../placement.ts';
import { EventQueue } from './event-queue.ts';
import { figureOf, gpuIds, WarmCache, type AttemptSpan, type Overheads, type SimExperiment, type SimHost, type SimRun, type StartupFigure, type Submission } from './model.ts';
import type { RequestOrder } from './orders.ts';

export interface KvsweepSimInput {
  hosts: readonly SimHost[];
  submissions: readonly Submission[];
  startups: Readonly<Record<string, StartupFigure>>;
  overheads: Overheads;
  /** An order to study instead of the pool's: waiting requests are sorted by it, then placed oldest first. */
  order?: RequestOrder;
  /** The pool's own order to apply when `order` is not given; default: the pool's order today. */
  waiting_order?: WaitingOrder;
  policy?: string;
  /**
   * A what-if for server reuse (issue 18 point 4, not built): when an attempt succeeds and a first
   * attempt with the same reuse_key waits, it takes over the GPUs and the server, this long for the
   * cache reset instead of a start-up. Never delays anything: it only runs what waits anyway.
   */
  reuse_reset_s?: number;
  /** Called after every placement pass, with the pool's state: tests check invariants here. */
  afterPass?: (state: PoolState, nowS: number) => void;
}

type Event = { kind: 'submit'; submission: Submission } | { kind: 'release'; request_id: string };

interface Pending {
  experiment: SimExperiment;
  attempt: number;
  requested_s: number;
  span?: AttemptSpan;
}

export function simulateKvsweep(input: KvsweepSimInput): SimRun {
  const state = emptyPool();
  for (const host of input.hosts) {
    registerHost(state, { host_id: host.host_id, incarnation: 'sim', gpu_class: host.gpu_class, gpu_ids: gpuIds(host.gpu_count), task_queue: `sim/${host.host_id}`, heartbeat_timeout_s: 15 }, 0);
  }
  const events = new EventQueue<Event>();
  for (const submission of input.submissions) events.push(submission.at_s, { kind: 'submit', submission });
  const pending = new Map<string, Pending>();
  const arrival = new Map<string, number>();
  const attempts: AttemptSpan[] = [];
  const warm = new WarmCache();
  const { overheads } = input;

  const ask = (experiment: SimExperiment, attempt: number, nowS: number) => {
    const request_id = `${experiment.sweep}/${experiment.id}#${attempt}`;
    pending.set(request_id, { experiment, attempt, requested_s: nowS });
    arrival.set(request_id, arrival.size);
    const request: LeaseRequest = {
      request_id,
      holder: `${experiment.sweep}/${experiment.id}`,
      gpu_count: experiment.gpu_count,
      gpu_class: experiment.gpu_class,
      enqueued_ms: nowS * 1000,
      ...(experiment.expected_s === undefined ? {} : { expected_duration_s: experiment.expected_s }),
    };
    enqueue(state, request);
  };

  // Passes where a waiting request would fit had smaller requests not been given GPUs in that pass:
  // the order passed a larger request over.
  let passedOver = 0;
  const countPassedOver = (leases: readonly Lease[]) => {
    const over = state.waiting.some((r) =>
      Object.values(state.hosts).some((h) => {
        if (h.status !== 'online' || !(r.gpu_class === 'any' || r.gpu_class === h.gpu_class)) return false;
        const takenBySmaller = leases.filter((l) => l.host_id === h.host_id && l.gpu_ids.length < r.gpu_count).reduce((n, l) => n + l.gpu_ids.length, 0);
        return takenBySmaller > 0 && freeGpus(state, h.host_id).length + takenBySmaller >= r.gpu_count;
      }),
    );
    if (over) passedOver++;
  };

  const place = (nowS: number) => {
    if (input.order) state.waiting = [...state.waiting].sort(input.order);
    const leases = schedule(state, nowS * 1000, input.order ? 'arrival' : (input.waiting_order ?? POOL_WAITING_ORDER));
    countPassedOver(leases);
    if (input.order) state.waiting.sort((a, b) => arrival.get(a.request_id)! - arrival.get(b.request_id)!);
    for (const lease of leases) {
      const p = pending.get(lease.request_id)!;
      p.span = startAttempt(p, lease.host_id, lease.gpu_ids, nowS);
      events.push(p.span.held_until_s, { kind: 'release', request_id: lease.request_id });
    }
    input.afterPass?.(state, nowS);
  };

  const startAttempt = (p: Pending, hostId: string, gpus: string[], nowS: number): AttemptSpan => {
    const { experiment, attempt } = p;
    const spawned = nowS + overheads.spawn_s;
    const { startup_s, cold } = warm.startup(hostId, experiment, figureOf(input.startups, experiment), spawned);
    const base = { experiment_id: experiment.id, sweep: experiment.sweep, attempt, host_id: hostId, gpu_ids: gpus, requested_s: p.requested_s, held_from_s: nowS, spawned_s: spawned, cold };
    if (attempt <= experiment.failing_attempts) {
      // The server dies before it is ready; awaitServerReady fails as soon as the process exits.
      const died = spawned + experiment.fail_after_s;
      return { ...base, ready_s: null, server_end_s: died, held_until_s: died + overheads.failed_teardown_s, result: 'failed', replay_s: 0 };
    }
    const ready = spawned + startup_s;
    warm.ready(hostId, experiment, ready);
    const end = ready + overheads.client_start_s + experiment.client_s + overheads.collect_s + overheads.teardown_s;
    return { ...base, ready_s: ready, server_end_s: end, held_until_s: end, result: 'succeeded', replay_s: experiment.client_s };
  };

  // Server reuse (what-if): the next waiting first attempt of the same server takes the lease over.
  const handOver = (p: Pending, requestId: string, nowS: number): boolean => {
    const key = p.experiment.reuse_key;
    if (input.reuse_reset_s === undefined || key === undefined || p.span!.result !== 'succeeded') return false;
    const next = state.waiting.find((r) => pending.get(r.request_id)!.experiment.reuse_key === key && pending.get(r.request_id)!.attempt === 1);
    const lease = Object.values(state.leases).find((l) => l.request_id === requestId);
    if (!next || !lease) return false;
    state.waiting = state.waiting.filter((r) => r !== next);
    delete state.leases[lease.lease_id];
    state.leases[lease.lease_id] = { ...lease, request_id: next.request_id, holder: next.holder, granted_ms: nowS * 1000 };
    const q = pending.get(next.request_id)!;
    const ready = nowS + input.reuse_reset_s;
    const end = ready + overheads.client_start_s + q.experiment.client_s + overheads.collect_s + overheads.teardown_s;
    q.span = { experiment_id: q.experiment.id, sweep: q.experiment.sweep, attempt: 1, host_id: lease.host_id, gpu_ids: lease.gpu_ids, requested_s: q.requested_s, held_from_s: nowS, spawned_s: nowS, cold: false, reused_server: true, ready_s: ready, server_end_s: end, held_until_s: end, result: 'succeeded', replay_s: q.experiment.client_s };
    events.push(end, { kind: 'release', request_id: next.request_id });
    return true;
  };

  for (let next = events.pop(); next; next = events.pop()) {
    const { at, event } = next;
    if (event.kind === 'submit') {
      for (const experiment of event.submission.experiments) ask(experiment, 1, at);
    } else {
      const p = pending.get(event.request_id)!;
      pending.delete(event.request_id);
      attempts.push(p.span!);
      if (!handOver(p, event.request_id, at)) release(state, event.request_id);
      if (p.span!.result === 'failed' && p.attempt < p.experiment.max_attempts) ask(p.experiment, p.attempt + 1, at);
    }
    place(at);
  }

  const host_end_s: Record<string, number> = {};
  for (const host of input.hosts) host_end_s[host.host_id] = 0;
  for (const a of attempts) host_end_s[a.host_id] = Math.max(host_end_s[a.host_id]!, a.held_until_s);
  return {
    policy: input.policy ?? 'kvsweep',
    hosts: [...input.hosts],
    attempts,
    host_end_s,
    unplaceable: state.waiting.map((r) => pending.get(r.request_id)!.experiment.id),
    passed_over: passedOver,
  };
}
