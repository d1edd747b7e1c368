// From parsed flags and environment variables to the simulator's checked configuration. Every
// invalid value is a UserError that names its flag or variable. Pure apart from reading a model's
// config.json.
import { statSync } from 'node:fs';
import { UserError } from '../domain/errors.ts';
import { type CpuTierSettings, resolveLmcache } from './lmcache-env.ts';
import { dtypeBytes, type ModelGeometry, resolveModel } from './models.ts';
import { GiB, kvBytesPerTokenPerDevice as kvBytesPerDevice, sizeGpuCache } from './memory.ts';
import { H100, type FixedTimings, type Hardware } from './timing.ts';

/** Flags as commander hands them over (strings unless boolean). */
export interface RawOptions {
  host: string;
  port: string;
  servedModelName?: string[];
  maxModelLen?: string;
  tensorParallelSize: string;
  pipelineParallelSize: string;
  gpuMemoryUtilization: string;
  numGpuBlocksOverride?: string;
  blockSize: string;
  enablePrefixCaching: boolean;
  kvTransferConfig?: string;
  maxNumSeqs: string;
  maxNumBatchedTokens: string;
  dtype: string;
  kvCacheDtype: string;
  quantization?: string;
  seed: string;
  gpuMemoryGb: string;
  hbmBandwidthGbs?: string;
  computeTflops?: string;
  pcieBandwidthGbs?: string;
  stepOverheadMs?: string;
  speed: string;
  fixedTtftMs?: string;
  fixedItlMs?: string;
  startupDelay: string;
  failStartup: boolean;
  neverReady: boolean;
  crashAfterRequests?: string;
  errorRate: string;
  counterTotalSuffix: boolean;
  accessLog: boolean;
  lmcacheStatsEndpoint?: boolean;
}

export interface SimConfig {
  model: string;
  servedModelNames: string[];
  host: string;
  port: number;
  geometry: ModelGeometry;
  maxModelLen: number;
  blockSize: number;
  tensorParallel: number;
  pipelineParallel: number;
  gpuMemoryUtilization: number;
  gpuMemoryBytes: number;
  weightBytes: number;
  kvDtypeBytes: number;
  kvBytesPerToken: number;
  kvBytesPerTokenPerDevice: number;
  numGpuBlocks: number;
  prefixCaching: boolean;
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  cpuTier: CpuTierSettings | undefined;
  devMode: boolean;
  hardware: Hardware;
  speed: number;
  fixed: FixedTimings | undefined;
  startupDelaySeconds: number;
  seed: number;
  faults: { failStartup: boolean; neverReady: boolean; crashAfterRequests: number | undefined; errorRate: number };
  counterTotalSuffix: boolean;
  accessLog: boolean;
  /**
   * LMCache's lmcache:* series on /metrics. With vLLM V1 they live in the engine-core process, and
   * the API server's /metrics shows them only in Prometheus multiprocess mode
   * (PROMETHEUS_MULTIPROC_DIR set, to an existing folder): the simulator shows them exactly then.
   */
  lmcacheOnMetrics: boolean;
  /** GET /lmcache/stats as the LMCache fork serves it (--lmcache-stats-endpoint). */
  lmcacheStatsEndpoint: boolean;
  /** One-line notices to log at start-up (flags without effect, tiers off, ...). */
  notices: string[];
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function number(flag: string, value: string, check: (n: number) => boolean, expected: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || !check(n)) throw new UserError(`${flag}: expected ${expected}, got '${value}'`);
  return n;
}

export const positiveInt = (flag: string, v: string): number => number(flag, v, (n) => Number.isInteger(n) && n > 0, 'a positive integer');
const nonNegative = (flag: string, v: string): number => number(flag, v, (n) => n >= 0, 'a number >= 0');
const positive = (flag: string, v: string): number => number(flag, v, (n) => n > 0, 'a number > 0');

/** vLLM's human-readable lengths: 32768, 32k (x1000), 32K (x1024). */
function modelLength(v: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(v.trim());
  if (!m) throw new UserError(`--max-model-len: expected a positive integer (or 32k/32K), got '${v}'`);
  const scale = { '': 1, k: 1000, K: 1024, m: 1e6, M: 1024 ** 2 }[m[2]!]!;
  const n = Math.floor(Number(m[1]) * scale);
  if (n <= 0) throw new UserError(`--max-model-len: expected a positive integer, got '${v}'`);
  return n;
}

function parseSpeed(v: string): number {
  if (v === 'inf' || v === 'unlimited' || v === 'Infinity') return Infinity;
  return number('--speed', v, (n) => n > 0, "a number > 0, or 'inf' for unlimited speed (no waiting)");
}

function parseKvTransferConfig(v: string | undefined): Record<string, unknown> | undefined {
  if (v === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch (error) {
    throw new UserError(`--kv-transfer-config: not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UserError('--kv-transfer-config: expected a JSON object');
  const o = parsed as Record<string, unknown>;
  if (typeof o.kv_connector !== 'string') throw new UserError("--kv-transfer-config: 'kv_connector' (a string) is required");
  if (o.kv_role !== undefined && !['kv_both', 'kv_producer', 'kv_consumer'].includes(String(o.kv_role))) {
    throw new UserError(`--kv-transfer-config: 'kv_role' must be kv_both, kv_producer or kv_consumer, got '${String(o.kv_role)}'`);
  }
  return o;
}

export function resolveConfig(model: string, o: RawOptions, env: NodeJS.ProcessEnv): SimConfig {
  const notices: string[] = [];
  const geometry = resolveModel(model);
  const port = number('--port', o.port, (n) => Number.isInteger(n) && n >= 0 && n <= 65535, 'a port number 0-65535');
  const tensorParallel = positiveInt('--tensor-parallel-size', o.tensorParallelSize);
  const pipelineParallel = positiveInt('--pipeline-parallel-size', o.pipelineParallelSize);
  const visible = env.CUDA_VISIBLE_DEVICES;
  if (visible !== undefined) {
    const devices = visible.split(',').filter((d) => d.trim() !== '').length;
    if (devices !== tensorParallel * pipelineParallel) {
      throw new UserError(
        `--tensor-parallel-size ${tensorParallel} x --pipeline-parallel-size ${pipelineParallel} = ${tensorParallel * pipelineParallel} devices, but CUDA_VISIBLE_DEVICES='${visible}' lists ${devices}`,
      );
    }
  }
  if (geometry.attentionHeads % tensorParallel !== 0) {
    throw new UserError(`--tensor-parallel-size: ${tensorParallel} does not divide the model's ${geometry.attentionHeads} attention heads`);
  }
  const gpuMemoryUtilization = number('--gpu-memory-utilization', o.gpuMemoryUtilization, (n) => n > 0 && n <= 1, 'a fraction in (0, 1]');
  const blockSize = number('--block-size', o.blockSize, (n) => [1, 8, 16, 32, 64, 128, 256].includes(n), 'one of 1, 8, 16, 32, 64, 128, 256');
  const maxNumSeqs = positiveInt('--max-num-seqs', o.maxNumSeqs);
  const maxNumBatchedTokens = positiveInt('--max-num-batched-tokens', o.maxNumBatchedTokens);
  const modelDtype = dtypeBytes(o.dtype, geometry.dtypeBytes);
  if (modelDtype === undefined) throw new UserError(`--dtype: unknown dtype '${o.dtype}' (auto, half, float16, bfloat16, float32)`);
  const kvDtypeBytes = dtypeBytes(o.kvCacheDtype, modelDtype);
  if (kvDtypeBytes === undefined) throw new UserError(`--kv-cache-dtype: unknown dtype '${o.kvCacheDtype}' (auto, fp8, fp8_e4m3, fp8_e5m2)`);
  let weightBytes = geometry.weightBytes;
  let fp8 = geometry.fp8;
  if (o.quantization === 'fp8') {
    weightBytes = geometry.params;
    fp8 = true;
  } else if (o.quantization !== undefined) {
    notices.push(`--quantization ${o.quantization} is not simulated: weights keep their published size`);
  } else if (!fp8 && modelDtype !== geometry.dtypeBytes) {
    weightBytes = (geometry.weightBytes / geometry.dtypeBytes) * modelDtype;
  }
  const maxModelLen = o.maxModelLen === undefined ? geometry.maxPositionEmbeddings : modelLength(o.maxModelLen);
  const gpuMemoryBytes = positive('--gpu-memory-gb', o.gpuMemoryGb) * GiB;
  const parallel = { tensorParallel, pipelineParallel };
  const kvBytesPerTokenPerDevice = kvBytesPerDevice(geometry, kvDtypeBytes, parallel);
  const kvBytesPerToken = 2 * geometry.layers * geometry.kvHeads * geometry.headDim * kvDtypeBytes;

  let numGpuBlocks: number;
  if (o.numGpuBlocksOverride !== undefined) {
    numGpuBlocks = positiveInt('--num-gpu-blocks-override', o.numGpuBlocksOverride);
  } else {
    const sizing = sizeGpuCache(geometry, { ...parallel, gpuMemoryBytes, utilization: gpuMemoryUtilization, weightBytes, kvDtypeBytes, blockSize, maxBatchedTokens: maxNumBatchedTokens });
    if (sizing.numBlocks === 0) {
      throw new UserError(
        `no memory left for the KV cache: ${(sizing.weightBytesPerDevice / GiB).toFixed(2)} GiB of weights and ${(sizing.activationBytes / GiB).toFixed(2)} GiB of activations ` +
          `per device against ${o.gpuMemoryGb} GiB x ${gpuMemoryUtilization} ` +
          `(raise --gpu-memory-utilization or --gpu-memory-gb, use more devices with --tensor-parallel-size, or lower --max-num-batched-tokens)`,
      );
    }
    numGpuBlocks = sizing.numBlocks;
  }
  const capacityTokens = (numGpuBlocks - 1) * blockSize;
  if (capacityTokens < maxModelLen) {
    throw new UserError(
      `--max-model-len ${maxModelLen} does not fit in the KV cache: ${numGpuBlocks} blocks of ${blockSize} tokens hold ${capacityTokens} tokens ` +
        `(decrease --max-model-len, or raise --gpu-memory-utilization / --num-gpu-blocks-override)`,
    );
  }

  const kvTransfer = parseKvTransferConfig(o.kvTransferConfig);
  const cpuTier = resolveLmcache(env, kvTransfer, { tensorParallel, kvBytesPerTokenPerDevice }, notices);

  const fixedTtft = o.fixedTtftMs === undefined ? undefined : nonNegative('--fixed-ttft-ms', o.fixedTtftMs);
  const fixedItl = o.fixedItlMs === undefined ? undefined : nonNegative('--fixed-itl-ms', o.fixedItlMs);
  const fixed = fixedTtft === undefined && fixedItl === undefined ? undefined : { ttftSeconds: (fixedTtft ?? 0) / 1000, itlSeconds: (fixedItl ?? 0) / 1000 };
  const hardware: Hardware = {
    hbmBytesPerSecond: o.hbmBandwidthGbs === undefined ? H100.hbmBytesPerSecond : positive('--hbm-bandwidth-gbs', o.hbmBandwidthGbs) * 1e9,
    flopsPerSecond: o.computeTflops === undefined ? H100.flopsPerSecond : positive('--compute-tflops', o.computeTflops) * 1e12,
    pcieBytesPerSecond: o.pcieBandwidthGbs === undefined ? H100.pcieBytesPerSecond : positive('--pcie-bandwidth-gbs', o.pcieBandwidthGbs) * 1e9,
    stepOverheadSeconds: o.stepOverheadMs === undefined ? H100.stepOverheadSeconds : nonNegative('--step-overhead-ms', o.stepOverheadMs) / 1000,
  };
  const errorRate = number('--error-rate', o.errorRate, (n) => n >= 0 && n <= 1, 'a fraction in [0, 1]');
  const seed = number('--seed', o.seed, (n) => Number.isInteger(n), 'an integer');
  const devMode = ['1', 'true', 'True', 'TRUE'].includes(env.VLLM_SERVER_DEV_MODE ?? '');
  const multiprocDir = env.PROMETHEUS_MULTIPROC_DIR;
  // vLLM's MultiProcessCollector refuses a value that is not a folder, and the server exits.
  if (multiprocDir !== undefined && !isDirectory(multiprocDir)) {
    throw new UserError(`PROMETHEUS_MULTIPROC_DIR: '${multiprocDir}' is not a directory (Prometheus multiprocess mode needs an existing, empty folder)`);
  }
  return {
    model,
    servedModelNames: o.servedModelName && o.servedModelName.length > 0 ? o.servedModelName : [model],
    host: o.host,
    port,
    geometry: { ...geometry, fp8 },
    maxModelLen,
    blockSize,
    tensorParallel,
    pipelineParallel,
    gpuMemoryUtilization,
    gpuMemoryBytes,
    weightBytes,
    kvDtypeBytes,
    kvBytesPerToken,
    kvBytesPerTokenPerDevice,
    numGpuBlocks,
    prefixCaching: o.enablePrefixCaching,
    maxNumSeqs,
    maxNumBatchedTokens,
    cpuTier,
    devMode,
    hardware,
    speed: parseSpeed(o.speed),
    fixed,
    startupDelaySeconds: nonNegative('--startup-delay', o.startupDelay),
    seed: seed >>> 0,
    faults: {
      failStartup: o.failStartup,
      neverReady: o.neverReady,
      crashAfterRequests: o.crashAfterRequests === undefined ? undefined : positiveInt('--crash-after-requests', o.crashAfterRequests),
      errorRate,
    },
    counterTotalSuffix: o.counterTotalSuffix,
    accessLog: o.accessLog,
    lmcacheOnMetrics: multiprocDir !== undefined,
    lmcacheStatsEndpoint: o.lmcacheStatsEndpoint === true,
    notices,
  };
}
