// The index of CPU-tier holders picks, at any time, the conversation a scan of every holder (in
// the order they became holders) picks: random sequences of holders joining and leaving,
// conversations coming back, and time passing, checked step by step against the scan.
import { describe, expect, it } from 'vitest';
import { conversationScore, type ConversationEvictionConfig } from '../../simulator/cpu-tier.ts';
import { HolderIndex, type Ranked } from '../../simulator/holder-index.ts';

interface C extends Ranked {
  id: number;
}

function scan(holders: Iterable<C>, now: number, config: ConversationEvictionConfig): C | undefined {
  let victim: C | undefined;
  let victimScore = Infinity;
  for (const c of holders) {
    const s = conversationScore(c.turns, now - c.lastReference, config);
    if (s < victimScore || (s === victimScore && victim !== undefined && c.lastReference < victim.lastReference)) {
      victim = c;
      victimScore = s;
    }
  }
  return victim;
}

/** mulberry32: the same sequence for the same seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('HolderIndex', () => {
  it.each([
    [1, { reference_recency: 300, reference_time_interval: 60, score_factor: 1 }],
    [2, { reference_recency: 20, reference_time_interval: 5, score_factor: 0.5 }],
    [3, { reference_recency: 0, reference_time_interval: 10, score_factor: 1 }],
    [4, { reference_recency: 50, reference_time_interval: 0, score_factor: 0 }],
  ])('picks what a scan of the holders picks (seed %i, %j)', (seed, config) => {
    const rand = random(seed);
    const all: C[] = Array.from({ length: 60 }, (_, id) => ({ id, turns: 0, lastReference: 0, holderSeq: 0, rankVersion: 0 }));
    const index = new HolderIndex<C>();
    let now = 0;
    let checks = 0;
    for (let step = 0; step < 20_000; step++) {
      const c = all[Math.floor(rand() * all.length)]!;
      const r = rand();
      // Time often stands still (a step's stores share their instant): ties of last reference.
      if (r < 0.3) now += rand() < 0.5 ? 0 : rand() * 30;
      else if (r < 0.55) {
        c.turns++;
        c.lastReference = now;
        index.moved(c);
      } else if (r < 0.8) index.add(c);
      else if (r < 0.95) index.delete(c);
      else {
        const expected = scan(index, now, config);
        expect(index.victim(now, (x, t) => conversationScore(x.turns, t - x.lastReference, config))?.id, `step ${step}`).toBe(expected?.id);
        checks++;
      }
    }
    expect(checks).toBeGreaterThan(500);
  });
});

describe('HolderIndex, rising ranking', () => {
  it.each([11, 12, 13])('picks what a scan picks for scores that rise with time between reported changes (seed %i)', (seed) => {
    const rand = random(seed);
    const all: (C & { base: number; slope: number })[] = Array.from({ length: 50 }, (_, id) => ({ id, turns: 0, lastReference: 0, holderSeq: 0, rankVersion: 0, base: 0, slope: 0 }));
    // Scores on a coarse grid, so that ties (of score, then of last reference) happen often; -Infinity for some.
    const score = (c: (typeof all)[number], now: number) => (c.base === -1 ? -Infinity : Math.floor(c.base + c.slope * now));
    const index = new HolderIndex<(typeof all)[number]>('rising');
    let now = 0;
    let checks = 0;
    for (let step = 0; step < 20_000; step++) {
      const c = all[Math.floor(rand() * all.length)]!;
      const r = rand();
      if (r < 0.25) now += rand() < 0.5 ? 0 : rand() * 5;
      else if (r < 0.45) {
        // A reported change: a new score line (it may fall), maybe a new last reference.
        c.base = rand() < 0.1 ? -1 : Math.floor(rand() * 20);
        c.slope = rand() < 0.3 ? 0 : rand();
        if (rand() < 0.5) c.lastReference = now;
        index.moved(c);
      } else if (r < 0.7) index.add(c);
      else if (r < 0.85) index.delete(c);
      else {
        let expected: (typeof all)[number] | undefined;
        let best = Infinity;
        for (const h of index) {
          const s = score(h, now);
          if (s < best || (s === best && expected !== undefined && h.lastReference < expected.lastReference)) {
            expected = h;
            best = s;
          }
        }
        expect(index.risingVictim(now, score)?.id, `step ${step}`).toBe(expected?.id);
        checks++;
      }
    }
    expect(checks).toBeGreaterThan(1000);
  });
});
