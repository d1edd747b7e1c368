// Polling the monotonic clock for the last microseconds before a send, in slices. One event-loop
// turn per microsecond (a setImmediate each, as earlier versions did) made ~300 MB/s of garbage
// (an Immediate per turn, and every performance.now() is a 16-byte heap number), which set the pace
// of the young-generation GC pauses behind most late sends; a slice of busy polling per loop turn
// makes a few heap numbers instead.
import { performance } from 'node:perf_hooks';

/** Longest the clock is polled without serving the network (delays a chunk's timestamp by at most this). */
export const POLL_SLICE_MS = 0.02;
/** Shared-memory loads between two clock reads: a pause of about a microsecond the compiler cannot remove. */
const PAUSE_LOADS = 100;
const PAUSE_CELL = new Int32Array(new SharedArrayBuffer(4));

/** Polls until `dueAt` or for POLL_SLICE_MS from `now`, whichever is first; returns the clock's last reading. */
export function pollClockUntil(dueAt: number, now: number): number {
  const sliceEnd = Math.min(dueAt, now + POLL_SLICE_MS);
  while (now < sliceEnd) {
    for (let i = 0; i < PAUSE_LOADS; i++) Atomics.load(PAUSE_CELL, 0);
    now = performance.now();
  }
  return now;
}
