// The shape of a load-generator run's result.json. The orchestrator reads it with this schema,
// possibly inside Temporal workflow code: this module must not import Node APIs.
// Top-level names follow `vllm bench serve`; kvsweep's additions are nested or clearly named.
import { z } from 'zod';

const figure = z.number().nullable();

const LATENCY_METRICS = ['ttft', 'tpot', 'itl', 'e2el'] as const;
const LATENCY_STATS = ['mean', 'median', 'std', 'p90', 'p95', 'p99', 'p99.9'] as const;
type LatencyKey = `${(typeof LATENCY_STATS)[number]}_${(typeof LATENCY_METRICS)[number]}_ms`;
/** `mean_ttft_ms`, `p99.9_itl_ms`, ...: null when no request produced the sample. */
export const LATENCY_KEYS = LATENCY_METRICS.flatMap((m) => LATENCY_STATS.map((s) => `${s}_${m}_ms` as LatencyKey));
const latencyShape = Object.fromEntries(LATENCY_KEYS.map((k) => [k, figure])) as Record<LatencyKey, typeof figure>;

export const PrefixCacheResetResult = z.object({
  status: z.enum(['ok', 'failed', 'unsupported', 'skipped']),
  http_status: z.number().int().nullable(),
  detail: z.string(),
});

export type PrefixCacheReset = z.infer<typeof PrefixCacheResetResult>;

/**
 * The LMCache fork's own statistics endpoint (`GET .../lmcache/stats`, JSON with `lmcache_stats`
 * and `conversation_stats`), read before and after the run as the old benchmark client read it.
 */
export const LmcacheStatsEndpoint = z.object({
  url: z.string(),
  /** `unavailable`: the endpoint did not answer with that JSON (the figures are then empty). */
  status: z.enum(['ok', 'unavailable']),
  detail: z.string(),
  /**
   * `lmcache_stats`: counts are after - before (they are cumulative since the server started);
   * rates and averages are the server's own after the run (since it started).
   */
  figures: z.record(z.string(), figure),
  /** `conversation_stats` after the run, as the server reports them. */
  conversation: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()])),
});
export type LmcacheStatsEndpoint = z.infer<typeof LmcacheStatsEndpoint>;

/** A group of figures the run could not get, and why (also printed on the console). */
export const MissingFigures = z.object({ figures: z.string(), reason: z.string() });

export const CacheStatistics = z.object({
  /** Whether POST /reset_prefix_cache emptied the cache before the run. */
  prefix_cache_reset: PrefixCacheResetResult,
  /** Tokens looked up / found in the GPU prefix cache during the run (counter deltas). */
  prefix_cache_queries: figure,
  prefix_cache_hits: figure,
  prefix_cache_hit_rate: figure,
  /** The same for the KV connector (LMCache's CPU tier). */
  external_prefix_cache_queries: figure,
  external_prefix_cache_hits: figure,
  external_prefix_cache_hit_rate: figure,
  preemptions: figure,
  /** Highest KV-cache usage (0..1) seen in the run's scrapes (about one a second). */
  peak_kv_cache_usage: figure,
  /** Present when the server exposes `lmcache:` metrics. */
  lmcache: z
    .object({
      retrieve_hit_rate: figure,
      lookup_hit_rate: figure,
      /** Counter deltas over the run, keyed without the `lmcache:` prefix. */
      deltas: z.record(z.string(), z.number()),
      /** Gauge peaks over the run. */
      peaks: z.record(z.string(), z.number()),
    })
    .nullable(),
  /** Present when the client was given the LMCache fork's statistics URL. */
  lmcache_stats_endpoint: LmcacheStatsEndpoint.nullable().default(null),
  /** Figures a server of this kind should give but this one did not, with the reason. */
  missing_figures: z.array(MissingFigures).default([]),
  /** Which exposed name each figure was read from (null: not exposed). */
  metric_names: z.record(z.string(), z.string().nullable()),
  scrapes: z.number().int(),
  failed_scrapes: z.number().int(),
  notes: z.array(z.string()),
});
export type CacheStatistics = z.infer<typeof CacheStatistics>;

export const DistributionSummary = z.object({
  count: z.number().int(),
  mean: figure,
  median: figure,
  p90: figure,
  p99: figure,
  'p99.9': figure,
  max: figure,
});

/** How close each new user message came to its trace length, counted by the server's tokenizer. */
export const MessageSizeReport = z.object({
  /** `tokenize`: planned and counted with POST /tokenize; `estimate`: sized by the calibration alone. */
  method: z.enum(['tokenize', 'estimate']),
  detail: z.string(),
  /** Messages counted with /tokenize before the run (every message of the trace). */
  checked: z.number().int(),
  exact: z.number().int(),
  within_1: z.number().int(),
  /** Server count minus trace length, over the checked messages. */
  mean_error: figure,
  mean_abs_error: figure,
  max_abs_error: figure,
  /** Error in tokens (`-1`, `0`, `1`, ...; `<-10` and `>10` grouped) -> messages. */
  error_counts: z.record(z.string(), z.number().int()),
});
export type MessageSizeReport = z.infer<typeof MessageSizeReport>;

/** How replies that carry reasoning (`<think>...</think>`) were put into the history. */
export const ReasoningHistory = z.object({
  /** `rewrite`: `</think>` becomes `<think>` in the history copy; `verbatim`: the reply as received. */
  mode: z.enum(['rewrite', 'verbatim']),
  /** Whether the server's chat template drops the reasoning of earlier replies (null: not measured). */
  template_drops_reasoning: z.boolean().nullable(),
  detail: z.string(),
  /** Replies whose history copy was rewritten. */
  replies_rewritten: z.number().int(),
});
export type ReasoningHistory = z.infer<typeof ReasoningHistory>;

const GcPacing = z.object({
  enabled: z.boolean(),
  collections: z.number().int(),
  pause_ms_total: z.number(),
  pause_ms_max: figure,
});
/** What result.json says when the client did not pace its GC. */
export const NO_GC_PACING = { enabled: false, collections: 0, pause_ms_total: 0, pause_ms_max: null };

/** What an offline replay (`kvsweep simulate`, offline/) adds: it simulated the server instead of measuring one. */
export const OfflineFacts = z.object({
  input: z.object({ kind: z.string(), path: z.string() }),
  model: z.string(),
  policy: z.string(),
  /** Which tier cache_size_gb sized: `cpu` (LMCache's, behind a GPU tier) or `gpu` (vLLM's alone). */
  cache_tier: z.enum(['cpu', 'gpu']),
  cache_size_gb: z.number(),
  gpu_blocks: z.number().int(),
  block_size: z.number().int(),
  cpu_chunks: z.number().int().nullable(),
  chunk_size: z.number().int().nullable(),
  /** Seconds the replay covers on the virtual clock. */
  virtual_seconds: z.number(),
  /** Wall-clock and CPU seconds of the replay itself (inputs read and files written excluded). */
  replay_wall_seconds: z.number(),
  replay_cpu_seconds: z.number(),
  /** Requests replayed per CPU second (on a busy machine, wall time measures the neighbours). */
  requests_per_cpu_second: z.number(),
  engine_steps: z.number().int(),
  /** What the input reader dropped or assumed. */
  notes: z.array(z.string()),
  /**
   * The same replay with an unbounded CPU tier (nothing evicted, any policy), when it was simulated:
   * the ceiling the report draws over the hit-rate panels.
   */
  ceiling: z
    .object({ cache_size_gb: z.number(), prefix_cache_hit_rate: figure, external_prefix_cache_hit_rate: figure, hit_rate: figure })
    .optional(),
  /** Policy lightgbm: its mode, what it was trained and evaluated on, and the evaluated part's hit rates. */
  lightgbm: z
    .object({
      mode: z.string(),
      trained_on: z.string(),
      evaluated_on: z.string(),
      evaluated_from: z.number().int(),
      model_path: z.string(),
      training_rows: z.number().int(),
      training_seconds: z.number(),
      lightgbm_version: z.string(),
      evaluated: z.object({ requests: z.number().int(), hit_rate: figure, gpu_hit_rate: figure, cpu_hit_rate: figure }),
    })
    .optional(),
});
export type OfflineFacts = z.infer<typeof OfflineFacts>;

export const LoadgenResult = z.object({
  date: z.string(),
  /** `offline`: written by an offline cache model (offline/), not by a client of a server. */
  backend: z.enum(['openai-chat', 'offline']),
  base_url: z.string(),
  model_id: z.string(),
  dataset: z.string(),
  arrival: z.enum(['trace', 'poisson']),
  /** Replay speed factor for `trace`, requests/s for `poisson`; `inf` sends as fast as allowed. */
  request_rate: z.union([z.number(), z.literal('inf')]),
  seed: z.number().int(),
  mock_decoding: z.boolean(),
  time_limit_s: figure,
  time_limit_reached: z.boolean(),
  /** The run was stopped by SIGINT/SIGTERM: figures cover what happened until then. */
  interrupted: z.boolean().default(false),
  /** Turns taken from the trace (after num_prompts). */
  num_prompts: z.number().int(),
  /** Seconds from the first send to the end of the last request. */
  duration: z.number(),
  completed: z.number().int(),
  /** Requests that ended in an error (HTTP status, connection, malformed stream). */
  failed: z.number().int(),
  /** In flight at the time limit and still running after the grace period. */
  aborted: z.number().int(),
  /** Not sent before the time limit. */
  not_started: z.number().int(),
  total_input_tokens: z.number().int(),
  total_output_tokens: z.number().int(),
  request_throughput: z.number(),
  /** vLLM computes it only with SLOs, which kvsweep does not set. */
  request_goodput: figure,
  output_throughput: z.number(),
  total_token_throughput: z.number(),
  max_output_tokens_per_s: z.number(),
  max_concurrent_requests: z.number().int(),
  ...latencyShape,
  /** Requests sent per second over the sending window (first to last send). */
  achieved_request_rate: figure,
  /** Actual send time minus due time, in ms (due = scheduled time, or the end of the previous turn). */
  send_time_error_ms: DistributionSummary,
  prompt_size: z.object({
    calibration: z.object({
      source: z.enum(['tokenize', 'assumed']),
      tokensPerWord: z.number(),
      interceptTokens: z.number(),
      templateBaseTokens: z.number(),
      templatePerMessageTokens: z.number(),
      detail: z.string(),
    }),
    /** Server-reported prompt tokens minus the size aimed for, per completed request. */
    error_tokens: DistributionSummary,
    /** |error| / aimed size. */
    abs_relative_error: DistributionSummary,
    /** Each new user message against its trace length (null in results written before it existed). */
    messages: MessageSizeReport.nullable().default(null),
  }),
  reasoning: ReasoningHistory.nullable().default(null),
  /** The client's own health: a saturated or starved client measures itself, not the server. */
  client: z.object({
    /** CPU time of the client process (all threads) / wall time of the replay, in % of one core. */
    cpu_percent: figure,
    /** Event-loop delay of the main thread during the replay (perf_hooks, 10 ms resolution). */
    event_loop_delay_ms: z.object({ p50: figure, p99: figure, max: figure }),
    /** Where /metrics was scraped and parsed: `worker`, or `main-thread (...)` with the reason. */
    metrics_sampler: z.string(),
    /** Requests replayed against an in-process responder before the clock, to warm the client's code up (0: none). */
    warm_up_requests: z.number().int().default(0),
    /** Young-generation collections the client ran in gaps of its schedule (loadgen/gc-pacer.ts). */
    gc_pacing: GcPacing.default(NO_GC_PACING),
  })
  // Absent from results written before these figures existed.
  .default({ cpu_percent: null, event_loop_delay_ms: { p50: null, p99: null, max: null }, metrics_sampler: 'unknown', warm_up_requests: 0, gc_pacing: NO_GC_PACING }),
  /** Error message -> count, most frequent first (at most 20). */
  errors: z.record(z.string(), z.number().int()),
  cache_statistics: CacheStatistics,
  files: z.object({ requests: z.string(), metrics: z.string() }),
  /** Present when the run was simulated offline. */
  offline: OfflineFacts.optional(),
});
export type LoadgenResult = z.infer<typeof LoadgenResult>;

/** One line of requests.jsonl. Times in ms since the run's start (the first due time is 0). */
export const RequestRecord = z.object({
  index: z.number().int(),
  conversation: z.string(),
  turn: z.number().int(),
  status: z.enum(['ok', 'failed', 'aborted', 'not_started']),
  /** From the trace (or the Poisson draw), divided by the rate. */
  scheduled_ms: z.number(),
  /** max(scheduled, end of the previous turn of the conversation); null if never due. */
  due_ms: figure,
  sent_ms: figure,
  send_error_ms: figure,
  ttft_ms: figure,
  itl_ms: z.array(z.number()),
  e2el_ms: figure,
  prompt_tokens: figure,
  expected_prompt_tokens: figure,
  /** Tokens of the new user message, counted by the server's /tokenize before the run (null: not counted). */
  message_tokens: figure.default(null),
  cached_tokens: figure,
  /** Offline runs: the part of cached_tokens found in the GPU tier, and the part loaded from the CPU tier. */
  gpu_hit_tokens: figure.optional(),
  cpu_hit_tokens: figure.optional(),
  output_tokens: figure,
  requested_output_tokens: z.number().int(),
  http_status: z.number().int().nullable(),
  error: z.string().nullable(),
});
export type RequestRecord = z.infer<typeof RequestRecord>;
