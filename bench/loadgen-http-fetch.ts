// Closed-loop comparison of the HTTP clients the load generator could use: its own HTTP/1.1
// connection (loadgen/http1.ts, what it uses), undici's dispatch API on one keep-alive connection
// per request in flight (what it used before), Node's http module with a keep-alive agent, and
// fetch. N streaming requests always in flight for a fixed time, each fully read; requests per
// second and CPU microseconds per request of this process.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { Client } from 'undici';
import { Http1Connection } from '../loadgen/http1.ts';

function body(model: string): string {
  return JSON.stringify({
    model, messages: [{ role: 'user', content: 'the of and to in is was for on that with as by at from his her it an' }],
    stream: true, stream_options: { include_usage: true }, max_completion_tokens: 16, min_tokens: 16, ignore_eos: true,
  });
}

interface LoopResult {
  rps: number;
  cpu_us_per_request: number;
}

async function closedLoop(seconds: number, inFlight: number, one: (worker: number) => Promise<void>): Promise<LoopResult> {
  const end = performance.now() + seconds * 1000;
  let done = 0;
  const worker = async (id: number): Promise<void> => {
    while (performance.now() < end) {
      await one(id);
      done++;
    }
  };
  const cpu = process.cpuUsage();
  const start = performance.now();
  await Promise.all(Array.from({ length: inFlight }, (_, id) => worker(id)));
  const used = process.cpuUsage(cpu);
  return { rps: done / ((performance.now() - start) / 1000), cpu_us_per_request: (used.user + used.system) / done };
}

export interface ClientComparison {
  kvsweep_http1: LoopResult;
  undici: LoopResult;
  http: LoopResult;
  fetch: LoopResult;
  in_flight: number;
  seconds: number;
}

export async function httpVersusFetch(url: string, model: string, seconds: number, inFlight: number): Promise<ClientComparison> {
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
  const clients = Array.from({ length: inFlight }, () => new Client(target.origin, { pipelining: 1 }));
  const viaUndici = (worker: number): Promise<void> =>
    new Promise((resolve, reject) => {
      clients[worker]!.dispatch(
        { path: target.pathname, method: 'POST', headers: { 'content-type': 'application/json' }, body: payload },
        { onConnect() {}, onHeaders: () => true, onData: () => true, onComplete: () => resolve(), onError: reject },
      );
    });
  const connections = Array.from({ length: inFlight }, () => new Http1Connection(target));
  const viaHttp1 = (worker: number): Promise<void> =>
    new Promise((resolve, reject) => {
      connections[worker]!.request('POST', target.pathname, 'content-type: application/json\r\n', payload, {
        onHeaders() {}, onData() {}, onComplete: resolve, onError: reject,
      });
    });
  for (const one of [viaHttp1, viaUndici, viaHttp, viaFetch]) await closedLoop(1, inFlight, one); // warm-up
  const kvsweepHttp1 = await closedLoop(seconds, inFlight, viaHttp1);
  const undici = await closedLoop(seconds, inFlight, viaUndici);
  const viaHttpResult = await closedLoop(seconds, inFlight, viaHttp);
  const viaFetchResult = await closedLoop(seconds, inFlight, viaFetch);
  agent.destroy();
  await Promise.all(clients.map((c) => c.destroy()));
  for (const connection of connections) connection.close();
  return { kvsweep_http1: kvsweepHttp1, undici, http: viaHttpResult, fetch: viaFetchResult, in_flight: inFlight, seconds };
}
