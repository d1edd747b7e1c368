// A cache entry of the old simulator's model: one conversation turn's tokens, whole (no prefix
// sharing). A turn has a main entry (its prompt, later prompt + reply, in whole 256-token blocks)
// and, on send, a tail entry (the prompt's last partial block) that no lookup ever hits.

export class Entry {
  /** Position in the scored policies' heap, or in nothing (-1). */
  heapIndex = -1;
  /** The policy's score (lower is evicted first). */
  score = 0;
  /** The scorer's value at insertion, before any decay with age. */
  base = 0;
  prev: Entry | null = null;
  next: Entry | null = null;
  private name: string | undefined;

  constructor(
    readonly id: number,
    readonly conversation: number,
    readonly turn: number,
    readonly tail: boolean,
    readonly tokens: number,
    readonly size: number,
    /** Seconds (the event's timestamp). */
    readonly access: number,
  ) {}

  /**
   * The old tool's cache key. Its scored policies order entries by (score, key), so equal scores
   * are broken by this string's order; built only when a tie needs it.
   */
  get key(): string {
    this.name ??= `conv_${this.conversation}_turn_${this.turn}${this.tail ? '_last_prefill' : ''}`;
    return this.name;
  }
}

const TURN_LIMIT = 2 ** 21;
const CONVERSATION_LIMIT = 2 ** 31;

/** A number naming (conversation, turn, tail) for the cache's map. */
export function entryId(conversation: number, turn: number, tail: boolean): number {
  if (conversation >= CONVERSATION_LIMIT || turn >= TURN_LIMIT || conversation < 0 || turn < 0) {
    throw new RangeError(`conversation ${conversation} turn ${turn}: ids up to ${CONVERSATION_LIMIT - 1} and turns up to ${TURN_LIMIT - 1} are supported`);
  }
  return conversation * TURN_LIMIT * 2 + turn * 2 + (tail ? 1 : 0);
}
