// The pool's order among waiting requests (issue 18): most GPUs first, then the longest expected
// hold, then oldest; a request waiting past MAX_WAIT_BEFORE_FIRST_MS first of all. And what the
// order must not break: work conservation, no GPU booked twice, no larger request passed over.
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../loadgen/random.ts';
import {
  considerationOrder,
  emptyPool,
  enqueue,
  freeGpus,
  MAX_WAIT_BEFORE_FIRST_MS,
  registerHost,
  release,
  schedule,
  type LeaseRequest,
  type PoolState,
  type WaitingOrder,
} from '../../domain/placement.ts';

function addHost(state: PoolState, id: string, gpus: number): void {
  registerHost(state, { host_id: id, incarnation: 'i1', gpu_class: 'g', gpu_ids: Array.from({ length: gpus }, (_, i) => String(i)), task_queue: `q/${id}`, heartbeat_timeout_s: 10 }, 0);
}

function ask(state: PoolState, id: string, gpus: number, expected?: number, at = 0): void {
  enqueue(state, { request_id: id, holder: `wf-${id}`, gpu_count: gpus, gpu_class: 'any', enqueued_ms: at, ...(expected === undefined ? {} : { expected_duration_s: expected }) });
}

const granted = (state: PoolState, now: number, order: WaitingOrder) => schedule(state, now, order).map((l) => l.request_id);

describe('order among waiting requests', () => {
  it('arrival order grants the oldest that fits; largest_longest grants the larger request', () => {
    for (const [order, expected] of [['arrival', ['small']], ['largest_longest', ['large']]] as const) {
      const state = emptyPool();
      addHost(state, 'h', 4);
      ask(state, 'small', 1, 600);
      ask(state, 'large', 4, 600);
      expect(granted(state, 1, order), order).toEqual(expected);
      expect(state.waiting).toHaveLength(1);
    }
  });

  it('among requests of one size, the longest expected hold goes first; unknown counts as 0; ties stay oldest first', () => {
    const state = emptyPool();
    addHost(state, 'h', 2);
    ask(state, 'unknown', 1);
    ask(state, 'short', 1, 300);
    ask(state, 'long-a', 1, 3600);
    ask(state, 'long-b', 1, 3600);
    expect(granted(state, 1, 'largest_longest')).toEqual(['long-a', 'long-b']);
    // What is left keeps its arrival order, for the pool query and the next pass.
    expect(state.waiting.map((r) => r.request_id)).toEqual(['unknown', 'short']);
    release(state, 'long-a');
    expect(granted(state, 2, 'largest_longest')).toEqual(['short']);
  });

  it('a request waiting past the limit goes before every younger one, oldest first', () => {
    const state = emptyPool();
    addHost(state, 'h', 4);
    ask(state, 'old-small', 1, 60, 0);
    ask(state, 'young-large', 4, 3600, 1000);
    expect(granted(state, MAX_WAIT_BEFORE_FIRST_MS - 1, 'largest_longest')).toEqual(['young-large']);
    const again = emptyPool();
    addHost(again, 'h', 4);
    ask(again, 'old-small', 1, 60, 0);
    ask(again, 'young-large', 4, 3600, 1000);
    expect(granted(again, MAX_WAIT_BEFORE_FIRST_MS, 'largest_longest')).toEqual(['old-small']);
  });

  it('considers every waiting request once, whatever the order', () => {
    const waiting: LeaseRequest[] = [1, 4, 2, 4, 1].map((n, i) => ({ request_id: `r${i}`, holder: 'w', gpu_count: n, gpu_class: 'any', enqueued_ms: i, expected_duration_s: (i * 7) % 5 }));
    for (const order of ['arrival', 'largest_longest'] as const) {
      const ids = considerationOrder(waiting, MAX_WAIT_BEFORE_FIRST_MS + 2, order).map((r) => r.request_id);
      expect([...ids].sort(), order).toEqual(waiting.map((r) => r.request_id));
    }
    expect(considerationOrder(waiting, 0, 'largest_longest').map((r) => r.gpu_count)).toEqual([4, 4, 2, 1, 1]);
  });

  it('keeps work conservation and single booking, and never passes a larger request over, on random pools', () => {
    const random = new SeededRandom(18);
    for (let trial = 0; trial < 200; trial++) {
      const state = emptyPool();
      const hosts = Array.from({ length: 1 + random.int(3) }, (_, i) => ({ id: `h${i}`, gpus: [1, 2, 4, 8][random.int(4)]! }));
      hosts.forEach((h) => addHost(state, h.id, h.gpus));
      let next = 0;
      const enqueuedAt = new Map<string, number>();
      for (let step = 0; step < 30; step++) {
        const now = step * 600_000;
        for (let k = random.int(4); k > 0; k--) ask(state, `r${next++}`, [1, 1, 2, 4, 8][random.int(5)]!, [300, 1200, 3600][random.int(3)], now);
        const aged = (id: string) => now - enqueuedAt.get(id)! >= MAX_WAIT_BEFORE_FIRST_MS;
        state.waiting.forEach((r) => enqueuedAt.set(r.request_id, r.enqueued_ms));
        // Aged requests go first whatever their size: only the others must not pass a larger one over.
        const leases = schedule(state, now, 'largest_longest').filter((l) => !aged(l.request_id));
        const booked = Object.values(state.leases).flatMap((l) => l.gpu_ids.map((g) => `${l.host_id}:${g}`));
        expect(new Set(booked).size).toBe(booked.length);
        for (const r of state.waiting) {
          for (const h of hosts) {
            const free = freeGpus(state, h.id).length;
            expect(free, `${r.request_id} fits ${h.id}`).toBeLessThan(r.gpu_count);
            if (aged(r.request_id)) continue;
            const takenBySmaller = leases.filter((l) => l.host_id === h.id && l.gpu_ids.length < r.gpu_count).reduce((n, l) => n + l.gpu_ids.length, 0);
            expect(free + takenBySmaller, `${r.request_id} passed over on ${h.id}`).toBeLessThan(r.gpu_count);
          }
        }
        for (const lease of Object.values(state.leases)) if (random.next() < 0.4) release(state, lease.request_id);
      }
    }
  });
});
