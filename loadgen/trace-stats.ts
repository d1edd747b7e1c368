// What a trace holds, for `kvsweep trace stats`: sizes, rates, conversation shapes, and the share
// of prompt tokens that repeat an earlier turn (the most a prefix cache could ever hit).
import type { Trace } from './trace.ts';
import { summarize, type Summary } from './stats.ts';

export interface TraceStats {
  path: string;
  rows: number;
  rows_read: number;
  dropped_missing_query: number;
  dropped_non_positive_query: number;
  defaulted_reply_length: number;
  raised_reply_length: number;
  beyond_num_prompts: number;
  conversations: number;
  single_turn_conversations: number;
  first_timestamp: string;
  span_s: number;
  /** Rows per second of recorded time (what rate 1.0 replays). */
  request_rate: number;
  conversation_rate: number;
  peak_active_conversations: number;
  turns_per_conversation: Summary;
  query_tokens: Summary;
  reply_tokens: Summary;
  /** History (earlier queries and replies) plus the new query, per turn. */
  prompt_tokens: Summary;
  /** Seconds between consecutive turns of a conversation. */
  turn_gap_s: Summary;
  /** Share of all prompt tokens that are history: the prefix-cache hit rate of an infinite cache. */
  history_token_share: number;
  total_prompt_tokens: number;
  total_reply_tokens: number;
  model_names: Record<string, number>;
}

export function computeTraceStats(trace: Trace): TraceStats {
  const historyTokens = new Map<string, number>();
  const lastOffset = new Map<string, number>();
  const firstOffset = new Map<string, number>();
  const turnCounts = new Map<string, number>();
  const prompts: number[] = [];
  const gaps: number[] = [];
  const modelNames: Record<string, number> = {};
  let historyTotal = 0;
  let promptTotal = 0;
  let replyTotal = 0;
  for (const turn of trace.turns) {
    const id = turn.conversationId;
    const history = historyTokens.get(id) ?? 0;
    const prompt = history + turn.queryTokens;
    prompts.push(prompt);
    historyTotal += history;
    promptTotal += prompt;
    replyTotal += turn.replyTokens;
    historyTokens.set(id, prompt + turn.replyTokens);
    const previous = lastOffset.get(id);
    if (previous !== undefined) gaps.push((turn.offsetMs - previous) / 1000);
    else firstOffset.set(id, turn.offsetMs);
    lastOffset.set(id, turn.offsetMs);
    turnCounts.set(id, (turnCounts.get(id) ?? 0) + 1);
    if (turn.modelName !== null) modelNames[turn.modelName] = (modelNames[turn.modelName] ?? 0) + 1;
  }
  const spanS = (trace.turns.at(-1)?.offsetMs ?? 0) / 1000;
  const turnsPerConversation = [...turnCounts.values()];
  return {
    path: trace.path,
    rows: trace.turns.length,
    rows_read: trace.rowsRead,
    dropped_missing_query: trace.droppedMissingQuery,
    dropped_non_positive_query: trace.droppedNonPositiveQuery,
    defaulted_reply_length: trace.defaultedReplyLength,
    raised_reply_length: trace.raisedReplyLength,
    beyond_num_prompts: trace.beyondLimit,
    conversations: trace.conversations,
    single_turn_conversations: turnsPerConversation.filter((n) => n === 1).length,
    first_timestamp: new Date(trace.firstTimestampMs).toISOString(),
    span_s: spanS,
    request_rate: spanS > 0 ? trace.turns.length / spanS : Number.NaN,
    conversation_rate: spanS > 0 ? trace.conversations / spanS : Number.NaN,
    peak_active_conversations: peakOverlap(firstOffset, lastOffset),
    turns_per_conversation: summarize(turnsPerConversation),
    query_tokens: summarize(trace.turns.map((t) => t.queryTokens)),
    reply_tokens: summarize(trace.turns.map((t) => t.replyTokens)),
    prompt_tokens: summarize(prompts),
    turn_gap_s: summarize(gaps),
    history_token_share: promptTotal > 0 ? historyTotal / promptTotal : 0,
    total_prompt_tokens: promptTotal,
    total_reply_tokens: replyTotal,
    model_names: modelNames,
  };
}

/** Most conversations whose [first turn, last turn] intervals overlap at one instant. */
function peakOverlap(first: Map<string, number>, last: Map<string, number>): number {
  const events: Array<[number, number]> = [];
  for (const [id, start] of first) {
    events.push([start, 1]);
    events.push([last.get(id) ?? start, -1]);
  }
  // Starts before ends at the same instant: a one-turn conversation counts as active.
  events.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let active = 0;
  let peak = 0;
  for (const [, delta] of events) {
    active += delta;
    peak = Math.max(peak, active);
  }
  return peak;
}

/** The human-readable report. */
export function formatTraceStats(s: TraceStats): string {
  const n = (v: number | null, digits = 1): string => (v === null || !Number.isFinite(v) ? '-' : v.toFixed(digits));
  const dist = (label: string, d: Summary, digits = 0): string =>
    `${label.padEnd(28)} mean ${n(d.mean, 1).padStart(8)}  p50 ${n(d.median, digits).padStart(7)}  ` +
    `p90 ${n(d.percentiles.p90 ?? null, digits).padStart(7)}  p99 ${n(d.percentiles.p99 ?? null, digits).padStart(7)}  max ${n(d.max, digits).padStart(7)}`;
  const line = (label: string, value: string): string => `${label.padEnd(28)} ${value}`;
  const lines = [
    `Trace ${s.path}`,
    line('Rows used', `${s.rows} (read ${s.rows_read}; dropped, query length empty or NaN: ${s.dropped_missing_query}, <= 0: ${s.dropped_non_positive_query}; beyond num_prompts: ${s.beyond_num_prompts})`),
    line('Reply lengths defaulted', `${s.defaulted_reply_length} set to 128 (missing); ${s.raised_reply_length} raised to 1 (<= 0)`),
    line('Conversations', `${s.conversations} (${s.single_turn_conversations} single-turn; peak ${s.peak_active_conversations} active at once)`),
    line('First timestamp', s.first_timestamp),
    line('Span (s)', n(s.span_s, 3)),
    line('Request rate (req/s)', `${n(s.request_rate, 3)} as recorded (replay rate R runs it R times faster)`),
    line('Conversation rate (conv/s)', n(s.conversation_rate, 3)),
    dist('Turns per conversation', s.turns_per_conversation),
    dist('Query tokens', s.query_tokens),
    dist('Reply tokens', s.reply_tokens),
    dist('Prompt tokens (w/ history)', s.prompt_tokens),
    dist('Gap between turns (s)', s.turn_gap_s, 2),
    line('Total prompt tokens', String(s.total_prompt_tokens)),
    line('Total reply tokens', String(s.total_reply_tokens)),
    line('History share of prompts', `${(s.history_token_share * 100).toFixed(1)}% (hit-rate ceiling of an unbounded prefix cache)`),
  ];
  const models = Object.entries(s.model_names);
  if (models.length > 0) lines.push(line('Model names', models.map(([name, count]) => `${name} (${count})`).join(', ')));
  return lines.join('\n');
}
