import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  getExternalWorkflowHandle,
  patched,
  proxyActivities,
  type SignalDefinition,
  setCurrentDetails,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { createControlActivities } from '../activities/control.ts';
import type { createHostActivities } from '../activities/host.ts';
import { GPU_POOL_WORKFLOW_ID, Queries, Signals } from '../domain/names.ts';
import {
  confirmStopped,
  emptyPool,
  enqueue,
  freeGpus,
  POOL_WAITING_ORDER,
  registerHost,
  release,
  quarantine,
  removeHost,
  schedule,
  whyWaiting,
  type HostRegistration,
  type HostState,
  type Lease,
  type LeaseRequest,
  type PoolState,
  type QuarantinedLease,
  type WaitingOrder,
} from '../domain/placement.ts';

export const registerHostSignal = defineSignal<[HostRegistration]>(Signals.registerHost);
export const unregisterHostSignal = defineSignal<[{ host_id: string; incarnation: string }]>(Signals.unregisterHost);
export const requestLeaseSignal = defineSignal<[Omit<LeaseRequest, 'enqueued_ms'>]>(Signals.requestLease);
/** Sent by a sweep for the first attempts of the experiments it just started: one signal, not one each. */
export const requestLeasesSignal = defineSignal<[Array<Omit<LeaseRequest, 'enqueued_ms'>>]>(Signals.requestLeases);
/**
 * Gives a lease back. `host_unresponsive` says the holder stopped hearing from the lease's host (a
 * step timed out) without the pool having seen the host die: its server may still run there, so
 * the pool keeps the GPUs booked and asks the host to stop the lease's processes first.
 */
export const releaseLeaseSignal = defineSignal<[{ request_id: string; host_unresponsive?: string }]>(Signals.releaseLease);
/** Sent by the pool to an experiment. */
export const leaseGrantedSignal = defineSignal<[Lease]>(Signals.leaseGranted);
export const leaseRevokedSignal = defineSignal<[{ lease_id: string; reason: string }]>(Signals.leaseRevoked);

/**
 * Signals the pool from a workflow; a pool that is not running (a fresh namespace, or one reset by
 * hand) is started by `ensurePool` (the control activity of that name) and signalled again.
 */
export async function signalGpuPool<T>(signal: SignalDefinition<[T]>, arg: T, ensurePool: () => Promise<void>): Promise<void> {
  const pool = getExternalWorkflowHandle(GPU_POOL_WORKFLOW_ID);
  await pool.signal(signal, arg).catch(async () => {
    await ensurePool();
    await pool.signal(signal, arg);
  });
}

export interface PoolSnapshot {
  hosts: Array<HostState & { free_gpu_ids: string[] }>;
  leases: Lease[];
  waiting: Array<LeaseRequest & { reason: string }>;
  /** Leases given back by holders whose host stopped answering, until the host confirms them stopped. */
  quarantined: QuarantinedLease[];
}
export const poolQuery = defineQuery<PoolSnapshot>(Queries.pool);

/** Patch of the order among waiting requests (issue 18): runs recorded before it keep granting oldest first. */
export const WAITING_ORDER_PATCH = 'waiting-order-largest-longest';

/** Continue-as-new well before Temporal's 10,240-event warning: the state is small to carry. */
const HISTORY_EVENTS_BEFORE_CONTINUE = 4_000;
/** How often, while leases are held, the pool checks that their holders still run. */
const HOLDER_CHECK_INTERVAL_MS = 30_000;

const control = proxyActivities<ReturnType<typeof createControlActivities>>({ startToCloseTimeout: '1 minute', retry: { maximumAttempts: 3 } });

/** What the pool carries across continue-as-new. */
export interface PoolInput {
  /** Everything the pool knows (domain/placement.ts). */
  state?: PoolState;
  /** History events before it continues as new; tests lower it. */
  continue_as_new_after_events?: number;
}

/**
 * The GPU pool of a Temporal namespace: hosts register their GPUs, experiments of every sweep ask
 * for leases, and the pool grants them (domain/placement.ts) so that no GPU is booked twice and
 * none idles while a request that fits it waits. A watcher activity on each host's own queue
 * heartbeats while the host's worker lives; when it times out the host is lost, its leases are
 * revoked and their experiments move elsewhere. Runs forever, continuing as new to bound history.
 */
export async function GpuPoolWorkflow(input: PoolInput = {}): Promise<void> {
  const state = input.state ?? emptyPool();
  const order: WaitingOrder = patched(WAITING_ORDER_PATCH) ? POOL_WAITING_ORDER : 'arrival';
  const historyBudget = input.continue_as_new_after_events ?? HISTORY_EVENTS_BEFORE_CONTINUE;
  const watching = new Map<string, string>(); // host id -> incarnation under watch in this run
  let dirty = true;
  let inFlight = 0;
  const outbox: Array<() => Promise<void>> = [];

  const revokeAll = (leases: Lease[], reason: string) => {
    for (const lease of leases) {
      outbox.push(() => notify(lease.holder, () => getExternalWorkflowHandle(lease.holder).signal(leaseRevokedSignal, { lease_id: lease.lease_id, reason })));
    }
  };

  const watch = (host: HostState) => {
    if (host.status !== 'online' || watching.get(host.host_id) === host.incarnation) return;
    watching.set(host.host_id, host.incarnation);
    const timeout = `${host.heartbeat_timeout_s}s`;
    const { watchHost } = proxyActivities<ReturnType<typeof createHostActivities>>({
      taskQueue: host.task_queue,
      // A host is lost when its worker stops heartbeating, or never picks the watcher up.
      heartbeatTimeout: timeout,
      scheduleToStartTimeout: timeout,
      startToCloseTimeout: '3650 days',
      retry: { maximumAttempts: 1 },
    });
    watchHost({ host_id: host.host_id, incarnation: host.incarnation }).then(
      () => revokeAll(removeHost(state, host.host_id, host.incarnation, 'offline', Date.now()), `host ${host.host_id} went offline`),
      (error: unknown) => {
        const cause = error instanceof ActivityFailure ? error.cause : undefined;
        if (cause instanceof ApplicationFailure && cause.type === 'StaleIncarnation') return;
        const why = cause?.message ?? String(error);
        revokeAll(removeHost(state, host.host_id, host.incarnation, 'lost', Date.now()), `host ${host.host_id} lost: ${why}`);
      },
    ).finally(() => {
      if (watching.get(host.host_id) === host.incarnation) watching.delete(host.host_id);
      dirty = true;
    });
  };

  // Tells a holder about its lease; a holder that is gone gets its lease released instead.
  const notify = async (holder: string, send: () => Promise<void>) => {
    try {
      await send();
    } catch {
      for (const lease of Object.values(state.leases)) if (lease.holder === holder) release(state, lease.request_id);
      state.waiting = state.waiting.filter((r) => r.holder !== holder);
      dirty = true;
    }
  };

  // Asks a lease's host to stop what still runs under the lease's process keys (bounded: a host
  // that does not pick the task up within its heartbeat timeout is not waited for).
  const stopOnHost = (lease: Lease) =>
    proxyActivities<ReturnType<typeof createHostActivities>>({
      taskQueue: lease.task_queue,
      scheduleToStartTimeout: `${lease.heartbeat_timeout_s}s`,
      startToCloseTimeout: '1 minute',
      retry: { maximumAttempts: 2 },
    }).stopLeaseProcesses({ request_id: lease.request_id });

  // A quarantined lease's GPUs are free once its host says its processes stopped; until then (or
  // until the host is seen dead) it is asked again at every holder check.
  const stopping = new Set<string>();
  const stopQuarantined = (lease: QuarantinedLease) => {
    if (stopping.has(lease.lease_id)) return;
    stopping.add(lease.lease_id);
    inFlight++;
    void stopOnHost(lease)
      .then(() => confirmStopped(state, lease.lease_id), () => undefined)
      .finally(() => {
        stopping.delete(lease.lease_id);
        inFlight--;
        dirty = true;
      });
  };
  const quarantined = () => Object.values(state.quarantined ?? {});

  // A holder terminated by hand never releases its lease: find such leases, free their GPUs, and
  // have their hosts stop what still runs for them (the lease's process keys).
  let checking = false;
  const checkHolders = async () => {
    checking = true;
    try {
      const holders = [...new Set(Object.values(state.leases).map((l) => l.holder))];
      const gone = new Set(await control.closedWorkflows({ workflow_ids: holders }));
      for (const lease of Object.values(state.leases).filter((l) => gone.has(l.holder))) {
        release(state, lease.request_id);
        inFlight++;
        void stopOnHost(lease).catch(() => undefined).finally(() => inFlight--);
      }
      dirty = true;
    } finally {
      checking = false;
    }
  };

  setHandler(registerHostSignal, (host) => {
    revokeAll(registerHost(state, host, Date.now()), `host ${host.host_id} restarted`);
    dirty = true;
  });
  setHandler(unregisterHostSignal, ({ host_id, incarnation }) => {
    revokeAll(removeHost(state, host_id, incarnation, 'offline', Date.now()), `host ${host_id} went offline`);
    dirty = true;
  });
  const onRequest = (request: Omit<LeaseRequest, 'enqueued_ms'>) => {
    enqueue(state, { ...request, enqueued_ms: Date.now() });
    // A repeated request whose lease exists is answered again: the first answer may be lost
    // if the holder's previous run ended.
    const lease = Object.values(state.leases).find((l) => l.request_id === request.request_id);
    if (lease) outbox.push(() => notify(lease.holder, () => getExternalWorkflowHandle(lease.holder).signal(leaseGrantedSignal, lease)));
    dirty = true;
  };
  setHandler(requestLeaseSignal, onRequest);
  setHandler(requestLeasesSignal, (requests) => requests.forEach(onRequest));
  setHandler(releaseLeaseSignal, ({ request_id, host_unresponsive }) => {
    if (host_unresponsive === undefined) release(state, request_id);
    else {
      const lease = quarantine(state, request_id, host_unresponsive, Date.now());
      if (lease) stopQuarantined(lease);
    }
    dirty = true;
  });
  setHandler(poolQuery, () => ({
    hosts: Object.values(state.hosts).map((h) => ({ ...h, free_gpu_ids: freeGpus(state, h.host_id) })),
    leases: Object.values(state.leases),
    waiting: state.waiting.map((r) => ({ ...r, reason: whyWaiting(state, r) })),
    quarantined: quarantined(),
  }));

  // One timer per check interval, not one per wake-up: a condition with a timeout would start and
  // cancel a timer (two history events) every time a signal wakes the pool.
  let holderCheckDue = false;
  let holderTimerRunning = false;
  const armHolderCheck = () => {
    if (holderTimerRunning) return;
    holderTimerRunning = true;
    void sleep(HOLDER_CHECK_INTERVAL_MS).then(() => {
      holderTimerRunning = false;
      holderCheckDue = true;
    });
  };

  for (;;) {
    if (Object.keys(state.leases).length > 0 || quarantined().length > 0) armHolderCheck();
    await condition(() => dirty || outbox.length > 0 || holderCheckDue);
    if (holderCheckDue) {
      holderCheckDue = false;
      if (Object.keys(state.leases).length > 0 && !checking) {
        inFlight++;
        void checkHolders().catch(() => undefined).finally(() => inFlight--);
      }
      quarantined().forEach(stopQuarantined);
    }
    dirty = false;
    for (const host of Object.values(state.hosts)) watch(host);
    for (const lease of schedule(state, Date.now(), order)) {
      outbox.push(() => notify(lease.holder, () => getExternalWorkflowHandle(lease.holder).signal(leaseGrantedSignal, lease)));
    }
    // Sent without waiting for their delivery: the next grants must not queue behind this batch's
    // round trips. Each failure is handled where it happens (notify releases the holder's lease).
    for (const send of outbox.splice(0)) {
      inFlight++;
      void send().finally(() => inFlight--);
    }
    const online = Object.values(state.hosts).filter((h) => h.status === 'online');
    setCurrentDetails(
      `${online.length} hosts online, ${online.reduce((n, h) => n + freeGpus(state, h.host_id).length, 0)} GPUs free, ` +
        `${Object.keys(state.leases).length} leases, ${state.waiting.length} waiting`,
    );
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > historyBudget) {
      // Deliveries still in flight would lose their outcome with this run.
      await condition(() => inFlight === 0 && allHandlersFinished());
      await continueAsNew<typeof GpuPoolWorkflow>({ ...input, state });
    }
  }
}
