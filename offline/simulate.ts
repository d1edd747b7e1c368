// One offline replay in memory: the simulator's scheduler, GPU tier and CPU tier built from the
// experiment as `kvsweep sim serve` would build them, driven on a virtual clock by the replay.
import { performance } from 'node:perf_hooks';
import { CpuTier } from '../simulator/cpu-tier.ts';
import { GpuBlockPool } from '../simulator/gpu-pool.ts';
import { renderMetrics } from '../simulator/metrics.ts';
import { Scheduler } from '../simulator/scheduler.ts';
import { rooflineTiming } from '../simulator/timing.ts';
import { VirtualEngine } from '../simulator/virtual-engine.ts';
import type { SimConfig } from '../simulator/config.ts';
import { offlineSimConfig } from './engine-config.ts';
import type { OfflineExperiment } from './experiment.ts';
import { ClientFigures } from './figures.ts';
import type { RequestStream } from './inputs/stream.ts';
import type { LightgbmModel } from './lightgbm/model.ts';
import { needsFirstPass, offlinePolicy, type FirstPass } from './policies/index.ts';
import { OfflineRecords } from './records.ts';
import { planReplay } from './replay-plan.ts';
import { OfflineReplay, type ReplayOutcome } from './replay.ts';

/** Seconds requests in flight at the time limit may still finish (the live client's default). */
const GRACE_SECONDS = 5;

export interface OfflineSimulation {
  experiment: OfflineExperiment;
  stream: RequestStream;
  config: SimConfig;
  records: OfflineRecords;
  outcome: ReplayOutcome;
  figures: ClientFigures;
  engine: VirtualEngine;
  /** /metrics text before and after the replay (what a live client would have scraped). */
  metricsBefore: string;
  metricsAfter: string;
  /** Wall-clock seconds of the replay alone. */
  wallSeconds: number;
  /** CPU seconds (user + system) of the replay alone: on a busy machine, the figure to compare. */
  cpuSeconds: number;
}

export interface SimulateOptions {
  /** False: step by step, never a stretch of decode steps at once (for tests of the stretches). */
  stretches?: boolean;
  /** The oracle's first replay, when already made (firstPass() of the same stream and engine). */
  firstPass?: FirstPass;
  /** Policy lightgbm's trained model (runOnStream trains it: offline/policies/lightgbm-training.ts). */
  lightgbm?: LightgbmModel;
}

export function simulateOffline(stream: RequestStream, experiment: OfflineExperiment, options: SimulateOptions = {}): OfflineSimulation {
  if (!needsFirstPass(experiment)) return replayOnce(stream, experiment, undefined, options);
  if (options.firstPass) return replayOnce(stream, experiment, options.firstPass, options);
  const first = firstPassReplay(stream, experiment, options);
  const second = replayOnce(stream, experiment, passOf(first), options);
  return { ...second, wallSeconds: first.wallSeconds + second.wallSeconds, cpuSeconds: first.cpuSeconds + second.cpuSeconds };
}

/**
 * What the oracle reads the future from: the replay with the GPU tier alone (no CPU tier), which
 * says what each turn finds there. It depends on neither the CPU tier's size nor its policy, so a
 * sweep makes it once per stream, rate and engine (firstPassKey).
 */
export function firstPass(stream: RequestStream, experiment: OfflineExperiment): FirstPass & { cpuSeconds: number } {
  const replay = firstPassReplay(stream, experiment, {});
  return { ...passOf(replay), cpuSeconds: replay.cpuSeconds };
}

/** Experiments with equal keys share their first pass. */
export function firstPassKey(e: OfflineExperiment): string {
  const { policy: _policy, cache_size_gb: _size, conversation_eviction_config: _config, ...rest } = e;
  return JSON.stringify(rest);
}

function firstPassReplay(stream: RequestStream, experiment: OfflineExperiment, options: SimulateOptions): OfflineSimulation {
  return replayOnce(stream, { ...experiment, policy: 'lru', cache_size_gb: 0 }, undefined, { stretches: options.stretches });
}

function passOf(sim: OfflineSimulation): FirstPass {
  const r = sim.records;
  return { gpuHitTokens: r.gpuHitTokens, promptTokens: r.promptTokens, outputTokens: r.outputTokens };
}

function replayOnce(stream: RequestStream, experiment: OfflineExperiment, firstPass: FirstPass | undefined, options: SimulateOptions): OfflineSimulation {
  const config = offlineSimConfig(experiment);
  const plan = planReplay(stream, experiment.arrival, experiment.request_rate, experiment.seed);
  const records = new OfflineRecords(stream, plan.scheduledMs);
  const policy = offlinePolicy(experiment, plan, records, firstPass, options.lightgbm);
  const pool = new GpuBlockPool(config.numGpuBlocks);
  const t = config.cpuTier;
  const cpu = t ? new CpuTier(t.capacityChunks, t.chunkSize, t.chunkBytes, policy.eviction ?? t.policy) : undefined;
  const scheduler = new Scheduler(
    {
      blockSize: config.blockSize,
      maxNumSeqs: config.maxNumSeqs,
      maxNumBatchedTokens: config.maxNumBatchedTokens,
      prefixCaching: config.prefixCaching,
      saveDecodeCache: t?.saveDecodeCache ?? false,
      seed: config.seed,
    },
    pool,
    cpu,
  );
  const timing = rooflineTiming(config.geometry, config.hardware, {
    tensorParallel: config.tensorParallel,
    weightBytes: config.weightBytes,
    kvBytesPerToken: config.kvBytesPerToken,
    kvBytesPerTokenPerDevice: config.kvBytesPerTokenPerDevice,
    fp8: config.geometry.fp8,
  });
  const figures = new ClientFigures();
  const engine = new VirtualEngine(scheduler, timing, figures, options.stretches ?? true);
  const metrics = (): string =>
    renderMetrics({ scheduler, pool, cpu, modelName: experiment.model, blockSize: config.blockSize, totalSuffix: true, lmcacheSeries: true });
  const metricsBefore = metrics();
  const replay = new OfflineReplay(engine, plan, records, {
    timeLimitS: experiment.time_limit,
    graceS: GRACE_SECONDS,
    mockDecoding: experiment.mock_decoding,
    maxModelLen: config.maxModelLen,
    blockSize: config.blockSize,
    chunkSize: t?.chunkSize ?? experiment.engine.chunk_size,
  }, policy.hooks);
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const outcome = replay.run();
  const cpuUsed = process.cpuUsage(cpuBefore);
  const wallSeconds = (performance.now() - started) / 1000;
  const cpuSeconds = (cpuUsed.user + cpuUsed.system) / 1e6;
  return { experiment, stream, config, records, outcome, figures, engine, metricsBefore, metricsAfter: metrics(), wallSeconds, cpuSeconds };
}
