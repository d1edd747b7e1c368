// A timer for absolute deadlines on the monotonic clock. setTimeout alone fires up to a millisecond
// early or late (libuv counts whole milliseconds); measurement tests need the fixed TTFT and ITL to
// within a millisecond, so the timer wakes `spinSeconds` early and finishes the wait by yielding
// to the event loop (setImmediate) until the deadline, letting I/O run meanwhile.
import { performance } from 'node:perf_hooks';

export function nowSeconds(): number {
  return performance.now() / 1000;
}

export class DeadlineTimer {
  private target = Infinity;
  private timeout: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;

  constructor(
    private readonly fire: () => void,
    private readonly spinSeconds: number,
  ) {}

  /** Fires at `deadline` (seconds, nowSeconds clock), or earlier if already armed earlier. */
  at(deadline: number): void {
    if (deadline >= this.target) return;
    this.cancel();
    this.target = deadline;
    this.arm();
  }

  cancel(): void {
    if (this.timeout) clearTimeout(this.timeout);
    if (this.immediate) clearImmediate(this.immediate);
    this.timeout = undefined;
    this.immediate = undefined;
    this.target = Infinity;
  }

  private arm(): void {
    const wait = this.target - nowSeconds();
    if (wait <= 0) {
      this.immediate = setImmediate(this.check);
    } else if (wait <= Math.max(this.spinSeconds, 0.001)) {
      this.immediate = setImmediate(this.check);
    } else {
      this.timeout = setTimeout(this.check, (wait - this.spinSeconds) * 1000);
    }
  }

  private readonly check = (): void => {
    this.timeout = undefined;
    this.immediate = undefined;
    if (nowSeconds() >= this.target) {
      this.target = Infinity;
      this.fire();
    } else {
      this.arm();
    }
  };
}

/** A binary min-heap of timed events. */
export class EventHeap<T extends { at: number }> {
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.at <= item.at) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = item;
  }

  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const r = l + 1;
        const c = r < a.length && a[r]!.at < a[l]!.at ? r : l;
        if (a[c]!.at >= last.at) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }

  clear(): void {
    this.items.length = 0;
  }
}
