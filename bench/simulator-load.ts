// A closed-loop HTTP load process for bench/simulator-throughput.ts: `connections` keep-alive
// loops, each sending a streaming chat request (16 output tokens, a distinct prompt each time) as
// soon as the previous one has been read to `data: [DONE]`. Checks every response and prints one
// JSON line of figures. Run: node --import tsx bench/simulator-load.ts URL MODEL CONNECTIONS SECONDS
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

const [url, model, connectionsArg, secondsArg, tokensArg] = process.argv.slice(2);
if (!url || !model) throw new Error('usage: simulator-load.ts URL MODEL CONNECTIONS SECONDS [OUTPUT_TOKENS]');
const connections = Number(connectionsArg ?? 64);
const seconds = Number(secondsArg ?? 10);
const outputTokens = Number(tokensArg ?? 16);
const agent = new Agent({ keepAlive: true, maxSockets: connections });
const target = new URL('/v1/chat/completions', url);

let completed = 0;
let failed = 0;
let sequence = 0;
const latencies: number[] = [];

function body(): string {
  const n = sequence++;
  return JSON.stringify({
    model,
    messages: [{ role: 'user', content: `Request ${n}: tell me about the key value cache of a transformer and how prefix caching saves work.` }],
    max_tokens: outputTokens,
    ignore_eos: true,
    stream: true,
    stream_options: { include_usage: true },
  });
}

function once(): Promise<void> {
  return new Promise((resolve) => {
    const start = performance.now();
    const req = request(target, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        const chunks = text.split('"delta":{"content":').length - 1; // content chunks (the role chunk has no such key)
        if (res.statusCode === 200 && text.endsWith('data: [DONE]\n\n') && chunks === outputTokens) {
          completed++;
          latencies.push(performance.now() - start);
        } else {
          failed++;
        }
        resolve();
      });
    });
    req.on('error', () => {
      failed++;
      resolve();
    });
    req.end(body());
  });
}

const started = performance.now();
const deadline = started + seconds * 1000;
await Promise.all(
  Array.from({ length: connections }, async () => {
    while (performance.now() < deadline) await once();
  }),
);
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
process.stdout.write(
  `${JSON.stringify({ completed, failed, elapsed_s: elapsed, requests_per_s: completed / elapsed, latency_ms: { p50: pct(50), p99: pct(99) } })}\n`,
);
agent.destroy();
