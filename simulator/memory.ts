// Sizing the two cache tiers from the model's geometry, the way vLLM and LMCache do: each device
// holds its shard (KV heads split over tensor-parallel ranks, layers over pipeline stages), and the
// block count is what is left of memory x utilisation after that device's share of the weights and
// an activation reserve.
import type { ModelGeometry } from './models.ts';

export const GiB = 1024 ** 3;

export interface Parallelism {
  tensorParallel: number;
  pipelineParallel: number;
}

/** KV bytes one token takes on one device (keys and values of its layers and KV heads). */
export function kvBytesPerTokenPerDevice(g: ModelGeometry, kvDtypeBytes: number, p: Parallelism): number {
  const layers = Math.ceil(g.layers / p.pipelineParallel);
  // KV heads are split over TP ranks, or replicated when there are fewer heads than ranks.
  const heads = Math.max(1, Math.ceil(g.kvHeads / p.tensorParallel));
  return 2 * layers * heads * g.headDim * kvDtypeBytes;
}

/**
 * Peak activation memory vLLM's profiling run would find for one forward pass of
 * `maxBatchedTokens` tokens: a rough 12 hidden-size vectors of 2 bytes per token.
 */
export function activationBytes(g: ModelGeometry, maxBatchedTokens: number): number {
  return maxBatchedTokens * g.hiddenSize * 2 * 12;
}

export interface GpuSizing {
  /** Memory for the KV cache on each device, in bytes (negative when the weights do not fit). */
  kvBytesPerDevice: number;
  weightBytesPerDevice: number;
  activationBytes: number;
  numBlocks: number;
}

/** GPU blocks from memory x utilisation - weights / (TP x PP) - activations. */
export function sizeGpuCache(
  g: ModelGeometry,
  opts: Parallelism & { gpuMemoryBytes: number; utilization: number; weightBytes: number; kvDtypeBytes: number; blockSize: number; maxBatchedTokens: number },
): GpuSizing {
  const weightBytesPerDevice = opts.weightBytes / (opts.tensorParallel * opts.pipelineParallel);
  const activations = activationBytes(g, opts.maxBatchedTokens);
  const kvBytesPerDevice = opts.gpuMemoryBytes * opts.utilization - weightBytesPerDevice - activations;
  const blockBytes = opts.blockSize * kvBytesPerTokenPerDevice(g, opts.kvDtypeBytes, opts);
  return { kvBytesPerDevice, weightBytesPerDevice, activationBytes: activations, numBlocks: Math.max(0, Math.floor(kvBytesPerDevice / blockBytes)) };
}

/**
 * LMCache chunks that fit in `cpuBytes`: each TP rank runs its own LMCache engine with its own
 * LMCACHE_MAX_LOCAL_CPU_SIZE buffer holding that rank's shard of each chunk.
 */
export function cpuChunkCapacity(cpuBytes: number, chunkSize: number, kvBytesPerToken: number): number {
  return Math.max(0, Math.floor(cpuBytes / (chunkSize * kvBytesPerToken)));
}
