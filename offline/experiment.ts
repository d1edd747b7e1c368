// One offline experiment: which requests to replay, through which engine and cache, at what rate.
// The one definition of the offline runner's input (runOfflineExperiment); a sweep's
// ExperimentSpec maps onto it (see docs/offline.md). Engine defaults are those of environment
// `sim` (configs/environments.yaml), so an offline run and a live `sim` run of the same
// experiment model the same server.
import { z } from 'zod';
import { InputKind } from './inputs/stream.ts';

export const OfflinePolicy = z.enum(['lru', 'conversation_aware', 'oracle', 'lightgbm']);
export type OfflinePolicy = z.infer<typeof OfflinePolicy>;

export const CacheTier = z.enum(['cpu', 'gpu']);
export type CacheTier = z.infer<typeof CacheTier>;

const BLOCK_SIZES = [1, 8, 16, 32, 64, 128, 256];

export const EngineSettings = z.strictObject({
  /** vLLM's --block-size: tokens per GPU block. */
  block_size: z.number().int().refine((n) => BLOCK_SIZES.includes(n), `one of ${BLOCK_SIZES.join(', ')}`).default(16),
  /** LMCACHE_CHUNK_SIZE: tokens per CPU-tier chunk. */
  chunk_size: z.number().int().positive().default(256),
  /** vLLM's --max-num-seqs: running requests at most. */
  max_num_seqs: z.number().int().positive().default(128),
  /** vLLM's --max-num-batched-tokens: tokens per step at most. */
  max_num_batched_tokens: z.number().int().positive().default(16384),
  /** vLLM's --gpu-memory-utilization (sizes the GPU tier when cache_tier is cpu). */
  gpu_memory_utilization: z.number().positive().max(1).default(0.8),
  /** GPU blocks instead of sizing them from memory (vLLM's --num-gpu-blocks-override), cache tier cpu. */
  num_gpu_blocks: z.number().int().min(2).nullable().default(null),
  /** Memory of each simulated device, GiB (the simulator's --gpu-memory-gb). */
  gpu_memory_gb: z.number().positive().default(80),
  /** vLLM's --dtype (half = 2 bytes per KV element, float32 = 4). */
  dtype: z.enum(['auto', 'half', 'float16', 'bfloat16', 'float32']).default('half'),
  /** LMCACHE_SAVE_DECODE_CACHE: the CPU tier also stores chunks holding generated tokens. */
  save_decode_cache: z.boolean().default(true),
});
export type EngineSettings = z.infer<typeof EngineSettings>;

/** The lightgbm policy's model: its mode and what it is trained on (offline/policies/lightgbm.ts). */
export const LightgbmSettings = z.strictObject({
  mode: z.enum(['regression', 'ranking', 'classification']).default('regression'),
  /** Another input to train on (all of it); null: the first train_fraction of this input's requests. */
  train_on: z.strictObject({ kind: InputKind, path: z.string().min(1) }).nullable().default(null),
  train_fraction: z.number().gt(0).lt(1).default(0.5),
});
export type LightgbmSettings = z.infer<typeof LightgbmSettings>;

export const OfflineExperiment = z.strictObject({
  input: z.strictObject({ kind: InputKind, path: z.string().min(1) }),
  /** A simulator model: a built-in name (e.g. Qwen/Qwen3-8B-FP8, kvsweep/sim-small) or a folder with a config.json. */
  model: z.string().min(1),
  tensor_parallel_size: z.number().int().positive().default(1),
  pipeline_parallel_size: z.number().int().positive().default(1),
  /** vLLM's --max-model-len; null: the model's own. A turn whose prompt and reply exceed it fails (HTTP 400), as live. */
  max_model_len: z.number().int().positive().nullable().default(null),
  /** GB (GiB, as LMCache reads LMCACHE_MAX_LOCAL_CPU_SIZE) of the cache tier cache_tier names. */
  cache_size_gb: z.number().nonnegative(),
  /**
   * What cache_size_gb sizes: `cpu`, LMCache's CPU tier in total over the GPUs, behind a GPU tier
   * sized from the device (environments sim and lmcache); `gpu`, vLLM's own KV cache, GB = 10^9
   * bytes as --kv-cache-memory-bytes, with no CPU tier (environments vllm and vllm-cpu).
   */
  cache_tier: CacheTier.default('cpu'),
  policy: OfflinePolicy,
  /** conversation_aware's parameters (reference_recency, reference_time_interval, score_factor). */
  conversation_eviction_config: z.record(z.string(), z.number()).default({}),
  /** Replay speed factor of the recorded times (arrival trace) or requests/s (poisson). */
  request_rate: z.number().positive(),
  arrival: z.enum(['trace', 'poisson']).default('trace'),
  num_prompts: z.number().int().positive().nullable().default(null),
  /** Seconds from the first send after which nothing more is sent (as the live client). */
  time_limit: z.number().positive().nullable().default(null),
  seed: z.number().int().default(0),
  mock_decoding: z.boolean().default(false),
  engine: EngineSettings.default(EngineSettings.parse({})),
  /** Read by policy lightgbm only. */
  lightgbm: LightgbmSettings.default(LightgbmSettings.parse({})),
});
export type OfflineExperiment = z.infer<typeof OfflineExperiment>;
export type OfflineExperimentInput = z.input<typeof OfflineExperiment>;
