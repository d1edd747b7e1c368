// A map from 53-bit block hashes to small non-negative integers (block ids), in typed arrays with
// open addressing. A Map keyed by such numbers boxes every key and, under the block pool's steady
// insert-and-delete churn, keeps rebuilding its table; this one allocates nothing per operation.
// Linear probing with backward-shift deletion, so no tombstones pile up.

const TWO_32 = 0x1_0000_0000;

export class HashIndex {
  private lo: Int32Array;
  private hi: Int32Array;
  /** Value + 1; 0 = empty slot. */
  private val: Int32Array;
  private mask: number;
  size = 0;

  constructor(expected = 16) {
    let capacity = 16;
    while (capacity < expected * 2) capacity *= 2;
    this.lo = new Int32Array(capacity);
    this.hi = new Int32Array(capacity);
    this.val = new Int32Array(capacity);
    this.mask = capacity - 1;
  }

  /** The value of `hash`, or -1. */
  get(hash: number): number {
    const lo = hash | 0;
    const hi = ((hash - (hash >>> 0)) / TWO_32) | 0;
    const mask = this.mask;
    for (let i = lo & mask; ; i = (i + 1) & mask) {
      const v = this.val[i]!;
      if (v === 0) return -1;
      if (this.lo[i] === lo && this.hi[i] === hi) return v - 1;
    }
  }

  has(hash: number): boolean {
    return this.get(hash) >= 0;
  }

  /** Sets the value of `hash` (a value >= 0). */
  set(hash: number, value: number): void {
    if ((this.size + 1) * 2 > this.val.length) this.grow();
    const lo = hash | 0;
    const hi = ((hash - (hash >>> 0)) / TWO_32) | 0;
    const mask = this.mask;
    let i = lo & mask;
    for (; this.val[i] !== 0; i = (i + 1) & mask) {
      if (this.lo[i] === lo && this.hi[i] === hi) {
        this.val[i] = value + 1;
        return;
      }
    }
    this.lo[i] = lo;
    this.hi[i] = hi;
    this.val[i] = value + 1;
    this.size++;
  }

  delete(hash: number): boolean {
    const lo = hash | 0;
    const hi = ((hash - (hash >>> 0)) / TWO_32) | 0;
    const mask = this.mask;
    let i = lo & mask;
    for (; ; i = (i + 1) & mask) {
      if (this.val[i] === 0) return false;
      if (this.lo[i] === lo && this.hi[i] === hi) break;
    }
    // Backward shift: pull later entries of the probe run into the hole when their home allows.
    for (let j = (i + 1) & mask; this.val[j] !== 0; j = (j + 1) & mask) {
      const home = this.lo[j]! & mask;
      const between = i <= j ? home > i && home <= j : home > i || home <= j;
      if (between) continue;
      this.lo[i] = this.lo[j]!;
      this.hi[i] = this.hi[j]!;
      this.val[i] = this.val[j]!;
      i = j;
    }
    this.val[i] = 0;
    this.size--;
    return true;
  }

  clear(): void {
    this.val.fill(0);
    this.size = 0;
  }

  private grow(): void {
    const { lo, hi, val } = this;
    const capacity = val.length * 2;
    this.lo = new Int32Array(capacity);
    this.hi = new Int32Array(capacity);
    this.val = new Int32Array(capacity);
    this.mask = capacity - 1;
    this.size = 0;
    for (let i = 0; i < val.length; i++) {
      if (val[i] === 0) continue;
      const h = (hi[i]! >>> 0) * TWO_32 + (lo[i]! >>> 0);
      this.set(h, val[i]! - 1);
    }
  }
}
