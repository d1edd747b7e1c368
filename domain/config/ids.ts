// Experiment ids: read like the experiment, and are the same every time the same sweep is planned
// (a resumed sweep finds its finished experiments by id). Uniqueness is checked in expandSweep.
import type { EvictionStrategy, LightgbmMode } from '../experiment.ts';

export interface IdParts {
  model: string;
  dataset: string;
  cache_size_gb: number;
  request_rate: number;
  eviction_strategy: EvictionStrategy;
  lightgbm_mode: LightgbmMode | null;
  mock_decoding: boolean;
}

/** Keeps to the characters ExperimentSpec allows in ids (they become folder names). */
function safe(text: string): string {
  return text.replace(/[^A-Za-z0-9._=+-]+/g, '-');
}

/** `qwen-8b_demo-chat_c10gb_r1_conversation_aware`, `..._lightgbm-ranking`, `..._mock`. */
export function experimentId(parts: IdParts): string {
  const strategy = parts.lightgbm_mode ? `${parts.eviction_strategy}-${parts.lightgbm_mode}` : parts.eviction_strategy;
  const fields = [
    safe(parts.model),
    safe(parts.dataset),
    `c${safe(String(parts.cache_size_gb))}gb`,
    `r${safe(String(parts.request_rate))}`,
    strategy,
  ];
  if (parts.mock_decoding) fields.push('mock');
  return fields.join('_');
}
