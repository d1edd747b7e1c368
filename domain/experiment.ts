// The expanded experiment: one server configuration x one trace replay. This is the contract
// between the config expansion (domain/config), the workflows and the activities, and it is also
// what `kvsweep plan --json` prints, hence the snake_case names users see in YAML and summary.json.
// Workflow code imports this module: it must stay free of Node APIs.
import { z } from 'zod';

/** `oracle` knows when each conversation comes back: it exists in the offline simulator only. */
export const EvictionStrategy = z.enum(['lru', 'conversation_aware', 'lightgbm', 'oracle']);
export type EvictionStrategy = z.infer<typeof EvictionStrategy>;

export const LightgbmMode = z.enum(['regression', 'ranking', 'classification']);
export type LightgbmMode = z.infer<typeof LightgbmMode>;

/**
 * How to start the server of one experiment. Every placeholder but the host-time ones is resolved
 * at plan time, so `plan --json` shows the real command. Host-time placeholders, filled in by the
 * worker that runs the experiment: `{port}`, `{gpus}` (comma-separated device ids), `{first_gpu}`
 * and `{scratch_dir}` (domain/config/templates.ts), and an argv
 * element that is exactly `{kvsweep}` (replaced by the argv that runs this kvsweep installation,
 * e.g. node + bin/kvsweep.js). The argv is never given to a shell.
 */
export const ServerCommand = z.object({
  argv: z.array(z.string()).min(1),
  /** Environment added to the worker's own; CUDA_VISIBLE_DEVICES is added at run time. */
  env: z.record(z.string(), z.string()),
  /** A regular expression (source) that the server log must match before /health is trusted. */
  ready_pattern: z.string(),
  ready_timeout_s: z.number().positive(),
  /** Path of the health endpoint, relative to the server's base URL. */
  health_path: z.string().default('/health'),
  /** The LMCache fork's statistics URL (host-time placeholders left), read by the built-in client. */
  lmcache_stats_url: z.string().optional(),
});
export type ServerCommand = z.infer<typeof ServerCommand>;

/**
 * The client that replays the trace. `builtin` is kvsweep's own load generator; `external` runs
 * an argv template with placeholders {base_url} {model} {dataset} {result_dir} {request_rate}
 * {num_prompts} {time_limit} {seed}, each replaced inside its argv element.
 */
export const ClientCommand = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('builtin'), arrival: z.enum(['trace', 'poisson']).default('trace') }),
  z.object({ kind: z.literal('external'), argv: z.array(z.string()).min(1) }),
]);
export type ClientCommand = z.infer<typeof ClientCommand>;

/**
 * What a dataset file holds, detected when the sweep is planned: a conversation trace CSV, the old
 * LMCache fork's server log (with its client log beside it), or the requests.jsonl of an earlier
 * kvsweep run. The last two are inputs of the offline simulator only.
 */
export const DatasetFormat = z.enum(['trace_csv', 'server_log', 'requests_jsonl']);
export type DatasetFormat = z.infer<typeof DatasetFormat>;

/** Which cache model the offline simulator replays the dataset against. */
export const CacheModel = z.enum(['kvsweep', 'old-simulator']);
export type CacheModel = z.infer<typeof CacheModel>;

/** An offline experiment's simulator settings; null = the model's (or the cache model's) default. */
export const OfflineSettings = z.object({
  cache_model: CacheModel,
  max_concurrent_requests: z.number().int().positive().nullable(),
  max_context_length: z.number().int().positive().nullable(),
  chunk_size: z.number().int().positive().nullable(),
  block_size: z.number().int().positive().nullable(),
});
export type OfflineSettings = z.infer<typeof OfflineSettings>;

export const ExperimentSpec = z.object({
  /** Deterministic, readable, unique within a sweep; safe as a folder name and a workflow id part. */
  id: z.string().regex(/^[A-Za-z0-9._=+-]+$/),
  /** Registry name of the model, e.g. `qwen-8b`. */
  model: z.string(),
  huggingface_path: z.string(),
  /** What the server is started with: the hub path, or the environment's local path. */
  model_path: z.string(),
  /** The name clients use in requests (`--served-model-name`, or the model path). */
  served_model_name: z.string(),
  tensor_parallel_size: z.number().int().positive(),
  pipeline_parallel_size: z.number().int().positive(),
  /** tensor_parallel_size x pipeline_parallel_size, all on one host. */
  gpu_count: z.number().int().positive(),
  /** Which hosts may run it; `any` matches every GPU class. */
  gpu_class: z.string(),
  max_model_len: z.number().int().positive(),
  /** `format` is absent in specs planned before it existed: those are all trace CSVs. */
  dataset: z.object({ name: z.string(), path: z.string(), format: DatasetFormat.default('trace_csv') }),
  cache_size_gb: z.number().nonnegative(),
  request_rate: z.number().positive(),
  eviction_strategy: EvictionStrategy,
  lightgbm_mode: LightgbmMode.nullable(),
  use_conversation_eviction: z.boolean(),
  conversation_eviction_config: z.record(z.string(), z.unknown()),
  num_prompts: z.number().int().positive(),
  time_limit: z.number().positive(),
  mock_decoding: z.boolean(),
  seed: z.number().int(),
  environment: z.string(),
  /** GB of memory per GPU (`hbm_size`), when the sweep gives it; recorded, and checked where the cache is on the GPU. */
  hbm_size_gb: z.number().positive().nullable().default(null),
  /** How to start the server; null for an offline experiment (no server). */
  server: ServerCommand.nullable(),
  /** The offline simulator's settings: non-null exactly for experiments of an offline environment. */
  offline: OfflineSettings.nullable().default(null),
  client: ClientCommand,
  /** Attempts (host losses and failures) before the experiment is recorded as failed. */
  max_attempts: z.number().int().positive(),
});
export type ExperimentSpec = z.infer<typeof ExperimentSpec>;
