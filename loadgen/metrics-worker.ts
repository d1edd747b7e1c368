// Worker-thread entry of the metrics recorder: the main thread sends `start` and `end`, the
// worker answers `ready` (after the `before` scrape) and `summary`.
import { parentPort, workerData } from 'node:worker_threads';
import { MetricsRecorder, type RecorderOptions } from './metrics-recorder.ts';

const port = parentPort!;
const recorder = new MetricsRecorder(workerData as RecorderOptions);
port.on('message', (message: { type: 'start'; runStartEpochMs: number } | { type: 'end' }) => {
  if (message.type === 'start') recorder.startInterval(message.runStartEpochMs);
  else {
    void recorder.end().then((summary) => {
      port.postMessage({ type: 'summary', summary });
    });
  }
});
void recorder.begin().then(() => port.postMessage({ type: 'ready' }));
