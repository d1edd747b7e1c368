// Young-generation GC pauses moved into the gaps of the send schedule. V8 collects the young
// generation (a "scavenge", ~1-2 ms for this client at thousands of requests per second) when it
// fills up, at whatever moment that is; every send due during the pause goes out late. The
// schedule is known in advance, so when the loop is about to wait for a deadline at least
// `minGapMs` away and the young generation is at least `minFill` full, the client collects it
// right then: the pause falls where no send is due, and V8 rarely needs one of its own. The
// pause's length is set by what survives (what requests in flight hold), not by how full the
// space is, so collecting early costs a little CPU and no extra latency. docs/loadgen.md has the
// measurements.
import { performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { LoadgenResult } from './result-schema.ts';

/** What the pacer needs of the JavaScript heap (V8's, or a stand-in in tests). */
export interface YoungGeneration {
  /** Used share of the young generation's current capacity, 0..1. */
  fill(): number;
  /** Collects the young generation now, synchronously. */
  collect(): void;
}

export interface GcPacerOptions {
  /** Shortest wait for the next deadline in which a collection is started. */
  minGapMs: number;
  /** Collect only when the young generation is at least this full (0..1). */
  minFill: number;
  /** At most one look at the heap per this many ms (each look allocates a little). */
  minCheckIntervalMs: number;
}

/**
 * Side by side at 5,000 req/s (6 s runs, 5-6 rounds per variant): gaps of >= 1.0 ms beat 0.7 and
 * 1.3 ms, and fills of 0.15, 0.3 and 0.5 did about the same; 0.3 collects about twice as often as
 * V8 would, early enough that V8's own collection is rarely needed.
 */
export const GC_PACER_DEFAULTS: GcPacerOptions = { minGapMs: 1.0, minFill: 0.3, minCheckIntervalMs: 5 };

export type GcPacerStats = Omit<LoadgenResult['client']['gc_pacing'], 'enabled'>;

export class GcPacer {
  readonly minGapMs: number;
  private collections = 0;
  private pauseTotal = 0;
  private pauseMax = 0;
  private lastCheckAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly young: YoungGeneration,
    private readonly options: GcPacerOptions = GC_PACER_DEFAULTS,
  ) {
    this.minGapMs = options.minGapMs;
  }

  /**
   * The loop has `gapMs` before its next deadline. Collects the young generation if the gap is
   * long enough and the space full enough; returns whether it did (time has then passed).
   */
  offerGap(gapMs: number): boolean {
    if (gapMs < this.options.minGapMs) return false;
    const now = performance.now();
    if (now - this.lastCheckAt < this.options.minCheckIntervalMs) return false;
    this.lastCheckAt = now;
    if (this.young.fill() < this.options.minFill) return false;
    this.young.collect();
    const pause = performance.now() - now;
    this.collections++;
    this.pauseTotal += pause;
    if (pause > this.pauseMax) this.pauseMax = pause;
    return true;
  }

  stats(): GcPacerStats {
    return { collections: this.collections, pause_ms_total: this.pauseTotal, pause_ms_max: this.collections > 0 ? this.pauseMax : null };
  }
}

/** V8's young generation, through gc() exposed at run time; or the reason it cannot be paced. */
export function v8YoungGeneration(): YoungGeneration | string {
  const gc = exposedGc();
  const newSpace = (): { used: number; available: number } | null => {
    for (const space of getHeapSpaceStatistics()) {
      if (space.space_name === 'new_space') return { used: space.space_used_size, available: space.space_available_size };
    }
    return null;
  };
  if (newSpace() === null) return 'V8 reports no new_space';
  return {
    fill: () => {
      const space = newSpace();
      if (space === null) return 0;
      const capacity = space.used + space.available;
      return capacity > 0 ? space.used / capacity : 0;
    },
    collect: () => gc({ type: 'minor' }),
  };
}

type V8Gc = (options?: { type: 'minor' | 'major' }) => void;

let gcFunction: V8Gc | null = null;

/** V8's gc(), exposed for this process at run time (no node flag needed); made once (a new V8 context). */
export function exposedGc(): V8Gc {
  if (gcFunction === null) {
    setFlagsFromString('--expose-gc');
    gcFunction = runInNewContext('gc') as V8Gc;
  }
  return gcFunction;
}
