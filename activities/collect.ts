// Reads a client's result.json into the two blocks of a summary entry: benchmark_results (the
// `vllm bench serve` figures) and cache_statistics (server-metric deltas of the run, the LMCache
// fork's statistics, and what the server log says about LMCache's CPU tier). kvsweep's own load
// generator is read with its schema; an external client's JSON (e.g. `vllm bench serve
// --save-result`) contributes its numeric top-level fields.
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { LoadgenResult } from '../loadgen/result-schema.ts';
import { readJsonIfExists } from '../platform/files.ts';

export interface CollectedResults {
  benchmark_results: Record<string, number | string | null>;
  cache_statistics: Record<string, number | string | boolean | null>;
}

/** Top-level numbers (and nulls) of a result object: the `vllm bench serve` style figures. */
function numericFields(result: Record<string, unknown>): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const [name, value] of Object.entries(result)) {
    if (typeof value === 'number' || value === null) out[name] = value;
  }
  return out;
}

/** Flattens the load generator's cache statistics into one level for summary.json and CSV. */
function flattenCacheStatistics(stats: LoadgenResult['cache_statistics']): CollectedResults['cache_statistics'] {
  const out: CollectedResults['cache_statistics'] = {
    prefix_cache_reset: stats.prefix_cache_reset.status,
    prefix_cache_queries: stats.prefix_cache_queries,
    prefix_cache_hits: stats.prefix_cache_hits,
    prefix_cache_hit_rate: stats.prefix_cache_hit_rate,
    external_prefix_cache_queries: stats.external_prefix_cache_queries,
    external_prefix_cache_hits: stats.external_prefix_cache_hits,
    external_prefix_cache_hit_rate: stats.external_prefix_cache_hit_rate,
    preemptions: stats.preemptions,
    peak_kv_cache_usage: stats.peak_kv_cache_usage,
  };
  if (stats.lmcache) {
    out.lmcache_retrieve_hit_rate = stats.lmcache.retrieve_hit_rate;
    out.lmcache_lookup_hit_rate = stats.lmcache.lookup_hit_rate;
    for (const [name, value] of Object.entries(stats.lmcache.deltas)) out[`lmcache_${name}`] = value;
  }
  // The LMCache fork's /lmcache/stats: `lmcache_stats_<name>` and `conversation_<name>`.
  const fork = stats.lmcache_stats_endpoint;
  if (fork) {
    out.lmcache_stats_endpoint = fork.status;
    for (const [name, value] of Object.entries(fork.figures)) out[`lmcache_stats_${name}`] = value;
    for (const [name, value] of Object.entries(fork.conversation)) out[`conversation_${name}`] = value;
  }
  if (stats.missing_figures.length > 0) out.missing_figures = stats.missing_figures.map((m) => m.figures).join('; ');
  return out;
}

/**
 * LMCache's allocator logs this for every CPU-tier allocation that finds no free block; its
 * LocalCPUBackend then evicts and allocates again, and drops the store only when nothing can be
 * evicted (docs/real-servers.md).
 */
export const LMCACHE_FAILED_ALLOCATION = 'Failed to allocate memory block';

/** How often `needle` occurs in a file from byte `offset` on, read as a stream (server logs grow large). */
export async function countInFile(path: string, needle: string, offset = 0): Promise<number | null> {
  const pattern = Buffer.from(needle);
  let count = 0;
  let carry = Buffer.alloc(0);
  try {
    for await (const chunk of createReadStream(path, { start: offset })) {
      const data = carry.length > 0 ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
      let at = data.indexOf(pattern);
      let end = 0;
      while (at !== -1) {
        count++;
        end = at + pattern.length;
        at = data.indexOf(pattern, end);
      }
      // Keep what could be the start of a match cut by the chunk boundary.
      carry = Buffer.from(data.subarray(Math.max(end, data.length - pattern.length + 1)));
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  return count;
}

/** The server's log from the offset its start wrote from (a retried start appends to the same file). */
export interface ServerLog {
  path: string;
  offset: number;
}

export async function collectFrom(resultDir: string, serverLog?: ServerLog): Promise<CollectedResults> {
  const collected = await collectClientResult(resultDir);
  if (serverLog !== undefined) {
    collected.cache_statistics.lmcache_failed_allocations = await countInFile(serverLog.path, LMCACHE_FAILED_ALLOCATION, serverLog.offset);
  }
  return collected;
}

async function collectClientResult(resultDir: string): Promise<CollectedResults> {
  const path = join(resultDir, 'result.json');
  const raw = await readJsonIfExists(path);
  if (raw === undefined) throw new Error(`the client wrote no ${path}`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${path} is not a JSON object`);
  const parsed = LoadgenResult.safeParse(raw);
  if (parsed.success) {
    const { cache_statistics, ...rest } = parsed.data;
    const statistics = flattenCacheStatistics(cache_statistics);
    // An offline replay that also simulated an unbounded cache: the ceiling of the report's hit-rate panels.
    const ceiling = rest.offline?.ceiling;
    if (ceiling) {
      statistics.unbounded_prefix_cache_hit_rate = ceiling.prefix_cache_hit_rate;
      statistics.unbounded_external_prefix_cache_hit_rate = ceiling.external_prefix_cache_hit_rate;
    }
    return { benchmark_results: { ...numericFields(rest), request_rate: typeof rest.request_rate === 'number' ? rest.request_rate : String(rest.request_rate) }, cache_statistics: statistics };
  }
  if ('backend' in raw && (raw as { backend: unknown }).backend === 'openai-chat') {
    // Our own client wrote it, yet it does not match: a version mismatch worth failing on.
    throw new Error(`${path} does not match kvsweep's result schema: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  }
  return { benchmark_results: numericFields(raw as Record<string, unknown>), cache_statistics: {} };
}
