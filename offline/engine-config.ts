// The simulated server of an offline experiment, sized exactly as `kvsweep sim serve` would size it
// from the command line and LMCACHE_* variables of environment `sim` (cache tier cpu) or of a
// GPU-only environment such as vllm-cpu (cache tier gpu): the simulator's own config resolution
// does the sizing, so offline and live runs of one experiment get the same blocks and chunks.
import { UserError } from '../domain/errors.ts';
import { resolveConfig, type RawOptions, type SimConfig } from '../simulator/config.ts';
import { kvBytesPerTokenPerDevice } from '../simulator/memory.ts';
import { dtypeBytes, resolveModel } from '../simulator/models.ts';
import type { OfflineExperiment } from './experiment.ts';

const LMCACHE_CONNECTOR = '{"kv_connector":"LMCacheConnectorV1","kv_role":"kv_both"}';

/** The flags `kvsweep sim serve` would get. */
function rawOptions(e: OfflineExperiment): RawOptions {
  const g = e.engine;
  return {
    host: '127.0.0.1',
    port: '0',
    maxModelLen: e.max_model_len === null ? undefined : String(e.max_model_len),
    tensorParallelSize: String(e.tensor_parallel_size),
    pipelineParallelSize: String(e.pipeline_parallel_size),
    gpuMemoryUtilization: String(g.gpu_memory_utilization),
    numGpuBlocksOverride: g.num_gpu_blocks === null ? undefined : String(g.num_gpu_blocks),
    blockSize: String(g.block_size),
    enablePrefixCaching: true,
    kvTransferConfig: e.cache_tier === 'cpu' ? LMCACHE_CONNECTOR : undefined,
    maxNumSeqs: String(g.max_num_seqs),
    maxNumBatchedTokens: String(g.max_num_batched_tokens),
    dtype: g.dtype,
    kvCacheDtype: 'auto',
    seed: String(e.seed),
    gpuMemoryGb: String(g.gpu_memory_gb),
    speed: '1',
    startupDelay: '0',
    failStartup: false,
    neverReady: false,
    errorRate: '0',
    counterTotalSuffix: true,
    accessLog: false,
  };
}

/** The LMCACHE_* variables environment `sim` sets for the experiment. */
function lmcacheEnv(e: OfflineExperiment): Record<string, string> {
  const gpus = e.tensor_parallel_size * e.pipeline_parallel_size;
  const env: Record<string, string> = {
    LMCACHE_CHUNK_SIZE: String(e.engine.chunk_size),
    LMCACHE_LOCAL_CPU: 'True',
    LMCACHE_SAVE_DECODE_CACHE: e.engine.save_decode_cache ? 'true' : 'false',
    LMCACHE_MAX_LOCAL_CPU_SIZE: String(e.cache_size_gb / gpus),
  };
  if (e.policy === 'conversation_aware') {
    env.LMCACHE_EXTRA_CONFIG = JSON.stringify({ use_conversation_eviction: true, conversation_eviction_config: e.conversation_eviction_config });
  }
  return env;
}

/** GPU blocks of a KV cache of `bytes`, as vLLM sizes --kv-cache-memory-bytes (block 0 included). */
function gpuBlocksOf(e: OfflineExperiment, bytes: number): number {
  const geometry = resolveModel(e.model);
  const kvBytes = dtypeBytes(e.engine.dtype, geometry.dtypeBytes) ?? geometry.dtypeBytes;
  const perToken = kvBytesPerTokenPerDevice(geometry, kvBytes, { tensorParallel: e.tensor_parallel_size, pipelineParallel: e.pipeline_parallel_size });
  return Math.floor(bytes / (e.engine.block_size * perToken));
}

/** The simulator's configuration for the experiment; a UserError names what does not fit. */
export function offlineSimConfig(e: OfflineExperiment): SimConfig {
  const options = rawOptions(e);
  if (e.cache_tier === 'gpu') {
    const blocks = gpuBlocksOf(e, e.cache_size_gb * 1e9);
    if (blocks < 2) throw new UserError(`cache_size_gb ${e.cache_size_gb}: holds ${blocks} GPU blocks of ${e.engine.block_size} tokens; vLLM needs at least 2`);
    options.numGpuBlocksOverride = String(blocks);
  }
  try {
    return resolveConfig(e.model, options, e.cache_tier === 'cpu' ? lmcacheEnv(e) : {});
  } catch (error) {
    if (error instanceof UserError) throw new UserError(`offline engine for ${e.model} with ${e.cache_size_gb} GB (${e.cache_tier} tier): ${error.message}`);
    throw error;
  }
}
