// The GPU pool's decisions, without Temporal: work-conserving backfill, best fit, no double
// booking, classes, hosts that restart, leave or are lost.
import { describe, expect, it } from 'vitest';
import { confirmStopped, emptyPool, enqueue, freeGpus, quarantine, registerHost, release, removeHost, schedule, whyWaiting, type HostRegistration, type PoolState } from '../../domain/placement.ts';

function host(id: string, gpus: number, gpuClass = 'a100', incarnation = 'i1'): HostRegistration {
  return { host_id: id, incarnation, gpu_class: gpuClass, gpu_ids: Array.from({ length: gpus }, (_, i) => String(i)), task_queue: `q/${id}`, heartbeat_timeout_s: 10 };
}

function request(state: PoolState, id: string, gpus: number, gpuClass = 'any') {
  enqueue(state, { request_id: id, holder: `wf-${id}`, gpu_count: gpus, gpu_class: gpuClass, enqueued_ms: 0 });
}

function allLeasedGpus(state: PoolState): string[] {
  return Object.values(state.leases).flatMap((l) => l.gpu_ids.map((g) => `${l.host_id}:${g}`));
}

describe('GPU placement', () => {
  it('backfills: a request that fits runs while a larger one waits', () => {
    const state = emptyPool();
    registerHost(state, host('h', 2), 0);
    request(state, 'a', 1);
    schedule(state, 0);
    request(state, 'big', 2);
    request(state, 'small', 1);
    const granted = schedule(state, 1);
    expect(granted.map((l) => l.request_id)).toEqual(['small']);
    expect(state.waiting.map((r) => r.request_id)).toEqual(['big']);
    expect(freeGpus(state, 'h')).toEqual([]);
  });

  it('never books a GPU twice, whatever the order of requests and releases', () => {
    const state = emptyPool();
    registerHost(state, host('h1', 1), 0);
    registerHost(state, host('h2', 2), 0);
    registerHost(state, host('h4', 4), 0);
    const sizes = [1, 2, 1, 4, 2, 1, 1, 2, 1, 1, 4, 2];
    sizes.forEach((n, i) => request(state, `r${i}`, n));
    for (let round = 0; round < 20; round++) {
      schedule(state, round);
      const leased = allLeasedGpus(state);
      expect(new Set(leased).size).toBe(leased.length);
      const oldest = Object.values(state.leases)[0];
      if (oldest) release(state, oldest.request_id);
    }
    expect(state.waiting).toEqual([]);
  });

  it('is work-conserving: no GPU idles while a request that fits it waits', () => {
    const state = emptyPool();
    registerHost(state, host('h1', 1), 0);
    registerHost(state, host('h4', 4), 0);
    [2, 2, 1, 1, 1, 2].forEach((n, i) => request(state, `r${i}`, n));
    schedule(state, 0);
    for (const r of state.waiting) {
      for (const h of ['h1', 'h4']) expect(freeGpus(state, h).length).toBeLessThan(r.gpu_count);
    }
  });

  it('places on the host that fits most tightly, keeping large holes for large requests', () => {
    const state = emptyPool();
    registerHost(state, host('h4', 4), 0);
    registerHost(state, host('h1', 1), 0);
    request(state, 'one', 1);
    const [lease] = schedule(state, 0);
    expect(lease?.host_id).toBe('h1');
  });

  it('matches GPU classes; `any` matches every class', () => {
    const state = emptyPool();
    registerHost(state, host('a', 1, 'a100'), 0);
    registerHost(state, host('b', 1, 'h100'), 0);
    request(state, 'needs-h100', 1, 'h100');
    request(state, 'needs-l4', 1, 'l4');
    request(state, 'any', 1, 'any');
    const granted = schedule(state, 0);
    expect(granted.find((l) => l.request_id === 'needs-h100')?.host_id).toBe('b');
    expect(granted.find((l) => l.request_id === 'any')?.host_id).toBe('a');
    expect(whyWaiting(state, state.waiting[0]!)).toBe("no online host of GPU class 'l4'");
  });

  it('says why a request waits when no host is large enough', () => {
    const state = emptyPool();
    registerHost(state, host('h2', 2), 0);
    request(state, 'huge', 4);
    schedule(state, 0);
    expect(whyWaiting(state, state.waiting[0]!)).toBe('needs 4 GPUs on one host; the largest online host has 2');
  });

  it('revokes the leases of an earlier incarnation when a worker restarts, and frees its GPUs', () => {
    const state = emptyPool();
    registerHost(state, host('h', 2, 'a100', 'old'), 0);
    request(state, 'a', 2);
    schedule(state, 0);
    const revoked = registerHost(state, host('h', 2, 'a100', 'new'), 1);
    expect(revoked.map((l) => l.request_id)).toEqual(['a']);
    expect(freeGpus(state, 'h')).toEqual(['0', '1']);
    request(state, 'b', 2);
    expect(schedule(state, 2)[0]?.incarnation).toBe('new');
  });

  it('stops placing on a lost or departed host and revokes its leases; a stale incarnation changes nothing', () => {
    const state = emptyPool();
    registerHost(state, host('h', 1, 'a100', 'i1'), 0);
    registerHost(state, host('g', 1, 'a100', 'i1'), 0);
    request(state, 'a', 1);
    request(state, 'b', 1);
    schedule(state, 0);
    expect(removeHost(state, 'h', 'stale', 'lost', 1)).toEqual([]);
    expect(removeHost(state, 'h', 'i1', 'lost', 1)).toHaveLength(1);
    request(state, 'c', 1);
    expect(schedule(state, 2)).toEqual([]);
    expect(whyWaiting(state, state.waiting[0]!)).toBe('waiting for GPUs to free up');
  });

  it('ignores a repeated request and releases idempotently', () => {
    const state = emptyPool();
    registerHost(state, host('h', 1), 0);
    request(state, 'a', 1);
    request(state, 'a', 1);
    expect(schedule(state, 0)).toHaveLength(1);
    request(state, 'a', 1);
    expect(state.waiting).toEqual([]);
    expect(release(state, 'a')?.request_id).toBe('a');
    expect(release(state, 'a')).toBeUndefined();
  });
});

// A lease given back because its host stopped answering the experiment (not because its processes
// ended) keeps its GPUs booked until the host confirms they are free or is seen dead.
describe('GPU placement: leases of a host that stopped answering', () => {
  type Step = (state: PoolState) => void;
  const steps = {
    silent: (state: PoolState) => void quarantine(state, 'a#1', 'host stopped answering', 5),
    confirmed: (state: PoolState) => confirmStopped(state, 'h#1'),
    lost: (state: PoolState) => void removeHost(state, 'h', 'i1', 'lost', 6),
    unregistered: (state: PoolState) => void removeHost(state, 'h', 'i1', 'offline', 6),
    staleLost: (state: PoolState) => void removeHost(state, 'h', 'i0', 'lost', 6),
    restarted: (state: PoolState) => void registerHost(state, host('h', 1, 'a100', 'i2'), 7),
    registeredAgain: (state: PoolState) => void registerHost(state, host('h', 1, 'a100', 'i1'), 7),
    plainRelease: (state: PoolState) => void release(state, 'a#1'),
  } satisfies Record<string, Step>;
  const cases: Array<{ what: string; after: Array<keyof typeof steps>; free: string[]; next: 'granted' | 'waits' }> = [
    { what: 'a plain release frees the GPU at once (the host tore the server down)', after: ['plainRelease'], free: ['0'], next: 'granted' },
    { what: 'the host stopped answering: the GPU stays booked', after: ['silent'], free: [], next: 'waits' },
    { what: 'a later plain release of that request changes nothing', after: ['silent', 'plainRelease'], free: [], next: 'waits' },
    { what: 'the host confirms the lease stopped: the GPU is free', after: ['silent', 'confirmed'], free: ['0'], next: 'granted' },
    { what: 'the host registers again as the same worker: still booked', after: ['silent', 'registeredAgain'], free: [], next: 'waits' },
    { what: 'an earlier incarnation of the host is declared lost: still booked', after: ['silent', 'staleLost'], free: [], next: 'waits' },
    { what: 'the host is lost (watcher timed out): quarantine ends, the host takes no work', after: ['silent', 'lost'], free: ['0'], next: 'waits' },
    { what: 'the host unregistered (its worker stopped its processes): quarantine ends', after: ['silent', 'unregistered'], free: ['0'], next: 'waits' },
    { what: 'the host restarted (a new worker stopped the old one\'s processes): granted on the new incarnation', after: ['silent', 'restarted'], free: ['0'], next: 'granted' },
    { what: 'lost, then back as a new incarnation: granted', after: ['silent', 'lost', 'restarted'], free: ['0'], next: 'granted' },
  ];
  for (const { what, after, free, next } of cases) {
    it(`${after.join(' -> ')}: ${what}`, () => {
      const state = emptyPool();
      registerHost(state, host('h', 1), 0);
      request(state, 'a#1', 1);
      expect(schedule(state, 1).map((l) => l.lease_id)).toEqual(['h#1']);
      for (const step of after) steps[step](state);
      expect(freeGpus(state, 'h')).toEqual(free);
      request(state, 'b#1', 1);
      const granted = schedule(state, 8);
      expect(granted.length === 1 ? 'granted' : 'waits').toBe(next);
    });
  }

  it('a lease already revoked (its host was seen dead) is not quarantined', () => {
    const state = emptyPool();
    registerHost(state, host('h', 1), 0);
    request(state, 'a#1', 1);
    schedule(state, 1);
    removeHost(state, 'h', 'i1', 'lost', 2);
    expect(quarantine(state, 'a#1', 'host stopped answering', 3)).toBeUndefined();
    expect(state.quarantined).toEqual({});
  });

  it('a pool state carried from before quarantine existed (no `quarantined` field) quarantines', () => {
    const state: PoolState = { hosts: {}, leases: {}, waiting: [], next_lease_number: 1 };
    registerHost(state, host('h', 2), 0);
    request(state, 'a#1', 1);
    schedule(state, 1);
    expect(quarantine(state, 'a#1', 'host stopped answering', 3)).toMatchObject({ lease_id: 'h#1', gpu_ids: ['0'], reason: 'host stopped answering', since_ms: 3 });
    expect(freeGpus(state, 'h')).toEqual(['1']);
  });
});
