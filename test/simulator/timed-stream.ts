// A streamed chat completion timed per server-sent event, over raw HTTP with keep-alive (as load
// generators do, so TTFT excludes connection set-up). Shared by test/simulator/timing.test.ts and
// bench/timing-accuracy.ts.
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

export interface TimedStream {
  /** ms from the request to the first content chunk. */
  ttft: number;
  /** ms between consecutive content chunks. */
  itls: number[];
  /** ms from the request to the last content chunk. */
  last: number;
}

/** Streams one chat completion through `agent`; `body` is merged into `{stream, ignore_eos}`. */
export function timedStream(agent: Agent, baseUrl: string, body: Record<string, unknown>): Promise<TimedStream> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const times: number[] = [];
    let buffer = '';
    const req = request(`${baseUrl}/v1/chat/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const now = performance.now();
        buffer += chunk;
        let i: number;
        while ((i = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          if (event.includes('"content":"') && !event.includes('"content":""')) times.push(now);
        }
      });
      res.on('end', () => resolve({ ttft: times[0]! - start, itls: times.slice(1).map((t, k) => t - times[k]!), last: times[times.length - 1]! - start }));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ stream: true, ignore_eos: true, ...body }));
  });
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
