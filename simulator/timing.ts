// How long one engine step takes on the simulated GPU: a roofline model. A step reads the device's
// share of the weights and the KV of every scheduled token's context from HBM, and does 2 FLOPs per
// parameter per scheduled token plus attention; it takes the longer of the memory time and the
// compute time, plus a fixed per-step overhead (scheduler, sampling, kernel launches), plus the time
// to copy LMCache hits over PCIe. Defaults describe one H100 SXM 80 GB; see docs/simulator.md.
import type { ModelGeometry } from './models.ts';

export interface Hardware {
  /** Effective HBM bandwidth, bytes/s (H100 SXM: 3.35 TB/s peak, ~80% achieved). */
  hbmBytesPerSecond: number;
  /** Effective dense 16-bit tensor throughput, FLOP/s (H100 SXM: 989 TFLOP/s peak, ~50% in prefill). */
  flopsPerSecond: number;
  /** Effective host-to-device copy rate for LMCache retrievals, bytes/s (PCIe 5 x16, ~40% of 64 GB/s). */
  pcieBytesPerSecond: number;
  /** Fixed cost of one engine step, seconds. */
  stepOverheadSeconds: number;
}

export const H100: Hardware = {
  hbmBytesPerSecond: 2.7e12,
  flopsPerSecond: 500e12,
  pcieBytesPerSecond: 25e9,
  stepOverheadSeconds: 1.5e-3,
};

/** What one step computes, summed over its scheduled requests. */
export interface StepWork {
  /** Tokens computed in this step (prefill chunks + one per decoding request). */
  newTokens: number;
  /** KV tokens read: each scheduled request's context (cached + new). */
  contextTokens: number;
  /** Attention score pairs: for each new token, the tokens it attends to. */
  attentionPairs: number;
  /** Tokens copied from the LMCache CPU tier into GPU blocks in this step. */
  loadedTokens: number;
}

/**
 * Steps in which `n` requests decode one token each: step j (0-based) lasts
 * overhead + max(memory + memorySlope x j, compute + computeSlope x j), seconds.
 */
export interface DecodeLines {
  overhead: number;
  memory: number;
  memorySlope: number;
  compute: number;
  computeSlope: number;
}

export interface TimingModel {
  stepSeconds(work: StepWork): number;
  /**
   * stepSeconds of decode-only steps as lines (the offline driver runs many at once): `n`
   * requests holding `context` computed tokens in total before the first step.
   */
  decodeLines(n: number, context: number): DecodeLines;
}

/** The roofline model for one model on `tensorParallel` devices. */
export function rooflineTiming(
  g: ModelGeometry,
  hw: Hardware,
  opts: { tensorParallel: number; weightBytes: number; kvBytesPerToken: number; kvBytesPerTokenPerDevice: number; fp8: boolean },
): TimingModel {
  const tp = opts.tensorParallel;
  // All-reduce after each layer costs TP > 1 a little of what it gains.
  const tpEfficiency = tp > 1 ? 0.9 : 1;
  const flops = hw.flopsPerSecond * (opts.fp8 ? 2 : 1) * tp * tpEfficiency;
  const hbm = hw.hbmBytesPerSecond * tp * tpEfficiency;
  const attentionWidth = g.attentionHeads * g.headDim;
  return {
    stepSeconds(w: StepWork): number {
      if (w.newTokens === 0 && w.loadedTokens === 0) return 0;
      const memory = (opts.weightBytes + w.contextTokens * opts.kvBytesPerToken) / hbm;
      // Attention: QK^T and PV, 2 FLOPs per multiply-add, per layer.
      const compute = (2 * g.params * w.newTokens + 4 * g.layers * attentionWidth * w.attentionPairs) / flops;
      // Each device copies its own shard of the loaded chunks, in parallel.
      const load = (w.loadedTokens * opts.kvBytesPerTokenPerDevice) / hw.pcieBytesPerSecond;
      return hw.stepOverheadSeconds + Math.max(memory, compute) + load;
    },
    decodeLines(n: number, context: number): DecodeLines {
      // Step j reads and attends to context + n x (j + 1) tokens (as Scheduler.addToPlan counts them).
      const first = context + n;
      return {
        overhead: hw.stepOverheadSeconds,
        memory: (opts.weightBytes + first * opts.kvBytesPerToken) / hbm,
        memorySlope: (n * opts.kvBytesPerToken) / hbm,
        compute: (2 * g.params * n + 4 * g.layers * attentionWidth * first) / flops,
        computeSlope: (4 * g.layers * attentionWidth * n) / flops,
      };
    },
  };
}

/** Fixed timings for measurement tests: every step is instant; the engine uses the fixed values. */
export interface FixedTimings {
  ttftSeconds: number;
  itlSeconds: number;
}
