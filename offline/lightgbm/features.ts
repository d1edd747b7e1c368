// The eight per-conversation features a LightGBM eviction scorer sees (OLD-TOOL.md section 4), kept
// per conversation as send and done events arrive. Independent of any cache model: the old
// simulator's reimplementation and kvsweep's own offline engine both feed it their events.

/** Feature names, in the column order of the training table and of the model's inputs. */
export const FEATURE_NAMES = [
  'turn_number',
  'previous_interval',
  'CustomerQueryLength',
  'GenerativeModelResponseLength',
  'cumulative_time',
  'avg_interval_so_far',
  'avg_query_length_so_far',
  'avg_response_length_so_far',
] as const;
export const FEATURE_COUNT = FEATURE_NAMES.length;

/** One conversation's history: what its features are computed from. */
class ConversationHistory {
  turn = 0;
  cumulativeTime = 0;
  lastAccess = 0;
  /** Tokens of the context as last recorded (what the next query length is measured against). */
  context = 0;
  readonly queryLengths: number[] = [];
  readonly responseLengths: number[] = [];
  /** Seconds from one access to the next send, one per send after the first. */
  readonly intervals: number[] = [];
  querySum = 0;
  responseSum = 0;
  intervalSum = 0;
}

/** Mean of values added left to right (the order matters for the last bit of a float). */
function mean(sum: number, count: number): number {
  return count === 0 ? 0 : sum / count;
}

/**
 * Conversation state keyed by a numeric conversation id. The primitives are separate (query
 * length, context, record) because callers order them differently: a cache replay sets the context
 * on send, a training pass only on done; both orders are the old tool's and give other features
 * when a conversation's next send arrives before its previous reply is done.
 */
export class ConversationFeatures {
  private readonly byId = new Map<number, ConversationHistory>();

  private history(id: number): ConversationHistory {
    let h = this.byId.get(id);
    if (!h) {
      h = new ConversationHistory();
      this.byId.set(id, h);
    }
    return h;
  }

  has(id: number): boolean {
    return this.byId.has(id);
  }

  /** Tokens new in a send of `inputTokens`: all of them for an unknown conversation. */
  queryLength(id: number, inputTokens: number): number {
    const h = this.byId.get(id);
    return h === undefined ? inputTokens : inputTokens - h.context;
  }

  context(id: number): number {
    return this.byId.get(id)?.context ?? 0;
  }

  setContext(id: number, tokens: number): void {
    this.history(id).context = tokens;
  }

  /**
   * Records an access: a send (with its query length) or a done (with its reply length). A send
   * after an earlier access adds the interval since that access (done -> next send).
   */
  record(id: number, turn: number, time: number, kind: 'send' | 'done', queryLength: number, responseLength: number): void {
    const h = this.history(id);
    if (turn > h.turn) h.turn = turn;
    if (h.lastAccess > 0 && kind === 'send') {
      const interval = time - h.lastAccess;
      h.intervals.push(interval);
      h.intervalSum += interval;
      h.cumulativeTime += interval;
    }
    h.lastAccess = time;
    if (kind === 'send') {
      h.queryLengths.push(queryLength);
      h.querySum += queryLength;
    } else {
      h.responseLengths.push(responseLength);
      h.responseSum += responseLength;
    }
  }

  /** Query length of the conversation's latest turn (0 when unknown). */
  latestQueryLength(id: number): number {
    const h = this.byId.get(id);
    if (!h || h.turn === 0) return 0;
    return h.queryLengths[h.turn - 1] ?? 0;
  }

  /** Interval before the latest turn's send (0 on a first turn). */
  latestInterval(id: number): number {
    const h = this.byId.get(id);
    if (!h || h.turn < 2) return 0;
    return h.intervals[h.turn - 2] ?? 0;
  }

  /**
   * The feature vector now, in FEATURE_NAMES order, written into `out`. Values of the latest turn
   * are looked up by turn number in the lists of recorded values, as the old tool does.
   */
  vector(id: number, out: Float64Array = new Float64Array(FEATURE_COUNT)): Float64Array {
    const h = this.byId.get(id);
    if (!h) {
      out.fill(0);
      return out;
    }
    const t = h.turn;
    out[0] = t;
    out[1] = this.latestInterval(id);
    out[2] = t === 0 ? 0 : (h.queryLengths[t - 1] ?? 0);
    out[3] = t === 0 ? 0 : (h.responseLengths[t - 1] ?? 0);
    out[4] = h.cumulativeTime;
    out[5] = mean(h.intervalSum, h.intervals.length);
    out[6] = mean(h.querySum, h.queryLengths.length);
    out[7] = mean(h.responseSum, h.responseLengths.length);
    return out;
  }
}
