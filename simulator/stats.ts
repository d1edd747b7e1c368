// The engine's cumulative statistics, what /metrics exposes. Counters only grow; histograms keep
// cumulative bucket counts with vLLM's bucket bounds.

export class Histogram {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }
  /** `times` observations of `v` (the offline driver's decode stretches observe a step's ITL once per request). */
  observe(v: number, times = 1): void {
    this.sum += v * times;
    this.count += times;
    // Counts are per bucket here, made cumulative when exposed.
    for (let i = 0; i < this.bounds.length; i++) {
      if (v <= this.bounds[i]!) {
        this.counts[i]! += times;
        return;
      }
    }
  }
}

// Bucket bounds of vLLM V1's histograms (vllm/v1/metrics/loggers.py).
const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0];
const ITL_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0];
const LATENCY_BUCKETS = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0];

export class EngineStats {
  prefixQueries = 0;
  prefixHits = 0;
  externalQueries = 0;
  externalHits = 0;
  preemptions = 0;
  promptTokens = 0;
  generationTokens = 0;
  readonly finished = { stop: 0, length: 0, abort: 0 };
  readonly ttft = new Histogram(TTFT_BUCKETS);
  readonly itl = new Histogram(ITL_BUCKETS);
  readonly e2e = new Histogram(LATENCY_BUCKETS);
  readonly queueTime = new Histogram(LATENCY_BUCKETS);
}
