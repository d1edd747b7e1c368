// /metrics in Prometheus text format 0.0.4 with vLLM V1's names and labels
// ({engine="0",model_name="..."}) and, when the CPU tier is on and the server runs in Prometheus
// multiprocess mode, LMCache's names (what the real stack publishes: REFERENCE.md section 6). Counters carry
// the `_total` suffix as prometheus_client writes them; --no-counter-total-suffix drops it, as some
// simulators do (clients must accept both).
import type { CpuTier } from './cpu-tier.ts';
import type { GpuBlockPool } from './gpu-pool.ts';
import type { Scheduler } from './scheduler.ts';
import type { Histogram } from './stats.ts';

export interface MetricsContext {
  scheduler: Scheduler;
  pool: GpuBlockPool;
  cpu: CpuTier | undefined;
  modelName: string;
  blockSize: number;
  totalSuffix: boolean;
  /** LMCache's lmcache:* series too (Prometheus multiprocess mode: SimConfig.lmcacheOnMetrics). */
  lmcacheSeries: boolean;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  return String(v);
}

class Writer {
  out: string[] = [];
  constructor(private readonly totalSuffix: boolean) {}

  metric(type: 'counter' | 'gauge', name: string, help: string, samples: [string, number][]): void {
    const full = type === 'counter' && this.totalSuffix ? `${name}_total` : name;
    this.out.push(`# HELP ${full} ${help}`, `# TYPE ${full} ${type}`);
    for (const [labels, v] of samples) this.out.push(`${full}{${labels}} ${num(v)}`);
  }

  histogram(name: string, help: string, labels: string, h: Histogram): void {
    this.out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
    let cumulative = 0;
    for (let i = 0; i < h.bounds.length; i++) {
      cumulative += h.counts[i]!;
      this.out.push(`${name}_bucket{${labels},le="${h.bounds[i]}"} ${cumulative}`);
    }
    this.out.push(`${name}_bucket{${labels},le="+Inf"} ${h.count}`, `${name}_sum{${labels}} ${h.sum}`, `${name}_count{${labels}} ${h.count}`);
  }
}

/**
 * GET /lmcache/stats, as the LMCache fork serves it: `lmcache_stats` (cumulative since start) and
 * `conversation_stats`. The fork's own conversation analytics are richer; these are the simulator's
 * stand-ins under the fork's names (docs/simulator.md).
 */
export function renderLmcacheStats(cpu: CpuTier | undefined): string {
  const c = cpu?.counters;
  const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);
  const requests = c?.requests ?? 0;
  const query = c?.lookupTokens ?? 0;
  const hit = c?.lookupHitTokens ?? 0;
  const retrieved = c?.hitTokens ?? 0;
  return JSON.stringify({
    lmcache_stats: {
      requests,
      query_tokens: query,
      hit_tokens: hit,
      retrieved_tokens: retrieved,
      stored_tokens: c?.storedTokens ?? 0,
      hit_rate: ratio(hit, query),
      retrieved_rate: ratio(retrieved, query),
    },
    conversation_stats: {
      requests,
      continue_turns: c?.followUpRequests ?? 0,
      nonzero_turn_ratio: ratio(c?.followUpRequests ?? 0, requests),
    },
  });
}

/** The whole /metrics body. */
export function renderMetrics(ctx: MetricsContext): string {
  const s = ctx.scheduler.stats;
  const model = escapeLabel(ctx.modelName);
  const L = `engine="0",model_name="${model}"`;
  const w = new Writer(ctx.totalSuffix);
  w.metric('gauge', 'vllm:num_requests_running', 'Number of requests in model execution batches.', [[L, ctx.scheduler.running.length]]);
  w.metric('gauge', 'vllm:num_requests_waiting', 'Number of requests waiting to be processed.', [[L, ctx.scheduler.waiting.length]]);
  w.metric('gauge', 'vllm:kv_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage.', [[L, ctx.pool.usage()]]);
  w.metric('gauge', 'vllm:gpu_cache_usage_perc', 'GPU KV-cache usage (deprecated name of vllm:kv_cache_usage_perc).', [[L, ctx.pool.usage()]]);
  w.metric('counter', 'vllm:prefix_cache_queries', 'Prefix cache queries, in terms of number of queried tokens.', [[L, s.prefixQueries]]);
  w.metric('counter', 'vllm:prefix_cache_hits', 'Prefix cache hits, in terms of number of cached tokens.', [[L, s.prefixHits]]);
  w.metric('counter', 'vllm:gpu_prefix_cache_queries', 'Deprecated name of vllm:prefix_cache_queries.', [[L, s.prefixQueries]]);
  w.metric('counter', 'vllm:gpu_prefix_cache_hits', 'Deprecated name of vllm:prefix_cache_hits.', [[L, s.prefixHits]]);
  if (ctx.cpu) {
    w.metric('counter', 'vllm:external_prefix_cache_queries', 'External prefix cache (KV connector) queries, in tokens.', [[L, s.externalQueries]]);
    w.metric('counter', 'vllm:external_prefix_cache_hits', 'External prefix cache (KV connector) hits, in tokens.', [[L, s.externalHits]]);
  }
  w.metric('counter', 'vllm:num_preemptions', 'Cumulative number of preemptions from the engine.', [[L, s.preemptions]]);
  w.metric('counter', 'vllm:prompt_tokens', 'Number of prefill tokens processed.', [[L, s.promptTokens]]);
  w.metric('counter', 'vllm:generation_tokens', 'Number of generation tokens processed.', [[L, s.generationTokens]]);
  w.metric('counter', 'vllm:request_success', 'Count of successfully processed requests.', [
    [`${L},finished_reason="stop"`, s.finished.stop],
    [`${L},finished_reason="length"`, s.finished.length],
    [`${L},finished_reason="abort"`, s.finished.abort],
  ]);
  w.metric('gauge', 'vllm:cache_config_info', 'Information of the LLMEngine CacheConfig.', [
    [`${L},block_size="${ctx.blockSize}",num_gpu_blocks="${ctx.pool.numBlocks}",enable_prefix_caching="${ctx.scheduler.config.prefixCaching}"`, 1],
  ]);
  w.histogram('vllm:time_to_first_token_seconds', 'Histogram of time to first token in seconds.', L, s.ttft);
  w.histogram('vllm:inter_token_latency_seconds', 'Histogram of inter-token latency in seconds.', L, s.itl);
  w.histogram('vllm:e2e_request_latency_seconds', 'Histogram of e2e request latency in seconds.', L, s.e2e);
  w.histogram('vllm:request_queue_time_seconds', 'Histogram of time spent in WAITING phase for request.', L, s.queueTime);
  if (ctx.cpu && ctx.lmcacheSeries) writeLmcache(w, ctx.cpu, model);
  return `${w.out.join('\n')}\n`;
}

function writeLmcache(w: Writer, cpu: CpuTier, model: string): void {
  const L = `model_name="${model}",worker_id="0"`;
  const c = cpu.counters;
  const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);
  w.metric('counter', 'lmcache:num_requested_tokens', 'Tokens requested from LMCache in retrievals.', [[L, c.requestedTokens]]);
  w.metric('counter', 'lmcache:num_hit_tokens', 'Tokens retrieved from LMCache.', [[L, c.hitTokens]]);
  w.metric('counter', 'lmcache:num_stored_tokens', 'Tokens stored into LMCache.', [[L, c.storedTokens]]);
  w.metric('counter', 'lmcache:num_lookup_tokens', 'Tokens looked up in LMCache.', [[L, c.lookupTokens]]);
  w.metric('counter', 'lmcache:num_lookup_hits', 'Tokens found by LMCache lookups.', [[L, c.lookupHitTokens]]);
  w.metric('counter', 'lmcache:local_cpu_evict_count', 'Chunks evicted from the local CPU backend.', [[L, c.evictedChunks]]);
  w.metric('gauge', 'lmcache:retrieve_hit_rate', 'Hit tokens / requested tokens of retrievals since start.', [[L, ratio(c.hitTokens, c.requestedTokens)]]);
  w.metric('gauge', 'lmcache:lookup_hit_rate', 'Hit tokens / looked-up tokens since start.', [[L, ratio(c.lookupHitTokens, c.lookupTokens)]]);
  w.metric('gauge', 'lmcache:local_cache_usage', 'Bytes of the local CPU backend in use.', [[L, cpu.usageBytes()]]);
}
