// The eviction policies of kvsweep's cache model offline. lru and conversation_aware are the
// simulator's own (its CPU tier, configured as LMCACHE_EXTRA_CONFIG would); oracle exists only
// offline, where the future is known. A policy that ranks conversations by a score of its own
// (oracle, lightgbm) plugs into the CPU tier's ConversationScorer
// seam and hears from the replay which turn of which conversation was sent.
import { UserError } from '../../domain/errors.ts';
import type { EvictionPolicy } from '../../simulator/cpu-tier.ts';
import type { OfflineExperiment } from '../experiment.ts';
import type { ReplayPlan } from '../replay-plan.ts';
import type { LightgbmModel } from '../lightgbm/model.ts';
import type { OfflineRecords } from '../records.ts';
import { LightgbmPolicy } from './lightgbm.ts';
import { OracleScorer, oracleFuture } from './oracle.ts';

/** What a policy hears from the replay beyond what the CPU tier tells it. */
export interface PolicyHooks {
  /** Turn `index` of conversation `c` was sent at `now` (seconds). */
  sent(c: number, index: number, now: number): void;
  /** Turn `index` of conversation `c` failed before reaching the engine. */
  skipped(c: number, index: number): void;
  /** Turn `index` of conversation `c` finished at `now` (its reply is in the records). */
  done?(c: number, index: number, now: number): void;
}

export interface OfflinePolicyParts {
  /** Replaces the CPU tier's policy; undefined: keep the one the simulator's configuration made. */
  eviction: EvictionPolicy | undefined;
  hooks: PolicyHooks | undefined;
}

/** What a first replay (lru at the CPU tier) saw of each turn, for the policies that read the future. */
export interface FirstPass {
  gpuHitTokens: Float64Array;
  promptTokens: Float64Array;
  outputTokens: Float64Array;
}

/** The policy's parts for a replay; the oracle needs `firstPass` (see needsFirstPass). */
export function offlinePolicy(e: OfflineExperiment, plan: ReplayPlan, records: OfflineRecords, firstPass?: FirstPass, lightgbm?: LightgbmModel): OfflinePolicyParts {
  if (e.cache_tier === 'gpu' && e.policy !== 'lru') {
    throw new UserError(`policy ${e.policy} acts at the CPU tier; with cache_tier gpu there is only vLLM's GPU block pool, which is LRU`);
  }
  if (e.policy === 'oracle' && firstPass) {
    const future = oracleFuture(firstPass.gpuHitTokens, firstPass.promptTokens, firstPass.outputTokens, e.engine.chunk_size);
    const scorer = new OracleScorer(plan, future);
    return { eviction: { kind: 'scored', name: 'oracle', scorer }, hooks: scorer };
  }
  if (e.policy === 'lightgbm') {
    if (!lightgbm) throw new Error('policy lightgbm needs a trained model (runOnStream trains one; see offline/policies/lightgbm.ts)');
    const scorer = new LightgbmPolicy(lightgbm, plan, records);
    return { eviction: { kind: 'scored', name: `lightgbm (${e.lightgbm.mode})`, scorer }, hooks: scorer };
  }
  // lru and conversation_aware: LMCACHE_EXTRA_CONFIG already selected them (engine-config.ts).
  return { eviction: undefined, hooks: undefined };
}

/** Whether the policy reads the future from a first replay with lru at the CPU tier (oracle, when there is a CPU tier). */
export function needsFirstPass(e: OfflineExperiment): boolean {
  return e.policy === 'oracle' && e.cache_tier === 'cpu' && e.cache_size_gb > 0;
}
