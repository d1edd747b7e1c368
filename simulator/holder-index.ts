// The conversations holding CPU-tier chunks, and which of them a conversation policy evicts first,
// without scoring every holder at every store. Two rankings, each the same choice as a scan of all
// holders in the order they became holders (lowest score, then the earliest referenced, then the
// earliest holder):
// - by turn count (conversation_aware): within one turn count every conversation has the same score
//   base and its score never falls as its last reference gets later, so the lowest of a turn count
//   is its earliest referenced; a heap per turn count gives those, and the victim is the lowest of
//   the heads, each scored as a scan would: the cost of the distinct turn counts, not the holders.
// - rising (a scorer whose scores never fall as time passes, between changes it reports: the
//   oracle's): one heap keyed by a score computed earlier, a lower bound of the current one; the
//   head is scored again until its key is current, and then no other holder can score lower.
export interface Ranked {
  turns: number;
  lastReference: number;
  /** Order of becoming a holder (again); set by the index. */
  holderSeq: number;
  /** Bumped on every change of rank, so heap entries of an older rank are recognised as stale. */
  rankVersion: number;
}

interface Entry<C extends Ranked> {
  c: C;
  version: number;
  /** Rising ranking: a lower bound of the score; by turn count: 0. */
  key: number;
  at: number;
  seq: number;
}

function before<C extends Ranked>(a: Entry<C>, b: Entry<C>): boolean {
  return a.key < b.key || (a.key === b.key && (a.at < b.at || (a.at === b.at && a.seq < b.seq)));
}

/** A binary min-heap of entries by (key, last reference, holder order). */
class EntryHeap<C extends Ranked> {
  readonly items: Entry<C>[] = [];

  push(e: Entry<C>): void {
    const items = this.items;
    let i = items.length;
    items.push(e);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(e, items[parent]!)) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = e;
  }

  pop(): void {
    const items = this.items;
    const last = items.pop()!;
    if (items.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && before(items[right]!, items[left]!) ? right : left;
      if (!before(items[child]!, last)) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = last;
  }
}

export type Ranking = 'turns' | 'rising';

/** The rising ranking's heap, in the map of the per-turn-count heaps (turn counts are >= 0). */
const RISING = -1;

export class HolderIndex<C extends Ranked> {
  private readonly members = new Set<C>();
  constructor(private readonly ranking: Ranking = 'turns') {}

  private readonly byTurns = new Map<number, EntryHeap<C>>();
  private nextSeq = 0;
  /** Entries in the heaps, stale ones included. */
  private entries = 0;

  get size(): number {
    return this.members.size;
  }

  has(c: C): boolean {
    return this.members.has(c);
  }

  add(c: C): void {
    if (this.members.has(c)) return;
    this.members.add(c);
    c.holderSeq = this.nextSeq++;
    this.rank(c);
  }

  delete(c: C): void {
    if (this.members.delete(c)) c.rankVersion++;
  }

  clear(): void {
    for (const c of this.members) c.rankVersion++;
    this.members.clear();
    this.byTurns.clear();
    this.entries = 0;
  }

  private rebuild(): void {
    this.byTurns.clear();
    this.entries = 0;
    for (const c of this.members) {
      this.entries++;
      this.heapOf(this.ranking === 'rising' ? RISING : c.turns).push({ c, version: c.rankVersion, key: this.ranking === 'rising' ? -Infinity : 0, at: c.lastReference, seq: c.holderSeq });
    }
  }

  private heapOf(turns: number): EntryHeap<C> {
    let heap = this.byTurns.get(turns);
    if (!heap) {
      heap = new EntryHeap<C>();
      this.byTurns.set(turns, heap);
    }
    return heap;
  }

  /** The conversation's turns or last reference changed. */
  moved(c: C): void {
    if (this.members.has(c)) this.rank(c);
  }

  /**
   * The holder with the lowest `score` at `now` (ties: the earliest referenced, then the earliest
   * holder); `score` must be a function of the turn count and the time since the last reference
   * that never falls as the last reference gets later (conversation_aware's is).
   */
  victim(now: number, score: (c: C, now: number) => number): C | undefined {
    let victim: C | undefined;
    let victimScore = Infinity;
    for (const [turns, heap] of this.byTurns) {
      const items = heap.items;
      while (items.length > 0 && items[0]!.version !== items[0]!.c.rankVersion) {
        heap.pop();
        this.entries--;
      }
      if (items.length === 0) {
        this.byTurns.delete(turns);
        continue;
      }
      const c = items[0]!.c;
      const s = score(c, now);
      if (s < victimScore || (s === victimScore && victim !== undefined && (c.lastReference < victim.lastReference || (c.lastReference === victim.lastReference && c.holderSeq < victim.holderSeq)))) {
        victim = c;
        victimScore = s;
      }
    }
    return victim;
  }

  /**
   * Rising ranking: the holder with the lowest `score` at `now` (ties: the earliest referenced,
   * then the earliest holder), for a score that never falls as `now` grows while the holder's rank
   * is unchanged (moved() is called on every other change).
   */
  risingVictim(now: number, score: (c: C, now: number) => number): C | undefined {
    const heap = this.heapOf(RISING);
    const items = heap.items;
    while (items.length > 0) {
      const top = items[0]!;
      heap.pop();
      if (top.version !== top.c.rankVersion) {
        this.entries--;
        continue;
      }
      const s = score(top.c, now);
      const current = s === top.key;
      top.key = s;
      heap.push(top);
      if (current) return top.c;
    }
    return undefined;
  }

  /** Holders in the order they became holders (what a scan visits). */
  *[Symbol.iterator](): IterableIterator<C> {
    yield* this.members;
  }

  private rank(c: C): void {
    c.rankVersion++;
    // Stale entries leave a heap when they reach its head; rebuild when they pile up anyway.
    if (++this.entries > 4 * this.members.size + 1024) this.rebuild();
    // A rising entry starts below any score: it is scored when it reaches the head.
    this.heapOf(this.ranking === 'rising' ? RISING : c.turns).push({ c, version: c.rankVersion, key: this.ranking === 'rising' ? -Infinity : 0, at: c.lastReference, seq: c.holderSeq });
  }
}
