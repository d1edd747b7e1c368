// The client-side figures a live run computes from every streamed chunk, gathered from the
// engine's steps instead: inter-token latencies (each step's duration is the gap of every request
// that decoded in it) in a log histogram of 0.01% resolution, and tokens per virtual second, for
// the peak output throughput. Stretches of decode steps arrive as spans, spread evenly.
import type { StepObserver } from '../simulator/virtual-engine.ts';

/** Relative width of a histogram bucket. */
const RESOLUTION = 1e-4;
const LOG_STEP = Math.log1p(RESOLUTION);
/** Smallest gap kept apart (1 ns); smaller ones share the first bucket. */
const FLOOR_SECONDS = 1e-9;

export class WeightedHistogram {
  private counts = new Float64Array(1024);
  count = 0;
  private sum = 0;
  private sumSquares = 0;
  private max = 0;

  add(seconds: number, times: number): void {
    this.bump(this.bucket(seconds), times);
    this.count += times;
    this.sum += seconds * times;
    this.sumSquares += seconds * seconds * times;
    if (seconds > this.max) this.max = seconds;
  }

  /** `times` x `steps` values growing from `first` to `last`, summing to `sum` (once), spread evenly. */
  addSpan(first: number, last: number, steps: number, times: number, sum: number): void {
    const a = this.bucket(first);
    const b = this.bucket(last);
    const total = steps * times;
    if (a === b) this.bump(a, total);
    else for (let k = a; k <= b; k++) this.bump(k, total / (b - a + 1));
    this.count += total;
    this.sum += sum * times;
    // Exact for an even series: the mean of squares of values spread evenly from first to last.
    this.sumSquares += total * ((first * first + first * last + last * last) / 3);
    if (last > this.max) this.max = last;
  }

  private bucket(seconds: number): number {
    return seconds <= FLOOR_SECONDS ? 0 : 1 + Math.floor(Math.log(seconds / FLOOR_SECONDS) / LOG_STEP);
  }

  private bump(b: number, times: number): void {
    if (b >= this.counts.length) {
      const grown = new Float64Array(Math.max(b + 1, this.counts.length * 2));
      grown.set(this.counts);
      this.counts = grown;
    }
    this.counts[b]! += times;
  }

  mean(): number | null {
    return this.count === 0 ? null : this.sum / this.count;
  }

  /** Population standard deviation. */
  std(): number | null {
    if (this.count === 0) return null;
    const m = this.sum / this.count;
    return Math.sqrt(Math.max(0, this.sumSquares / this.count - m * m));
  }

  /** The p-th percentile (0..100), numpy's linear rule over ranks, each value at its bucket's middle. */
  percentile(p: number): number | null {
    if (this.count === 0) return null;
    const rank = (p / 100) * (this.count - 1);
    const low = this.valueAtRank(Math.floor(rank));
    const high = this.valueAtRank(Math.ceil(rank));
    return low + (high - low) * (rank - Math.floor(rank));
  }

  private valueAtRank(rank: number): number {
    let seen = 0;
    for (let b = 0; b < this.counts.length; b++) {
      seen += this.counts[b]!;
      if (seen > rank) return Math.min(this.max, b === 0 ? FLOOR_SECONDS : FLOOR_SECONDS * Math.exp((b - 0.5) * LOG_STEP));
    }
    return this.max;
  }
}

export class ClientFigures implements StepObserver {
  readonly itlSeconds = new WeightedHistogram();
  /** Tokens that appeared in each virtual second. */
  private perSecond = new Float64Array(1024);

  gaps(seconds: number, count: number): void {
    this.itlSeconds.add(seconds, count);
  }

  gapSpan(first: number, last: number, steps: number, times: number, sum: number): void {
    this.itlSeconds.addSpan(first, last, steps, times, sum);
  }

  tokens(at: number, count: number): void {
    this.bin(Math.floor(at), count);
  }

  tokenSpan(first: number, last: number, steps: number, count: number): void {
    const from = Math.floor(first);
    const to = Math.floor(last);
    if (from === to || steps === 1) {
      this.bin(to, count * steps);
      return;
    }
    // Steps about evenly spaced: step j ends at first + j x spacing.
    const spacing = (last - first) / (steps - 1);
    let done = 0;
    for (let second = from; second < to; second++) {
      const upTo = Math.min(steps, Math.ceil((second + 1 - first) / spacing));
      this.bin(second, count * (upTo - done));
      done = upTo;
    }
    this.bin(to, count * (steps - done));
  }

  private bin(second: number, count: number): void {
    if (second >= this.perSecond.length) {
      const grown = new Float64Array(Math.max(second + 1, this.perSecond.length * 2));
      grown.set(this.perSecond);
      this.perSecond = grown;
    }
    this.perSecond[second]! += count;
  }

  /** Most tokens within one whole second (vLLM bins its peak output throughput so). */
  peakTokensPerSecond(): number {
    let peak = 0;
    for (const v of this.perSecond) if (v > peak) peak = v;
    return peak;
  }
}
