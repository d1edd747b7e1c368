// What one experiment of the old simulator's model takes, and the figures it writes into
// result.json's `old_simulator` block. One definition each (zod), types inferred.
import { z } from 'zod';
import { LightgbmMode, TrainingReport } from '../lightgbm/train.ts';

export const OLD_POLICIES = ['lru', 'conversation_aware', 'oracle', 'lightgbm'] as const;
export const OldPolicy = z.enum(OLD_POLICIES);
export type OldPolicy = z.infer<typeof OldPolicy>;

/** Where the events come from: the old tool's log pair, or a trace CSV through its converter's rules. */
export const OldSource = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('log-pair'), server_log: z.string().min(1) }).strict(),
  z
    .object({
      kind: z.literal('trace-csv'),
      path: z.string().min(1),
      /** Reply tokens per second: done = send + reply / speed (the old converter's --tokens-per-second). */
      decode_tokens_per_second: z.number().positive().default(50),
    })
    .strict(),
]);
export type OldSource = z.infer<typeof OldSource>;

/** Which events train the LightGBM scorer, and so which requests count. */
export const LightgbmTraining = z.discriminatedUnion('kind', [
  /** The first `fraction` of the requests (with the replies done before the next one); the rest is evaluated. */
  z.object({ kind: z.literal('split'), fraction: z.number().gt(0).lt(1).default(0.5) }).strict(),
  /** As the old tool: the first `max_events` events (sends and dones); every request is evaluated. */
  z.object({ kind: z.literal('old-tool'), max_events: z.number().int().positive().default(100_000) }).strict(),
  /** All events of another input (`--train-on FILE`); every request is evaluated. */
  z.object({ kind: z.literal('file'), source: OldSource }).strict(),
  /** A model trained earlier (LightGBM text format); every request is evaluated. */
  z.object({ kind: z.literal('model'), path: z.string().min(1) }).strict(),
]);
export type LightgbmTraining = z.infer<typeof LightgbmTraining>;

export const OldSimulatorInput = z
  .object({
    source: OldSource,
    cache_size_gb: z.number().positive(),
    policy: OldPolicy,
    /** KV bytes of one token (bytes-per-token.ts gives a registry model's). */
    bytes_per_token: z.number().int().positive(),
    /** The model's registry name, for result.json. */
    model_name: z.string().default('qwen-8b'),
    lightgbm: z
      .object({
        mode: LightgbmMode.default('regression'),
        training: LightgbmTraining.default({ kind: 'split', fraction: 0.5 }),
      })
      .strict()
      .default({ mode: 'regression', training: { kind: 'split', fraction: 0.5 } }),
    /**
     * Count only requests from this fraction of the replay on (the cache is still warmed by the
     * earlier ones). Default: the LightGBM split for `lightgbm` with `split` training, else 0.
     */
    evaluate_from: z.number().min(0).lt(1).optional(),
    /** Write requests.jsonl (prompt and hit tokens per request). */
    record_requests: z.boolean().default(true),
  })
  .strict();
export type OldSimulatorInput = z.input<typeof OldSimulatorInput>;
export type OldSimulatorSettings = z.infer<typeof OldSimulatorInput>;

const Counts = z.object({
  requests: z.number().int(),
  hits: z.number().int(),
  hit_ratio: z.number().nullable(),
  lookup_tokens: z.number().int(),
  hit_tokens: z.number().int(),
  token_hit_ratio: z.number().nullable(),
});

export const OldSimulatorFigures = z.object({
  cache_model: z.literal('old-simulator'),
  policy: OldPolicy,
  cache_size_gb: z.number(),
  bytes_per_token: z.number().int(),
  capacity_bytes: z.number(),
  source: z.object({
    kind: z.enum(['log-pair', 'trace-csv']),
    files: z.array(z.string()),
    unmatched_events: z.number().int(),
    dropped_long_lookups: z.number().int(),
    unparsed_timestamps: z.number().int(),
  }),
  events: z.number().int(),
  /** Every request of the replay. */
  all: Counts,
  /** The requests counted in cache_statistics: from `from_request` (0-based) on. */
  evaluated: Counts.extend({ from_request: z.number().int(), description: z.string() }),
  evictions: z.number().int(),
  duplicate_tails: z.number().int(),
  peak_usage: z.number(),
  lightgbm: z
    .object({
      mode: LightgbmMode,
      trained_on: z.string(),
      model_path: z.string(),
      training_seconds: z.number(),
      report: TrainingReport.nullable(),
    })
    .nullable(),
  /** Wall seconds of reading the input, training, and the replay loop. */
  seconds: z.object({ read: z.number(), train: z.number(), replay: z.number() }),
  replay_requests_per_second: z.number().nullable(),
});
export type OldSimulatorFigures = z.infer<typeof OldSimulatorFigures>;
