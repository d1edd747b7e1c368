// Turns the per-request records of a run into result.json's figures (vLLM's names and
// conventions: TPOT excludes the first token, ITL is per streamed chunk, percentiles are numpy's)
// and prints the console "Serving Benchmark Result" block. Pure.
import { summarize, type Summary } from './stats.ts';
import { LATENCY_KEYS, type CacheStatistics, type LoadgenResult, type MessageSizeReport, type ReasoningHistory, type RequestRecord } from './result-schema.ts';
import type { PromptCalibration } from './prompt.ts';

export interface RunFacts {
  date: string;
  baseUrl: string;
  model: string;
  dataset: string;
  arrival: 'trace' | 'poisson';
  requestRate: number;
  seed: number;
  mockDecoding: boolean;
  timeLimitS: number | null;
  timeLimitReached: boolean;
  interrupted: boolean;
  /** ms since the run start; null when nothing was sent. */
  firstSendMs: number | null;
  lastSendMs: number | null;
  endMs: number;
  maxConcurrent: number;
  calibration: PromptCalibration;
  messageSizes: MessageSizeReport | null;
  reasoning: ReasoningHistory | null;
  cacheStatistics: CacheStatistics;
  client: LoadgenResult['client'];
  files: { requests: string; metrics: string };
}

export function aggregate(records: readonly RequestRecord[], facts: RunFacts): LoadgenResult {
  const ok = records.filter((r) => r.status === 'ok');
  const sent = records.filter((r) => r.sent_ms !== null);
  const durationS = facts.firstSendMs === null ? 0 : Math.max(0, facts.endMs - facts.firstSendMs) / 1000;
  const perSecond = (n: number): number => (durationS > 0 ? n / durationS : 0);
  let inputTokens = 0;
  let outputTokens = 0;
  const ttft: number[] = [];
  const tpot: number[] = [];
  const itl: number[] = [];
  const e2el: number[] = [];
  const sizeError: number[] = [];
  const sizeRelative: number[] = [];
  for (const r of ok) {
    const prompt = r.prompt_tokens ?? r.expected_prompt_tokens ?? 0;
    const output = r.output_tokens ?? 0;
    inputTokens += prompt;
    outputTokens += output;
    if (r.ttft_ms !== null) ttft.push(r.ttft_ms);
    if (r.e2el_ms !== null) e2el.push(r.e2el_ms);
    if (r.ttft_ms !== null && r.e2el_ms !== null && output > 1) tpot.push((r.e2el_ms - r.ttft_ms) / (output - 1));
    for (const v of r.itl_ms) itl.push(v);
    if (r.prompt_tokens !== null && r.expected_prompt_tokens !== null && r.expected_prompt_tokens > 0) {
      const error = r.prompt_tokens - r.expected_prompt_tokens;
      sizeError.push(error);
      sizeRelative.push(Math.abs(error) / r.expected_prompt_tokens);
    }
  }
  const latency: Record<string, number | null> = {};
  const samples: Record<string, number[]> = { ttft, tpot, itl, e2el };
  for (const key of LATENCY_KEYS) {
    const [stat, metric] = key.replace(/_ms$/, '').split('_') as [string, string];
    latency[key] = pick(summarize(samples[metric]!), stat);
  }
  const sendWindowS = facts.firstSendMs !== null && facts.lastSendMs !== null ? (facts.lastSendMs - facts.firstSendMs) / 1000 : 0;
  return {
    date: facts.date,
    backend: 'openai-chat',
    base_url: facts.baseUrl,
    model_id: facts.model,
    dataset: facts.dataset,
    arrival: facts.arrival,
    request_rate: Number.isFinite(facts.requestRate) ? facts.requestRate : 'inf',
    seed: facts.seed,
    mock_decoding: facts.mockDecoding,
    time_limit_s: facts.timeLimitS,
    time_limit_reached: facts.timeLimitReached,
    interrupted: facts.interrupted,
    num_prompts: records.length,
    duration: durationS,
    completed: ok.length,
    failed: records.filter((r) => r.status === 'failed').length,
    aborted: records.filter((r) => r.status === 'aborted').length,
    not_started: records.filter((r) => r.status === 'not_started').length,
    total_input_tokens: inputTokens,
    total_output_tokens: outputTokens,
    request_throughput: perSecond(ok.length),
    request_goodput: null,
    output_throughput: perSecond(outputTokens),
    total_token_throughput: perSecond(inputTokens + outputTokens),
    max_output_tokens_per_s: peakTokensPerSecond(ok),
    max_concurrent_requests: facts.maxConcurrent,
    ...(latency as Pick<LoadgenResult, (typeof LATENCY_KEYS)[number]>),
    achieved_request_rate: sendWindowS > 0 ? (sent.length - 1) / sendWindowS : null,
    send_time_error_ms: distribution(summarize(sent.map((r) => r.send_error_ms!))),
    prompt_size: {
      calibration: facts.calibration,
      error_tokens: distribution(summarize(sizeError)),
      abs_relative_error: distribution(summarize(sizeRelative)),
      messages: facts.messageSizes,
    },
    reasoning: facts.reasoning,
    client: facts.client,
    errors: errorCounts(records),
    cache_statistics: facts.cacheStatistics,
    files: facts.files,
  };
}

function pick(s: Summary, stat: string): number | null {
  if (stat === 'mean') return s.mean;
  if (stat === 'median') return s.median;
  if (stat === 'std') return s.std;
  return s.percentiles[stat] ?? null;
}

function distribution(s: Summary): LoadgenResult['send_time_error_ms'] {
  return {
    count: s.count,
    mean: s.mean,
    median: s.median,
    p90: s.percentiles.p90 ?? null,
    p99: s.percentiles.p99 ?? null,
    'p99.9': s.percentiles['p99.9'] ?? null,
    max: s.max,
  };
}

/** Most tokens (streamed chunks) that arrived within one whole second of the run, as vLLM bins them. */
function peakTokensPerSecond(ok: readonly RequestRecord[]): number {
  const bins = new Map<number, number>();
  for (const r of ok) {
    if (r.sent_ms === null || r.ttft_ms === null) continue;
    let t = r.sent_ms + r.ttft_ms;
    const add = (time: number): void => {
      const bin = Math.floor(time / 1000);
      bins.set(bin, (bins.get(bin) ?? 0) + 1);
    };
    add(t);
    for (const gap of r.itl_ms) {
      t += gap;
      add(t);
    }
  }
  let peak = 0;
  for (const count of bins.values()) peak = Math.max(peak, count);
  return peak;
}

function errorCounts(records: readonly RequestRecord[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const r of records) {
    if (r.error === null) continue;
    const key = r.error.slice(0, 200);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]).slice(0, 20));
}

/** The console block, laid out as `vllm bench serve` prints it, with kvsweep's lines added. */
export function formatResultBlock(r: LoadgenResult): string {
  const lines: string[] = [center(' Serving Benchmark Result ', '=')];
  const row = (label: string, value: number | string | null, digits = 2): void => {
    const text = value === null ? 'n/a' : typeof value === 'number' ? value.toFixed(digits) : value;
    lines.push(`${label.padEnd(40)} ${text}`);
  };
  const int = (label: string, value: number): void => {
    lines.push(`${label.padEnd(40)} ${value}`);
  };
  int('Successful requests:', r.completed);
  int('Failed requests:', r.failed);
  int('Aborted at time limit:', r.aborted);
  int('Not started (time limit):', r.not_started);
  row('Benchmark duration (s):', r.duration);
  int('Total input tokens:', r.total_input_tokens);
  int('Total generated tokens:', r.total_output_tokens);
  row('Request throughput (req/s):', r.request_throughput);
  row('Output token throughput (tok/s):', r.output_throughput);
  row('Peak output token throughput (tok/s):', r.max_output_tokens_per_s);
  int('Peak concurrent requests:', r.max_concurrent_requests);
  row('Total Token throughput (tok/s):', r.total_token_throughput);
  const section = (title: string, metric: string, name: string): void => {
    lines.push(center(title, '-'));
    const get = (stat: string): number | null => (r as unknown as Record<string, number | null>)[`${stat}_${metric}_ms`] ?? null;
    row(`Mean ${name} (ms):`, get('mean'));
    row(`Median ${name} (ms):`, get('median'));
    row(`P99 ${name} (ms):`, get('p99'));
  };
  section('Time to First Token', 'ttft', 'TTFT');
  section('Time per Output Token (excl. 1st token)', 'tpot', 'TPOT');
  section('Inter-token Latency', 'itl', 'ITL');
  section('End-to-end Latency', 'e2el', 'E2EL');
  lines.push(center('Send-time error', '-'));
  row('Achieved request rate (req/s):', r.achieved_request_rate);
  row('Median send-time error (ms):', r.send_time_error_ms.median, 3);
  row('P99 send-time error (ms):', r.send_time_error_ms.p99, 3);
  row('Max send-time error (ms):', r.send_time_error_ms.max, 3);
  const c = r.cache_statistics;
  lines.push(center('KV cache (server metrics)', '-'));
  row('Prefix cache reset:', c.prefix_cache_reset.status);
  row('Prefix cache hit rate:', c.prefix_cache_hit_rate, 4);
  row('External (LMCache) hit rate:', c.external_prefix_cache_hit_rate, 4);
  row('Preemptions:', c.preemptions, 0);
  row('Peak KV cache usage:', c.peak_kv_cache_usage, 4);
  const fork = c.lmcache_stats_endpoint;
  if (fork !== null && fork.status === 'ok') {
    for (const [name, value] of Object.entries(fork.figures)) row(`LMCache stats ${name}:`, value, Number.isInteger(value) ? 0 : 4);
    // Under the old client's names, as its users grep them.
    for (const [name, value] of Object.entries(fork.conversation)) row(`conversation_${name}:`, typeof value === 'number' ? value : String(value), Number.isInteger(value) ? 0 : 4);
  }
  for (const missing of c.missing_figures) lines.push(`Missing: ${missing.figures}`);
  const m = r.prompt_size.messages;
  if (m !== null) {
    lines.push(center('Prompt sizes', '-'));
    if (m.method === 'tokenize') {
      row('Messages within 1 token of the trace:', `${m.within_1} of ${m.checked}`);
      row('Mean |message size error| (tokens):', m.mean_abs_error, 3);
    } else {
      row('Message sizes:', 'estimated (not counted: no /tokenize)');
    }
  }
  lines.push('='.repeat(50));
  return lines.join('\n');
}

/** Python's `'{:c^50}'.format(text)`: the extra padding character goes to the right. */
function center(text: string, fill: string): string {
  const total = Math.max(0, 50 - text.length);
  const left = Math.floor(total / 2);
  return fill.repeat(left) + text + fill.repeat(total - left);
}
