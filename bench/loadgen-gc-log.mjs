// Preloaded into a `kvsweep loadgen` process by bench/loadgen-compare.ts (`node --import`): records
// every GC pause of the main thread (epoch ms, duration, kind) and writes them as JSON at exit to
// the file named by KVSWEEP_GC_LOG, so the comparison can tell which late sends a pause explains.
import { writeFileSync } from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

const file = process.env.KVSWEEP_GC_LOG;
if (file && isMainThread) {
  const pauses = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) pauses.push([performance.timeOrigin + e.startTime, e.duration, e.detail?.kind ?? 0]);
  });
  observer.observe({ entryTypes: ['gc'] });
  process.on('exit', () => writeFileSync(file, JSON.stringify(pauses)));
}
