// The unbounded cache: a CPU tier that holds every token the trace could ever store, so nothing is
// evicted and every policy gives the same hit rates. Its hit rates are the ceiling the report draws
// over the hit-rate panels and the reference of the knee search (offline/search.ts).
import { offlineSimConfig } from './engine-config.ts';
import type { OfflineExperiment } from './experiment.ts';
import type { RequestStream } from './inputs/index.ts';
import { roundSize } from './knee.ts';
import { offlineCacheStatistics } from './result.ts';
import { simulateOffline } from './simulate.ts';

const GIB = 1024 ** 3;

/**
 * A CPU tier of this size never evicts: it holds every token of every conversation (each turn's
 * whole prompt and reply counted, which over-counts the shared history), a chunk of slack per
 * conversation, and a quarter more.
 */
export function unboundedSizeGb(stream: RequestStream, e: OfflineExperiment): number {
  const config = offlineSimConfig({ ...e, cache_tier: 'cpu', cache_size_gb: 1 });
  const chunk = config.cpuTier?.chunkSize ?? e.engine.chunk_size;
  let tokens = chunk * stream.conversationIds.length;
  // Trace CSVs give the new message (the prompt adds the history and a few template tokens each); logs give the whole prompt.
  for (let i = 0; i < stream.size; i++) tokens += Math.max(stream.queryTokens[i]!, stream.promptTokens[i]!) + stream.replyTokens[i]! + 16;
  return roundSize((1.25 * tokens * config.kvBytesPerToken) / GIB);
}

/** The unbounded cache's figures, as result.json's `offline.ceiling` records them. */
export interface Ceiling {
  cache_size_gb: number;
  prefix_cache_hit_rate: number | null;
  external_prefix_cache_hit_rate: number | null;
  /** Both tiers: cached tokens / prompt tokens. */
  hit_rate: number | null;
}

/** Experiments with equal keys share their ceiling: it depends on neither the CPU tier's size nor its policy. */
export function ceilingKey(e: OfflineExperiment): string {
  const { policy: _policy, cache_size_gb: _size, conversation_eviction_config: _config, ...rest } = e;
  return JSON.stringify(rest);
}

/** One replay with an unbounded CPU tier (lru: with nothing evicted, the policy does not matter). */
export function ceilingOf(stream: RequestStream, e: OfflineExperiment): Ceiling {
  const size = unboundedSizeGb(stream, e);
  const stats = offlineCacheStatistics(simulateOffline(stream, { ...e, cache_tier: 'cpu', policy: 'lru', cache_size_gb: size }));
  const queries = stats.prefix_cache_queries;
  const hits = (stats.prefix_cache_hits ?? 0) + (stats.external_prefix_cache_hits ?? 0);
  return {
    cache_size_gb: size,
    prefix_cache_hit_rate: stats.prefix_cache_hit_rate,
    external_prefix_cache_hit_rate: stats.external_prefix_cache_hit_rate,
    hit_rate: queries ? hits / queries : null,
  };
}
