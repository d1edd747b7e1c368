// Scrapes /metrics before, about once a second during, and after a run, appends each scrape
// (parsed) as one line of metrics.jsonl, and keeps what the per-run figures need: the first and
// last values and every series' peak. It runs in a worker thread (metrics-sampler.ts) so that
// scraping and parsing never delay a send on the main thread.
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { counterNames, flattenMetrics, parseMetrics } from './prometheus.ts';
import type { ScrapeSummary } from './cache-stats.ts';

export interface RecorderOptions {
  baseUrl: string;
  file: string;
  intervalMs: number;
  /** How long to wait for counters to settle after the run (vLLM updates them per engine step). */
  settleMs: number;
  /** Sent with every scrape (the run's Authorization). */
  headers?: Record<string, string>;
}

type Phase = 'before' | 'during' | 'after';

export class MetricsRecorder {
  private readonly out: WriteStream;
  private interval: NodeJS.Timeout | null = null;
  private inProgress: Promise<unknown> = Promise.resolve();
  private runStartEpochMs: number | null = null;
  private readonly summary: ScrapeSummary & { counters: Set<string> } = {
    before: null,
    after: null,
    peak: {},
    counters: new Set(),
    scrapes: 0,
    failedScrapes: 0,
    lastError: null,
  };

  constructor(private readonly options: RecorderOptions) {
    this.out = createWriteStream(options.file);
  }

  /** The `before` scrape. */
  async begin(): Promise<void> {
    this.summary.before = await this.scrape('before');
  }

  /** The replay has started: scrape every interval from now on. */
  startInterval(runStartEpochMs: number): void {
    this.runStartEpochMs = runStartEpochMs;
    this.interval = setInterval(() => {
      this.inProgress = this.scrape('during');
    }, this.options.intervalMs);
  }

  /** Stops the interval, takes the `after` scrape(s) and closes the file. */
  async end(): Promise<ScrapeSummary> {
    if (this.interval !== null) clearInterval(this.interval);
    await this.inProgress;
    let after = await this.scrape('after');
    const deadline = performance.now() + this.options.settleMs;
    while (after !== null && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(250, this.options.settleMs)));
      const again = await this.scrape('after');
      if (again === null || sameCounters(after, again, this.summary.counters)) {
        after = again ?? after;
        break;
      }
      after = again;
    }
    this.summary.after = after;
    this.out.end();
    await once(this.out, 'finish');
    return this.summary;
  }

  private async scrape(phase: Phase): Promise<Record<string, number> | null> {
    const epochMs = performance.timeOrigin + performance.now();
    let line: Record<string, unknown>;
    let flat: Record<string, number> | null = null;
    try {
      const response = await fetch(`${this.options.baseUrl}/metrics`, { headers: this.options.headers ?? {}, signal: AbortSignal.timeout(5000) });
      if (!response.ok) throw new Error(`GET /metrics answered HTTP ${response.status}`);
      const parsed = parseMetrics(await response.text());
      flat = flattenMetrics(parsed);
      for (const name of counterNames(parsed)) this.summary.counters.add(name);
      if (phase !== 'before') {
        for (const [name, value] of Object.entries(flat)) {
          const peak = this.summary.peak[name];
          if (peak === undefined || value > peak) this.summary.peak[name] = value;
        }
      }
      this.summary.scrapes++;
      line = { phase, time: new Date(epochMs).toISOString(), elapsed_s: this.elapsed(epochMs), metrics: parsed };
    } catch (error) {
      this.summary.failedScrapes++;
      this.summary.lastError = (error as Error).message;
      line = { phase, time: new Date(epochMs).toISOString(), elapsed_s: this.elapsed(epochMs), error: (error as Error).message };
    }
    this.out.write(`${JSON.stringify(line)}\n`);
    return flat;
  }

  private elapsed(epochMs: number): number | null {
    return this.runStartEpochMs === null ? null : (epochMs - this.runStartEpochMs) / 1000;
  }
}

function sameCounters(a: Record<string, number>, b: Record<string, number>, counters: ReadonlySet<string>): boolean {
  // Only the server's own counters: process_cpu_seconds and the like never stand still.
  for (const name of counters) if ((name.startsWith('vllm:') || name.startsWith('lmcache:')) && a[name] !== b[name]) return false;
  return true;
}
