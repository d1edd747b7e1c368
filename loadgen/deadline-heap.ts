// A binary min-heap of (deadline, id): the due turns, earliest first; equal deadlines leave in
// id order (trace order), so `--request-rate inf` still sends in the trace's order.

export class DeadlineHeap {
  private keys: number[] = [];
  private ids: number[] = [];

  get size(): number {
    return this.keys.length;
  }

  /** Earliest deadline; Infinity when empty. */
  peekKey(): number {
    return this.keys.length > 0 ? this.keys[0]! : Number.POSITIVE_INFINITY;
  }

  peekId(): number {
    return this.ids[0]!;
  }

  push(key: number, id: number): void {
    const keys = this.keys;
    const ids = this.ids;
    let i = keys.length;
    keys.push(key);
    ids.push(id);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (keys[parent]! < key || (keys[parent] === key && ids[parent]! < id)) break;
      keys[i] = keys[parent]!;
      ids[i] = ids[parent]!;
      i = parent;
    }
    keys[i] = key;
    ids[i] = id;
  }

  /** Removes the earliest entry and returns its id. */
  pop(): number {
    const keys = this.keys;
    const ids = this.ids;
    const top = ids[0]!;
    const lastKey = keys.pop()!;
    const lastId = ids.pop()!;
    const n = keys.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        const child =
          right < n && (keys[right]! < keys[left]! || (keys[right] === keys[left] && ids[right]! < ids[left]!)) ? right : left;
        if (keys[child]! > lastKey || (keys[child] === lastKey && ids[child]! > lastId)) break;
        keys[i] = keys[child]!;
        ids[i] = ids[child]!;
        i = child;
      }
      keys[i] = lastKey;
      ids[i] = lastId;
    }
    return top;
  }

  /** Removes everything and returns the ids. */
  drain(): number[] {
    const ids = this.ids;
    this.keys = [];
    this.ids = [];
    return ids;
  }
}
