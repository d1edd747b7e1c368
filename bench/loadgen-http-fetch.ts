// Closed-loop comparison of Node's http module (what the load generator uses) and fetch (undici):
// N streaming requests always in flight for a fixed time, each fully read; requests per second.
import http from 'node:http';
import { performance } from 'node:perf_hooks';

function body(model: string): string {
  return JSON.stringify({
    model, messages: [{ role: 'user', content: 'the of and to in is was for on that with as by at from his her it an' }],
    stream: true, stream_options: { include_usage: true }, max_completion_tokens: 16, min_tokens: 16, ignore_eos: true,
  });
}

async function closedLoop(seconds: number, inFlight: number, one: () => Promise<void>): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      await one();
      done++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  return done / ((performance.now() - start) / 1000);
}

export async function httpVersusFetch(url: string, model: string, seconds: number, inFlight: number): Promise<{ http_rps: number; fetch_rps: number; in_flight: number; seconds: number }> {
  const payload = body(model);
  const agent = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  const target = new URL(url);
  const viaHttp = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = http.request(target, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
        res.setEncoding('utf8');
        res.on('data', () => {});
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end(payload);
    });
  const viaFetch = async (): Promise<void> => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    while (!(await reader.read()).done);
  };
  await closedLoop(1, inFlight, viaHttp); // warm-up of both paths
  await closedLoop(1, inFlight, viaFetch);
  const httpRps = await closedLoop(seconds, inFlight, viaHttp);
  const fetchRps = await closedLoop(seconds, inFlight, viaFetch);
  agent.destroy();
  return { http_rps: httpRps, fetch_rps: fetchRps, in_flight: inFlight, seconds };
}
