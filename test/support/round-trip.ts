// The machine's own floor for latency measurements: an HTTP round trip to an idle server from an
// idle client. On this kind of VM it is about 1 ms (waking two sleeping processes), against
// about 0.3 ms back to back, so a measured TTFT carries it on top of the server's own TTFT.
import http from 'node:http';

/** Median of `samples` GET round trips to url, each after `idleMs` of quiet, keep-alive. */
export async function idleRoundTripMs(url: string, samples = 30, idleMs = 20): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      await new Promise((resolve) => setTimeout(resolve, idleMs));
      const started = performance.now();
      await new Promise<void>((resolve, reject) => {
        http.get(url, { agent }, (response) => {
          response.resume();
          response.on('end', resolve);
        }).on('error', reject);
      });
      times.push(performance.now() - started);
    }
  } finally {
    agent.destroy();
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}
