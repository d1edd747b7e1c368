// result.json of an offline replay: the fields and conventions of a live run's (loadgen/aggregate.ts:
// vLLM's names, TPOT without the first token, numpy's percentiles), computed from the record
// columns, and cache statistics computed from the simulator's own /metrics text before and after
// the replay by the live client's code (loadgen/cache-stats.ts), so they cannot drift apart.
import { computeCacheStatistics } from '../loadgen/cache-stats.ts';
import { counterNames, flattenMetrics, parseMetrics } from '../loadgen/prometheus.ts';
import { LATENCY_KEYS, NO_GC_PACING, type CacheStatistics, type LoadgenResult } from '../loadgen/result-schema.ts';
import { summarize, type Summary } from '../loadgen/stats.ts';
import type { Ceiling } from './ceiling.ts';
import type { LightgbmFacts } from './policies/lightgbm-training.ts';
import { CHATML } from './replay.ts';
import type { OfflineSimulation } from './simulate.ts';

type Distribution = LoadgenResult['send_time_error_ms'];

/** The distribution of `count` zeros (offline, every request is sent at its due time at its expected size). */
function zeros(count: number): Distribution {
  const v = count > 0 ? 0 : null;
  return { count, mean: v, median: v, p90: v, p99: v, 'p99.9': v, max: v };
}

function pick(s: Summary, stat: string): number | null {
  if (stat === 'mean') return s.mean;
  if (stat === 'median') return s.median;
  if (stat === 'std') return s.std;
  return s.percentiles[stat] ?? null;
}

/** Cache statistics from the metrics text before and after, with the peaks the engine kept. */
export function offlineCacheStatistics(sim: OfflineSimulation): CacheStatistics {
  const after = parseMetrics(sim.metricsAfter);
  const flatAfter = flattenMetrics(after);
  const peak: Record<string, number> = { ...flatAfter };
  peak['vllm:kv_cache_usage_perc'] = peak['vllm:gpu_cache_usage_perc'] = sim.engine.peakKvUsage;
  if (flatAfter['lmcache:local_cache_usage'] !== undefined) peak['lmcache:local_cache_usage'] = sim.engine.peakCpuBytes;
  return computeCacheStatistics(
    { before: flattenMetrics(parseMetrics(sim.metricsBefore)), after: flatAfter, peak, counters: counterNames(after), scrapes: 2, failedScrapes: 0, lastError: null },
    { status: 'ok', http_status: null, detail: 'offline: the replay starts with empty caches' },
  );
}

/** result.json of a replay; the unbounded cache's figures when simulated (offline/ceiling.ts), policy lightgbm's training. */
export function offlineResult(sim: OfflineSimulation, files: LoadgenResult['files'], extras: { ceiling?: Ceiling | undefined; lightgbm?: LightgbmFacts | undefined } = {}): LoadgenResult {
  const { ceiling, lightgbm } = extras;
  const e = sim.experiment;
  const r = sim.records;
  const o = sim.outcome;
  const samples: Record<string, number[]> = { ttft: [], tpot: [], e2el: [] };
  let completed = 0;
  let failed = 0;
  let aborted = 0;
  let sent = 0;
  let inputTokens = 0;
  let outputTokens = 0;
  const errors = new Map<string, number>();
  for (let i = 0; i < r.size; i++) {
    if (!Number.isNaN(r.sentMs[i]!)) sent++;
    const error = r.errors.get(i);
    if (error !== undefined) errors.set(error.slice(0, 200), (errors.get(error.slice(0, 200)) ?? 0) + 1);
    const status = r.statusOf(i);
    if (status === 'failed') failed++;
    if (status === 'aborted') aborted++;
    if (status !== 'ok') continue;
    completed++;
    const output = r.outputTokens[i]!;
    inputTokens += r.promptTokens[i]!;
    outputTokens += output;
    samples.ttft!.push(r.ttftMs[i]!);
    samples.e2el!.push(r.e2elMs[i]!);
    if (output > 1) samples.tpot!.push((r.e2elMs[i]! - r.ttftMs[i]!) / (output - 1));
  }
  const latency: Record<string, number | null> = {};
  const summaries = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
  const itl = sim.figures.itlSeconds;
  const ms = (v: number | null): number | null => (v === null ? null : v * 1000);
  for (const key of LATENCY_KEYS) {
    const [stat, metric] = key.replace(/_ms$/, '').split('_') as [string, string];
    if (metric !== 'itl') latency[key] = pick(summaries[metric]!, stat);
    else if (stat === 'mean') latency[key] = ms(itl.mean());
    else if (stat === 'std') latency[key] = ms(itl.std());
    else latency[key] = ms(itl.percentile(stat === 'median' ? 50 : Number(stat.slice(1))));
  }
  const duration = o.firstSendS === null ? 0 : Math.max(0, o.endS - o.firstSendS);
  const perSecond = (n: number): number => (duration > 0 ? n / duration : 0);
  const sendWindow = o.firstSendS !== null && o.lastSendS !== null ? o.lastSendS - o.firstSendS : 0;
  const cpu = sim.config.cpuTier;
  return {
    date: new Date().toISOString(),
    backend: 'openai-chat',
    base_url: 'offline',
    model_id: e.model,
    dataset: e.input.path,
    arrival: e.arrival,
    request_rate: e.request_rate,
    seed: e.seed,
    mock_decoding: e.mock_decoding,
    time_limit_s: e.time_limit,
    time_limit_reached: o.timeLimitReached,
    interrupted: false,
    num_prompts: r.size,
    duration,
    completed,
    failed,
    aborted,
    not_started: r.size - sent,
    total_input_tokens: inputTokens,
    total_output_tokens: outputTokens,
    request_throughput: perSecond(completed),
    request_goodput: null,
    output_throughput: perSecond(outputTokens),
    total_token_throughput: perSecond(inputTokens + outputTokens),
    max_output_tokens_per_s: sim.figures.peakTokensPerSecond(),
    max_concurrent_requests: o.maxConcurrent,
    ...(latency as Pick<LoadgenResult, (typeof LATENCY_KEYS)[number]>),
    achieved_request_rate: sendWindow > 0 ? (sent - 1) / sendWindow : null,
    send_time_error_ms: zeros(sent),
    prompt_size: {
      calibration: {
        source: 'assumed',
        tokensPerWord: 1,
        interceptTokens: 0,
        templateBaseTokens: CHATML.baseTokens,
        templatePerMessageTokens: CHATML.perMessageTokens,
        detail: "offline: the simulator's tokenizer (one token per word) and ChatML template",
      },
      error_tokens: zeros(completed),
      abs_relative_error: zeros(completed),
      messages: null,
    },
    reasoning: null,
    client: {
      cpu_percent: null,
      event_loop_delay_ms: { p50: null, p99: null, max: null },
      metrics_sampler: 'offline: counters read from the simulated engine',
      warm_up_requests: 0,
      gc_pacing: NO_GC_PACING,
    },
    errors: Object.fromEntries([...errors].sort((a, b) => b[1] - a[1]).slice(0, 20)),
    cache_statistics: offlineCacheStatistics(sim),
    files,
    offline: {
      input: { kind: e.input.kind, path: e.input.path },
      model: e.model,
      policy: e.policy,
      cache_tier: e.cache_tier,
      cache_size_gb: e.cache_size_gb,
      gpu_blocks: sim.config.numGpuBlocks,
      block_size: sim.config.blockSize,
      cpu_chunks: cpu ? cpu.capacityChunks : null,
      chunk_size: cpu ? cpu.chunkSize : null,
      virtual_seconds: o.endS,
      replay_wall_seconds: sim.wallSeconds,
      replay_cpu_seconds: sim.cpuSeconds,
      requests_per_cpu_second: sim.cpuSeconds > 0 ? r.size / sim.cpuSeconds : 0,
      engine_steps: sim.engine.steps,
      notes: [...sim.stream.notes, ...sim.config.notices],
      ...(ceiling ? { ceiling } : {}),
      ...(lightgbm ? { lightgbm } : {}),
    },
  };
}
