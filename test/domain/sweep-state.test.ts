// The sweep's bookkeeping without Temporal: what continue-as-new carries, and the progress made
// from it (counts, skipped, ETA).
import { describe, expect, it } from 'vitest';
import type { ResolvedSweep } from '../../domain/config/resolved.ts';
import {
  markFinished,
  markRunning,
  newSweepBook,
  progressOf,
  resumeSweepState,
  skipAlreadyDone,
  startableIds,
  stopRunning,
  type CarriedSweepState,
  type SweepState,
} from '../../domain/sweep-state.ts';

const IDS = ['a', 'b', 'c', 'd', 'e', 'f'];
const resolved = { tag: 't' } as ResolvedSweep; // the reducer only carries it
const view = (now: number) => ({ sweep_id: 's', tag: 't', total: IDS.length, phase: 'running' as const, now });

/** Two skipped, one succeeded in 100 s, one failed, two running, at t = 200 s. */
function midSweep(): SweepState {
  const book = newSweepBook('/results', 0);
  skipAlreadyDone(book, ['a', 'b']);
  for (const id of startableIds(book, IDS).slice(0, 4)) markRunning(book, id);
  markFinished(book, 'c', { status: 'succeeded', seconds: 100 });
  markFinished(book, 'd', { status: 'failed', seconds: 0 });
  return { ...book, resolved };
}

describe('sweep bookkeeping', () => {
  it('counts what ran, what was skipped and what is left; the ETA counts only experiments this sweep ran', () => {
    expect(progressOf(midSweep(), view(200_000))).toMatchObject({
      total: 6, succeeded: 3, failed: 1, cancelled: 0, running: 2, waiting: 0, skipped_already_done: 2, running_ids: ['e', 'f'],
      // 2 experiments ran in 200 s, 2 are left
      eta_seconds: 200,
    });
  });

  it('carries everything across continue-as-new: the next run reports the same progress', () => {
    const carried: CarriedSweepState = JSON.parse(JSON.stringify(midSweep()));
    const next = resumeSweepState(carried);
    expect(progressOf(next, view(200_000))).toEqual(progressOf(midSweep(), view(200_000)));
    expect(next.resolved).toEqual(resolved);
    // The carried input is not changed by the next run's bookkeeping.
    markFinished(next, 'e', { status: 'succeeded', seconds: 50 });
    expect(carried.running).toEqual(['e', 'f']);
  });

  it('state carried by a kvsweep from before the skipped count was carried counts none skipped', () => {
    const { skipped: _, ...older } = midSweep();
    expect(progressOf(resumeSweepState(older), view(200_000)).skipped_already_done).toBe(0);
  });

  it('a child heard from twice (its signal and its result) is finished once; startable skips finished and running ones', () => {
    const book = newSweepBook('/results', 0);
    markRunning(book, 'a');
    markRunning(book, 'a');
    markFinished(book, 'a', { status: 'succeeded', seconds: 1 });
    expect(stopRunning(book, 'a')).toBe(false);
    markRunning(book, 'b');
    expect(startableIds(book, IDS)).toEqual(['c', 'd', 'e', 'f']);
    expect(progressOf(book, view(10_000))).toMatchObject({ succeeded: 1, running: 1, waiting: 4, eta_seconds: 50 });
  });
});
