// The GC pacer: its rules on a stand-in heap, V8's young generation through the real API, and the
// replay offering it only the waits of its schedule, against a real simulator.
import { afterAll, describe, expect, it } from 'vitest';
import { performance } from 'node:perf_hooks';
import { GcPacer, v8YoungGeneration, type YoungGeneration } from '../../loadgen/gc-pacer.ts';
import { ConnectionPool } from '../../loadgen/http-chat.ts';
import { ASSUMED_CALIBRATION, PromptBuilder } from '../../loadgen/prompt.ts';
import { Replay } from '../../loadgen/replay.ts';
import type { TraceTurn } from '../../loadgen/trace-parse.ts';
import { SIM_MODEL, startSim, type SimProcess } from './sim-process.ts';

/** A heap whose fill the test sets; collect() takes `pauseMs` and empties it. */
class FakeYoung implements YoungGeneration {
  collections = 0;
  constructor(
    public level: number,
    private readonly pauseMs = 0,
  ) {}
  fill(): number {
    return this.level;
  }
  collect(): void {
    const end = performance.now() + this.pauseMs;
    while (performance.now() < end);
    this.collections++;
    this.level = 0;
  }
}

const RULES = { minGapMs: 1, minFill: 0.3, minCheckIntervalMs: 0 };

describe('GcPacer', () => {
  it('collects only in a gap at least minGapMs long, and only when the young generation is minFill full', () => {
    const young = new FakeYoung(0.29);
    const pacer = new GcPacer(young, RULES);
    expect(pacer.offerGap(5)).toBe(false);
    young.level = 0.3;
    expect(pacer.offerGap(0.99)).toBe(false);
    expect(young.collections).toBe(0);
    expect(pacer.offerGap(1)).toBe(true);
    expect(young.collections).toBe(1);
    // Emptied by the collection: the next gap is not used.
    expect(pacer.offerGap(3)).toBe(false);
    expect(pacer.stats().collections).toBe(1);
  });

  it('looks at the heap at most once per minCheckIntervalMs', () => {
    let looks = 0;
    const young: YoungGeneration = {
      fill: () => {
        looks++;
        return 0;
      },
      collect: () => undefined,
    };
    const pacer = new GcPacer(young, { ...RULES, minCheckIntervalMs: 60_000 });
    for (let i = 0; i < 10; i++) pacer.offerGap(2);
    expect(looks).toBe(1);
  });

  it('reports the pauses it caused', () => {
    const young = new FakeYoung(1, 2);
    const pacer = new GcPacer(young, RULES);
    expect(pacer.stats()).toEqual({ collections: 0, pause_ms_total: 0, pause_ms_max: null });
    pacer.offerGap(3);
    young.level = 1;
    pacer.offerGap(3);
    const stats = pacer.stats();
    expect(stats.collections).toBe(2);
    expect(stats.pause_ms_max!).toBeGreaterThanOrEqual(2);
    expect(stats.pause_ms_total).toBeGreaterThanOrEqual(4);
  });
});

describe("V8's young generation", () => {
  it('fills as the program allocates and is emptied by collect()', () => {
    const young = v8YoungGeneration();
    if (typeof young === 'string') throw new Error(young);
    young.collect();
    const empty = young.fill();
    let keep: Array<{ n: number; s: string }> = [];
    // Short-lived objects, as a replay makes them: enough to fill a good part of the space.
    for (let i = 0; i < 20_000; i++) {
      keep.push({ n: i, s: `object ${i}` });
      if (keep.length > 100) keep = [];
    }
    const filled = young.fill();
    expect(filled).toBeGreaterThan(empty);
    expect(filled).toBeLessThanOrEqual(1);
    young.collect();
    expect(young.fill()).toBeLessThan(filled);
    expect(keep.length).toBeLessThanOrEqual(101);
  });
});

describe('the replay and the pacer, against the simulator', () => {
  let sim: SimProcess | null = null;
  afterAll(async () => {
    await sim?.stop();
  });

  it('offers the pacer each wait of the schedule once, never a shorter one than it asks for', async () => {
    sim = await startSim(['--speed', 'inf']);
    const offered: number[] = [];
    class RecordingPacer extends GcPacer {
      override offerGap(gapMs: number): boolean {
        offered.push(gapMs);
        return super.offerGap(gapMs);
      }
    }
    const young = new FakeYoung(1, 0.3);
    const pacer = new RecordingPacer(young, { minGapMs: 1, minFill: 0.5, minCheckIntervalMs: 0 });
    // Turns 3 ms apart: every wait for the next one is a gap the pacer may use.
    const n = 60;
    const turns: TraceTurn[] = Array.from({ length: n }, (_, i) => ({ index: i, offsetMs: i * 3, conversationId: `g${i}`, turn: 1, queryTokens: 8, replyTokens: 2, modelName: null, line: i + 2 }));
    const pool = new ConnectionPool(new URL(sim.baseUrl).origin);
    try {
      const replay = new Replay({
        target: { pool, path: '/v1/chat/completions' },
        model: SIM_MODEL,
        turns,
        scheduledMs: Float64Array.from(turns, (t) => t.offsetMs),
        prompts: new PromptBuilder(1, ASSUMED_CALIBRATION),
        mockDecoding: false,
        timeLimitMs: null,
        graceMs: 0,
        gcPacer: pacer,
      });
      const outcome = await replay.run();
      expect(outcome.records.filter((r) => r.status === 'ok')).toHaveLength(n);
    } finally {
      await pool.destroy();
    }
    expect(offered.length).toBeGreaterThan(0);
    // Once per deadline at most (each turn has its own).
    expect(offered.length, 'offers').toBeLessThanOrEqual(n);
    for (const gap of offered) expect(gap).toBeGreaterThanOrEqual(1);
    expect(young.collections).toBe(pacer.stats().collections);
    expect(young.collections).toBeGreaterThan(0);
  });
});
