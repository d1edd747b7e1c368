// The resolved sweep: everything `expandSweep` needs, with no file to read. It is the input of the
// sweep workflow, so it stays small: paths and settings, never trace contents. Produced by
// loadSweep / resolveSweepObject (config-files/load-sweep.ts). Pure: workflow code imports it.
import { z } from 'zod';
import { ClientCommand, DatasetFormat, EvictionStrategy, LightgbmMode, OfflineSettings } from '../experiment.ts';
import { EnvironmentChoiceReason, EnvironmentDefinition, ModelEntry } from './registry.ts';
import { ConversationEvictionConfig } from './schema.ts';

export const YamlPath = z.array(z.union([z.string(), z.number().int().nonnegative()]));

/** A notice (see ConfigNotice in problems.ts) as sweep.json and the workflow input keep it. */
export const ConfigNoticeRecord = z.object({
  file: z.string(),
  path: YamlPath,
  line: z.number().int().positive().optional(),
  column: z.number().int().positive().optional(),
  message: z.string(),
});

/** One dataset entry of the sweep file with its layers applied, aliases folded and defaults filled. */
export const NormalisedDataset = z.object({
  /** Where the entry sits in the sweep file, e.g. ['experiments', 0, 'datasets', 1]. */
  yaml_path: YamlPath,
  /** `format` is absent in sweeps resolved before it existed (all trace CSVs). */
  dataset: z.object({ name: z.string(), path: z.string(), format: DatasetFormat.optional() }),
  model: z.string(),
  /** Empty when the entry says `cache_sizes: []` (it then adds no experiment, with a notice). */
  cache_sizes_gb: z.array(z.number().nonnegative()),
  request_rates: z.array(z.number().positive()),
  eviction_strategies: z.array(EvictionStrategy).min(1),
  /** Crossed with the `lightgbm` strategy only; empty when the entry does not run lightgbm. */
  lightgbm_modes: z.array(LightgbmMode),
  conversation_eviction_config: ConversationEvictionConfig,
  num_prompts: z.number().int().positive(),
  time_limit: z.number().positive(),
  mock_decoding: z.boolean(),
  seed: z.number().int().nonnegative(),
  gpu_class: z.string(),
  max_attempts: z.number().int().positive(),
  /** Overrides the environment's ready timeout (seconds) when set. */
  ready_timeout_s: z.number().positive().nullable(),
  server_extra_args: z.array(z.string()),
  server_env: z.record(z.string(), z.string()),
  client: ClientCommand,
  /** `hbm_size` (GB per GPU), null when not given; absent in sweeps resolved before it existed. */
  hbm_size_gb: z.number().positive().nullable().optional(),
  /** The offline simulator's settings, for an offline environment only; absent or null otherwise. */
  offline: OfflineSettings.nullable().optional(),
});
export type NormalisedDataset = z.infer<typeof NormalisedDataset>;

export const ResolvedEnvironment = z.object({
  name: z.string(),
  chosen_by: EnvironmentChoiceReason,
  definition: EnvironmentDefinition,
});
export type ResolvedEnvironment = z.infer<typeof ResolvedEnvironment>;

export const ResolvedSweep = z.object({
  tag: z.string(),
  /** Absolute. */
  log_base_dir: z.string(),
  /** Absolute path of the sweep file; null for a config given as an object (workflow input). */
  source_file: z.string().nullable(),
  environment: ResolvedEnvironment,
  /** The registry entries of the models the sweep uses, by registry name. */
  models: z.record(z.string(), ModelEntry),
  datasets: z.array(NormalisedDataset).min(1),
  /**
   * Folders of the installation that planned the sweep (the installation placeholders). Absent in
   * sweeps resolved by kvsweep versions before it: templates that use them then fail to expand.
   */
  installation: z.object({ real_servers_dir: z.string() }).optional(),
  /** What planning applied or left out on purpose (old defaults, entries with no experiment), one line each. */
  notices: z.array(ConfigNoticeRecord).optional(),
});
export type ResolvedSweep = z.infer<typeof ResolvedSweep>;
