// result.json for an experiment of the old model: the load generator's fields where they mean
// something offline (token counts, trace-time throughputs, the hit ratio as the external (LMCache)
// tier's), null where the model has no such figure (latencies: it has no clock of its own),
// and the old model's own figures in an `old_simulator` block.
import { LATENCY_KEYS, LoadgenResult, NO_GC_PACING } from '../../loadgen/result-schema.ts';
import type { ConversationEvent } from '../lightgbm/training-set.ts';
import type { OldSimulatorFigures } from './schema.ts';

const EMPTY_DISTRIBUTION = { count: 0, mean: null, median: null, p90: null, p99: null, 'p99.9': null, max: null };
export const LATENCY_NOTE = 'old-simulator: a cache model without time; latency figures are null, max_output_tokens_per_s 0';

/** Trace facts result.json reports besides the cache figures. */
export interface TraceFacts {
  durationSeconds: number;
  outputTokens: number;
  maxInFlight: number;
}

export function traceFacts(events: readonly ConversationEvent[]): TraceFacts {
  let outputTokens = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  for (const e of events) {
    if (e.kind === 'send') maxInFlight = Math.max(maxInFlight, ++inFlight);
    else {
      inFlight = Math.max(0, inFlight - 1);
      outputTokens += e.tokens;
    }
  }
  const durationSeconds = events.length > 0 ? events[events.length - 1]!.time - events[0]!.time : 0;
  return { durationSeconds, outputTokens, maxInFlight };
}

function rate(count: number, seconds: number): number {
  return seconds > 0 ? count / seconds : 0;
}

export function buildResult(figures: OldSimulatorFigures, facts: TraceFacts, modelName: string, requestsFile: string): LoadgenResult & { old_simulator: OldSimulatorFigures } {
  const counted = figures.evaluated;
  const latencies = Object.fromEntries(LATENCY_KEYS.map((k) => [k, null]));
  const result: LoadgenResult = {
    date: new Date().toISOString(),
    backend: 'offline',
    base_url: 'offline:old-simulator',
    model_id: modelName,
    dataset: figures.source.files[0] ?? '',
    arrival: 'trace',
    request_rate: 1,
    seed: 0,
    mock_decoding: false,
    time_limit_s: null,
    time_limit_reached: false,
    interrupted: false,
    num_prompts: figures.all.requests,
    duration: facts.durationSeconds,
    completed: figures.all.requests,
    failed: 0,
    aborted: 0,
    not_started: 0,
    total_input_tokens: figures.all.lookup_tokens,
    total_output_tokens: facts.outputTokens,
    request_throughput: rate(figures.all.requests, facts.durationSeconds),
    request_goodput: null,
    output_throughput: rate(facts.outputTokens, facts.durationSeconds),
    total_token_throughput: rate(figures.all.lookup_tokens + facts.outputTokens, facts.durationSeconds),
    max_output_tokens_per_s: 0,
    max_concurrent_requests: facts.maxInFlight,
    ...(latencies as Pick<LoadgenResult, (typeof LATENCY_KEYS)[number]>),
    achieved_request_rate: null,
    send_time_error_ms: EMPTY_DISTRIBUTION,
    prompt_size: {
      calibration: { source: 'assumed', tokensPerWord: 0, interceptTokens: 0, templateBaseTokens: 0, templatePerMessageTokens: 0, detail: 'offline: prompt sizes are the input\'s token counts' },
      error_tokens: EMPTY_DISTRIBUTION,
      abs_relative_error: EMPTY_DISTRIBUTION,
      messages: null,
    },
    reasoning: null,
    client: { cpu_percent: null, event_loop_delay_ms: { p50: null, p99: null, max: null }, metrics_sampler: 'none (offline)', warm_up_requests: 0, gc_pacing: NO_GC_PACING },
    errors: {},
    cache_statistics: {
      prefix_cache_reset: { status: 'skipped', http_status: null, detail: 'offline: the cache model starts empty' },
      prefix_cache_queries: null,
      prefix_cache_hits: null,
      prefix_cache_hit_rate: null,
      external_prefix_cache_queries: counted.lookup_tokens,
      external_prefix_cache_hits: counted.hit_tokens,
      external_prefix_cache_hit_rate: counted.token_hit_ratio,
      preemptions: null,
      peak_kv_cache_usage: null,
      lmcache_stats_endpoint: null,
      missing_figures: [],
      lmcache: {
        retrieve_hit_rate: counted.token_hit_ratio,
        lookup_hit_rate: counted.token_hit_ratio,
        deltas: {
          num_requested_tokens: counted.lookup_tokens,
          num_hit_tokens: counted.hit_tokens,
          num_lookup_tokens: counted.lookup_tokens,
          num_lookup_hits: counted.hit_tokens,
          local_cpu_evict_count: figures.evictions,
        },
        peaks: { local_cache_usage: figures.peak_usage },
      },
      metric_names: {},
      scrapes: 0,
      failed_scrapes: 0,
      notes: [
        'old-simulator: one CPU tier (LMCache), whole-turn entries; the GPU prefix cache is not modelled (prefix_cache_* null)',
        `old-simulator: hit figures count ${counted.description}`,
        LATENCY_NOTE,
      ],
    },
    files: { requests: requestsFile, metrics: '' },
  };
  return { ...LoadgenResult.parse(result), old_simulator: figures };
}
