// The sweep file, as the user writes it (the old runner's keys plus kvsweep's own). This zod schema
// is the only definition of what a sweep YAML may contain; unknown keys are errors everywhere.
// Layers: top level < `defaults` < an experiment's `defaults` < a dataset entry. Every key of
// `Settings` may sit in any of the three inner layers; the innermost one that sets a key wins and
// replaces it whole (lists and mappings are not merged).
import { z } from 'zod';
import { CacheModel, EvictionStrategy, LightgbmMode } from '../experiment.ts';
import { EntryName, EnvVarName, EnvVarValue, ModelEntry } from './registry.ts';

/** One value or a non-empty list of them (the old runner accepted both). */
function oneOrList<T extends z.ZodType>(item: T) {
  return z.union([item, z.array(item).min(1)]);
}

/** One value or a list, which may be empty: an entry with `request_rates: []` adds no experiment. */
function oneOrPossiblyEmptyList<T extends z.ZodType>(item: T) {
  return z.union([item, z.array(item)]);
}

const NUMBER_TEXT = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;

/** A number, also when quoted (`"64"`): PyYAML users quoted numbers and the old runner took them. */
function numeric<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (typeof value === 'string' && NUMBER_TEXT.test(value) ? Number(value) : value), schema);
}

/** A name in any case (`LRU`, `Regression`): the old runner lower-cased them. */
function anyCase<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (typeof value === 'string' ? value.toLowerCase() : value), schema);
}

const CacheSizeGb = numeric(z.number().nonnegative());
const RequestRate = numeric(z.number().positive());
const PositiveInt = numeric(z.number().int().positive());

/**
 * The conversation-aware eviction parameters, passed to the server as JSON. Only the keys the
 * LMCache fork and the simulator read are accepted: the old runner forwarded any mapping, so a typo
 * (`score_factr`) silently ran the default policy and produced plausible but wrong figures.
 */
export const ConversationEvictionConfig = z.strictObject({
  /** Seconds: how fast an idle conversation's score decays. */
  reference_recency: numeric(z.number().positive()).optional(),
  /** Seconds: the expected gap between two turns of a conversation. */
  reference_time_interval: numeric(z.number().nonnegative()).optional(),
  /** Weight of each earlier turn of a conversation in its score. */
  score_factor: numeric(z.number().nonnegative()).optional(),
});
export type ConversationEvictionConfig = z.infer<typeof ConversationEvictionConfig>;

/** `{arrival: trace|poisson}` for the built-in load generator, or `{argv: [...]}` for your own client. */
export const ClientSetting = z
  .strictObject({
    arrival: z.enum(['trace', 'poisson']).optional(),
    argv: z.array(z.string()).min(1).optional(),
  })
  .superRefine(({ arrival, argv }, ctx) => {
    if ((arrival === undefined) === (argv === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: 'give exactly one of `arrival` (built-in load generator) or `argv` (external client)',
      });
    }
  });
export type ClientSetting = z.infer<typeof ClientSetting>;

/** Keys that may sit in `defaults`, an experiment's `defaults`, or a dataset entry. */
export const SettingsShape = {
  model_name: EntryName.optional(),
  cache_sizes: oneOrPossiblyEmptyList(CacheSizeGb).optional(),
  /** The old runner's alias of `cache_sizes`. */
  cache_size_gb: oneOrPossiblyEmptyList(CacheSizeGb).optional(),
  request_rates: oneOrPossiblyEmptyList(RequestRate).optional(),
  /** The old runner's alias of `request_rates`. */
  request_rate_per_second: oneOrPossiblyEmptyList(RequestRate).optional(),
  num_prompts: PositiveInt.optional(),
  time_limit: numeric(z.number().positive()).optional(),
  mock_decoding: z.boolean().optional(),
  use_conversation_evictions: oneOrList(z.boolean()).optional(),
  cache_eviction_strategy: oneOrList(anyCase(EvictionStrategy)).optional(),
  conversation_eviction_config: ConversationEvictionConfig.optional(),
  lightgbm_mode: oneOrList(anyCase(LightgbmMode)).optional(),
  /** GB of memory per GPU (the old runner's GPU-only environments divided by it). */
  hbm_size: numeric(z.number().positive()).optional(),
  // The offline simulator's keys (the old simulation files'); a notice where they have no effect.
  max_concurrent_requests: PositiveInt.optional(),
  max_context_length: PositiveInt.optional(),
  chunk_size: PositiveInt.optional(),
  block_size: PositiveInt.optional(),
  cache_model: CacheModel.optional(),
  // kvsweep's own keys
  gpu_class: EntryName.optional(),
  max_attempts: PositiveInt.optional(),
  ready_timeout: numeric(z.number().positive()).optional(),
  seed: numeric(z.number().int().nonnegative()).optional(),
  server_extra_args: z.array(z.string()).optional(),
  server_env: z.record(EnvVarName, EnvVarValue).optional(),
  client: ClientSetting.optional(),
};

export const Defaults = z.strictObject(SettingsShape);
export type Defaults = z.infer<typeof Defaults>;

export const DatasetEntry = z.strictObject({
  path: z.string().min(1),
  /** Name used in experiment ids; defaults to the file name without its extension. */
  name: EntryName.optional(),
  ...SettingsShape,
});
export type DatasetEntry = z.infer<typeof DatasetEntry>;

export const ExperimentEntry = z.strictObject({
  defaults: Defaults.optional(),
  datasets: z.array(DatasetEntry).min(1),
});
export type ExperimentEntry = z.infer<typeof ExperimentEntry>;

export const SweepFile = z.strictObject({
  tag: EntryName.default('experiment'),
  /** Relative to the directory kvsweep is started from (as in the old runner). */
  log_base_dir: z.string().min(1).default('logs'),
  model_name: EntryName.optional(),
  /** Pins the environment (only `--env` overrides it). */
  environment: EntryName.optional(),
  defaults: Defaults.optional(),
  experiments: z.union([ExperimentEntry, z.array(ExperimentEntry).min(1)]),
  /** Registry entries for this sweep only; they replace registry entries of the same name. */
  models: z.record(EntryName, ModelEntry).optional(),
});
export type SweepFile = z.infer<typeof SweepFile>;

/** Where each key is allowed, for "belongs in ..." hints on misplaced keys. */
export const KeyPlaces: Record<string, readonly string[]> = {
  'the top level': Object.keys(SweepFile.shape),
  '`defaults`': Object.keys(Defaults.shape),
  'an experiment': Object.keys(ExperimentEntry.shape),
  'a dataset entry': Object.keys(DatasetEntry.shape),
};
