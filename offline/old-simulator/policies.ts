// The old simulator's eviction policies. `lru`: entries leave in the order they were stored (a hit
// does not refresh; a turn's next store replaces its entry). Scored policies evict the lowest
// (score, key); scores are set when an entry is stored and all recomputed when an eviction is
// asked for more than 10 s (trace time, as of the latest store) after the last recomputation.
import type { Entry } from './entries.ts';

export interface Policy {
  add(entry: Entry): void;
  remove(entry: Entry): void;
  /** The entry to evict next, or undefined when none is left. */
  candidate(): Entry | undefined;
}

/** Insertion order, as a doubly linked list through the entries. */
export class LruPolicy implements Policy {
  private head: Entry | null = null;
  private tailEntry: Entry | null = null;

  add(entry: Entry): void {
    entry.prev = this.tailEntry;
    entry.next = null;
    if (this.tailEntry) this.tailEntry.next = entry;
    else this.head = entry;
    this.tailEntry = entry;
  }

  remove(entry: Entry): void {
    if (entry.prev) entry.prev.next = entry.next;
    else if (this.head === entry) this.head = entry.next;
    else return;
    if (entry.next) entry.next.prev = entry.prev;
    else this.tailEntry = entry.prev;
    entry.prev = entry.next = null;
  }

  candidate(): Entry | undefined {
    return this.head ?? undefined;
  }
}

/**
 * How a scored policy values an entry: `score` gives its value at `now` (seconds since the
 * policy's first store), from what the entry carries (its `base`, taken from the conversation's
 * features when it was stored, and its own fields).
 */
export interface Scorer {
  score(entry: Entry, now: number, start: number): number;
}

function before(a: Entry, b: Entry): boolean {
  return a.score < b.score || (a.score === b.score && a.key < b.key);
}

/** Lowest (score, key) first: a binary heap that knows each entry's position, for removals. */
export class ScoredPolicy implements Policy {
  private heap: Entry[] = [];
  private start: number | undefined;
  private now = 0;
  private lastRescore = 0;

  constructor(
    private readonly scorer: Scorer,
    private readonly rescoreInterval = 10,
  ) {}

  get size(): number {
    return this.heap.length;
  }

  add(entry: Entry): void {
    this.start ??= entry.access;
    this.now = entry.access - this.start;
    entry.score = this.scorer.score(entry, this.now, this.start);
    entry.heapIndex = this.heap.length;
    this.heap.push(entry);
    this.up(entry.heapIndex);
  }

  remove(entry: Entry): void {
    const i = entry.heapIndex;
    if (i < 0 || this.heap[i] !== entry) return;
    const last = this.heap.pop()!;
    entry.heapIndex = -1;
    if (last === entry) return;
    this.heap[i] = last;
    last.heapIndex = i;
    this.up(i);
    this.down(last.heapIndex);
  }

  candidate(): Entry | undefined {
    if (this.now - this.lastRescore > this.rescoreInterval) {
      this.rescore();
      this.lastRescore = this.now;
    }
    return this.heap[0];
  }

  private rescore(): void {
    const start = this.start ?? 0;
    for (const entry of this.heap) entry.score = this.scorer.score(entry, this.now, start);
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  private up(i: number): void {
    const heap = this.heap;
    const entry = heap[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (!before(entry, p)) break;
      heap[i] = p;
      p.heapIndex = i;
      i = parent;
    }
    heap[i] = entry;
    entry.heapIndex = i;
  }

  private down(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const entry = heap[i]!;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && before(heap[right]!, heap[left]!) ? right : left;
      const c = heap[child]!;
      if (!before(c, entry)) break;
      heap[i] = c;
      c.heapIndex = i;
      i = child;
    }
    heap[i] = entry;
    entry.heapIndex = i;
  }
}
