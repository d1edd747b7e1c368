// The defaults of a sweep's settings: the old runner's (config_loader.py) and kvsweep's own.
import type { EvictionStrategy, LightgbmMode } from '../experiment.ts';

export const SETTING_DEFAULTS = {
  num_prompts: 30000,
  time_limit: 1200,
  mock_decoding: false,
  seed: 0,
  gpu_class: 'any',
  max_attempts: 3,
  eviction_strategy: 'lru' as EvictionStrategy,
  /** For an entry that gives none, with a notice. */
  cache_sizes_gb: [64] as readonly number[],
  request_rates: [1] as readonly number[],
  lightgbm_mode: 'regression' as LightgbmMode,
} as const;
