// Runs the metrics recorder in a worker thread. Worker threads do not inherit tsx's loader
// hooks, so the worker first registers tsx itself, then imports the TypeScript entry. If the
// worker cannot start, the recorder runs on the main thread instead (same files, same figures;
// only scrape parsing then shares the thread with the sends).
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { MetricsRecorder, type RecorderOptions } from './metrics-recorder.ts';
import type { ScrapeSummary } from './cache-stats.ts';

export interface MetricsSampler {
  /** Where the recorder runs: `worker` or `main-thread` (with the reason the worker failed). */
  readonly mode: string;
  start(runStartEpochMs: number): void;
  end(): Promise<ScrapeSummary>;
}

/** Takes the `before` scrape and returns a sampler ready to start with the replay. */
export async function startMetricsSampler(options: RecorderOptions): Promise<MetricsSampler> {
  try {
    return await startWorker(options);
  } catch (error) {
    const recorder = new MetricsRecorder(options);
    await recorder.begin();
    return {
      mode: `main-thread (worker failed: ${(error as Error).message})`,
      start: (epochMs) => recorder.startInterval(epochMs),
      end: () => recorder.end(),
    };
  }
}

/** The ESM build of tsx's API (import.meta.resolve picks the `import` condition, require the CJS one). */
function resolveTsxApi(): string {
  if (typeof import.meta.resolve === 'function') return import.meta.resolve('tsx/esm/api');
  const cjs = createRequire(import.meta.url).resolve('tsx/esm/api');
  return pathToFileURL(cjs.replace(/\.cjs$/, '.mjs')).href;
}

async function startWorker(options: RecorderOptions): Promise<MetricsSampler> {
  const tsxApi = resolveTsxApi();
  const entry = new URL('./metrics-worker.ts', import.meta.url).href;
  const code = `import(${JSON.stringify(tsxApi)}).then((tsx) => { (tsx.register ? tsx : tsx.default).register(); return import(${JSON.stringify(entry)}); })`;
  const worker = new Worker(code, { eval: true, workerData: options });
  const firstMessage = (): Promise<{ type: string; summary?: ScrapeSummary }> =>
    new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      worker.once('error', onError);
      worker.once('message', (message) => {
        worker.off('error', onError);
        resolve(message as { type: string; summary?: ScrapeSummary });
      });
    });
  const ready = await firstMessage();
  if (ready.type !== 'ready') throw new Error(`metrics worker sent ${ready.type}`);
  return {
    mode: 'worker',
    start: (runStartEpochMs) => worker.postMessage({ type: 'start', runStartEpochMs }),
    end: async () => {
      const reply = firstMessage();
      worker.postMessage({ type: 'end' });
      const message = await reply;
      await worker.terminate();
      return message.summary!;
    },
  };
}
