// GPU placement: the state of the GPU pool and the pure decisions on it (who gets which GPUs).
// The GpuPoolWorkflow holds one PoolState and applies these functions to it, so the policy is
// tested here without Temporal. Workflow-safe: no Node APIs, no clocks (callers pass `now`).
//
// Policy: backfill in a chosen order. Each placement pass considers every waiting request once,
// most GPUs first, then the longest expected hold, then oldest (bench/gpu-hours.ts measured this
// order against FIFO and others: issue 18); a request waiting longer than MAX_WAIT_BEFORE_FIRST_MS
// goes before every younger one, oldest first, so no order keeps it waiting behind later arrivals.
// Each request is given the GPUs of the fitting host with the fewest free GPUs (best fit keeps
// large holes for large requests); a request that fits nowhere is skipped, not waited for, so no
// GPU stays idle while a request that fits it waits (work-conserving). The price: a stream of
// small requests can delay a large one that does not fit yet; the pool query reports it waiting.
// Pools that started before this order keep 'arrival' (oldest first) through the workflow's patch.

export interface HostRegistration {
  host_id: string;
  /** Changes each time the worker process on the host starts: leases of an older one are void. */
  incarnation: string;
  gpu_class: string;
  gpu_ids: string[];
  task_queue: string;
  /** Host-loss detection time this host asks for (its activities heartbeat well within it). */
  heartbeat_timeout_s: number;
}

export interface HostState extends HostRegistration {
  status: 'online' | 'offline' | 'lost';
  since_ms: number;
}

export interface LeaseRequest {
  /** Unique per attempt of an experiment: `<workflowId>#<attempt>`. */
  request_id: string;
  /** Workflow id of the experiment that waits for the lease. */
  holder: string;
  gpu_count: number;
  gpu_class: string;
  enqueued_ms: number;
  /** How long the requester expects to hold the lease (its time limit), when it says; unknown counts as 0. */
  expected_duration_s?: number;
}

/** Order of the requests a placement pass considers: 'arrival' is oldest first (pools before issue 18). */
export type WaitingOrder = 'arrival' | 'largest_longest';

/** A request waiting this long is considered before every younger one, whatever the order. */
export const MAX_WAIT_BEFORE_FIRST_MS = 4 * 3_600_000;

/** The order of the pool today (the workflow gates it with a patch for pools started before it). */
export const POOL_WAITING_ORDER: WaitingOrder = 'largest_longest';

export interface Lease {
  lease_id: string;
  request_id: string;
  holder: string;
  host_id: string;
  incarnation: string;
  task_queue: string;
  gpu_ids: string[];
  gpu_class: string;
  heartbeat_timeout_s: number;
  granted_ms: number;
}

/**
 * A lease given back by an experiment that stopped hearing from its host (a step timed out) while
 * the pool still sees the host alive: its server may still run there, so its GPUs stay booked until
 * the host confirms nothing of the lease runs, or the host is seen dead (lost, gone, restarted).
 */
export interface QuarantinedLease extends Lease {
  reason: string;
  since_ms: number;
}

/** Everything the pool knows; carried whole across continue-as-new. */
export interface PoolState {
  hosts: Record<string, HostState>;
  leases: Record<string, Lease>;
  waiting: LeaseRequest[];
  next_lease_number: number;
  /** By lease id. Absent in the state of a pool that continued as new before quarantine existed. */
  quarantined?: Record<string, QuarantinedLease>;
}

export function emptyPool(): PoolState {
  return { hosts: {}, leases: {}, waiting: [], next_lease_number: 1, quarantined: {} };
}

function leasesOfHost(state: PoolState, hostId: string): Lease[] {
  return Object.values(state.leases).filter((lease) => lease.host_id === hostId);
}

function quarantinedOfHost(state: PoolState, hostId: string): QuarantinedLease[] {
  return Object.values(state.quarantined ?? {}).filter((lease) => lease.host_id === hostId);
}

export function freeGpus(state: PoolState, hostId: string): string[] {
  const host = state.hosts[hostId];
  if (!host) return [];
  const used = new Set([...leasesOfHost(state, hostId), ...quarantinedOfHost(state, hostId)].flatMap((lease) => lease.gpu_ids));
  return host.gpu_ids.filter((id) => !used.has(id));
}

/** Quarantined leases of a host that was seen dead (all, or those of other incarnations) end. */
function endQuarantine(state: PoolState, hostId: string, keepIncarnation?: string): void {
  for (const lease of quarantinedOfHost(state, hostId)) {
    if (lease.incarnation !== keepIncarnation) delete state.quarantined![lease.lease_id];
  }
}

function classMatches(requested: string, host: HostState): boolean {
  return requested === 'any' || requested === host.gpu_class;
}

/** Removes the leases of a host (all, or those of other incarnations) and returns them. */
function revokeLeases(state: PoolState, hostId: string, keepIncarnation?: string): Lease[] {
  const revoked = leasesOfHost(state, hostId).filter((lease) => lease.incarnation !== keepIncarnation);
  for (const lease of revoked) delete state.leases[lease.lease_id];
  return revoked;
}

/**
 * A worker announced itself. A new incarnation means the previous worker process is gone and has
 * stopped its servers: its leases are revoked (returned, so holders can be told) and its GPUs free.
 */
export function registerHost(state: PoolState, host: HostRegistration, now: number): Lease[] {
  const revoked = revokeLeases(state, host.host_id, host.incarnation);
  endQuarantine(state, host.host_id, host.incarnation);
  state.hosts[host.host_id] = { ...host, gpu_ids: [...host.gpu_ids], status: 'online', since_ms: now };
  return revoked;
}

/** The host stopped (gracefully) or was found dead: no new leases; its leases are revoked. */
export function removeHost(state: PoolState, hostId: string, incarnation: string, status: 'offline' | 'lost', now: number): Lease[] {
  const host = state.hosts[hostId];
  if (!host || host.incarnation !== incarnation) return [];
  host.status = status;
  host.since_ms = now;
  endQuarantine(state, hostId);
  return revokeLeases(state, hostId);
}

/** Queues a request; a repeated request id is ignored (signals may be delivered twice). */
export function enqueue(state: PoolState, request: LeaseRequest): void {
  const known =
    state.waiting.some((r) => r.request_id === request.request_id) ||
    Object.values(state.leases).some((lease) => lease.request_id === request.request_id);
  if (!known) state.waiting.push(request);
}

/** Withdraws a request or releases its lease. Idempotent. Returns the released lease, if any. */
export function release(state: PoolState, requestId: string): Lease | undefined {
  state.waiting = state.waiting.filter((r) => r.request_id !== requestId);
  const lease = Object.values(state.leases).find((l) => l.request_id === requestId);
  if (lease) delete state.leases[lease.lease_id];
  return lease;
}

/**
 * The holder gave its lease back because the host stopped answering it, not because the lease's
 * processes ended: the lease moves to quarantine, its GPUs still booked. Returns the quarantined
 * lease (the pool then asks its host to stop the lease's processes), or nothing if the lease is
 * gone already (revoked: its host was seen dead).
 */
export function quarantine(state: PoolState, requestId: string, reason: string, now: number): QuarantinedLease | undefined {
  const lease = release(state, requestId);
  if (!lease) return undefined;
  const quarantined: QuarantinedLease = { ...lease, reason, since_ms: now };
  (state.quarantined ??= {})[lease.lease_id] = quarantined;
  return quarantined;
}

/** The host confirmed that nothing of a quarantined lease runs any more: its GPUs are free. */
export function confirmStopped(state: PoolState, leaseId: string): void {
  delete state.quarantined?.[leaseId];
}

/**
 * Grants every waiting request that fits somewhere now, considering them in `order`; returns the
 * new leases. The requests left waiting keep their arrival order.
 */
export function schedule(state: PoolState, now: number, order: WaitingOrder = 'arrival'): Lease[] {
  const granted: Lease[] = [];
  for (const request of considerationOrder(state.waiting, now, order)) {
    const lease = place(state, request, now);
    if (lease) granted.push(lease);
  }
  const placed = new Set(granted.map((lease) => lease.request_id));
  state.waiting = state.waiting.filter((r) => !placed.has(r.request_id));
  return granted;
}

const expectedHold = (r: LeaseRequest) => r.expected_duration_s ?? 0;

/** The waiting requests (in arrival order) in the order a pass considers them. */
export function considerationOrder(waiting: readonly LeaseRequest[], now: number, order: WaitingOrder): LeaseRequest[] {
  if (order === 'arrival') return [...waiting];
  const aged = (r: LeaseRequest) => now - r.enqueued_ms >= MAX_WAIT_BEFORE_FIRST_MS;
  // Sorts are stable: equal requests stay oldest first.
  const rest = waiting.filter((r) => !aged(r)).sort((a, b) => b.gpu_count - a.gpu_count || expectedHold(b) - expectedHold(a));
  return [...waiting.filter(aged), ...rest];
}

function place(state: PoolState, request: LeaseRequest, now: number): Lease | undefined {
  let best: { host: HostState; free: string[] } | undefined;
  for (const host of Object.values(state.hosts)) {
    if (host.status !== 'online' || !classMatches(request.gpu_class, host)) continue;
    const free = freeGpus(state, host.host_id);
    if (free.length < request.gpu_count) continue;
    if (!best || free.length < best.free.length || (free.length === best.free.length && host.host_id < best.host.host_id)) {
      best = { host, free };
    }
  }
  if (!best) return undefined;
  const lease: Lease = {
    lease_id: `${best.host.host_id}#${state.next_lease_number++}`,
    request_id: request.request_id,
    holder: request.holder,
    host_id: best.host.host_id,
    incarnation: best.host.incarnation,
    task_queue: best.host.task_queue,
    gpu_ids: best.free.slice(0, request.gpu_count),
    gpu_class: best.host.gpu_class,
    heartbeat_timeout_s: best.host.heartbeat_timeout_s,
    granted_ms: now,
  };
  state.leases[lease.lease_id] = lease;
  return lease;
}

/** Why a waiting request has not been placed: for the pool query and the status command. */
export function whyWaiting(state: PoolState, request: LeaseRequest): string {
  const candidates = Object.values(state.hosts).filter((h) => h.status === 'online' && classMatches(request.gpu_class, h));
  if (candidates.length === 0) return `no online host of GPU class '${request.gpu_class}'`;
  const largest = Math.max(...candidates.map((h) => h.gpu_ids.length));
  if (largest < request.gpu_count) return `needs ${request.gpu_count} GPUs on one host; the largest online host has ${largest}`;
  return 'waiting for GPUs to free up';
}
