// Warming the client's own code up before the clock starts. A fresh process runs its first
// thousands of requests in V8's interpreter and baseline code while the optimizing compiler
// works on background threads: at thousands of requests per second the first few hundred
// milliseconds of a run were late, on a 2-core machine also because those threads took CPU from
// the send loop and the server (docs/loadgen.md, "The first second"). So a fast run first replays
// a short synthetic schedule, through the very same code (Replay, the HTTP/1.1 client, the SSE and
// chunk readers, the request log), against a responder inside this process that answers like
// vLLM's streaming API. The server under test sees none of it: its caches and counters are as
// they were.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { ConnectionPool } from './http-chat.ts';
import type { PromptBuilder } from './prompt.ts';
import { Replay } from './replay.ts';
import type { TraceTurn } from './trace-parse.ts';

export interface WarmUpOptions {
  /** Requests of the warm-up replay. */
  requests: number;
  /** Their rate, requests/s (evenly spaced). */
  rate: number;
  model: string;
  prompts: PromptBuilder;
  mockDecoding: boolean;
}

export interface WarmUpResult {
  requests: number;
  failed: number;
  ms: number;
}

/**
 * A run is warmed up when the busiest 10 ms of its schedule hold this many turns (~1,000 req/s at
 * its peak): below that, sends are far enough apart for cold code to keep up.
 */
export const WARM_UP_MIN_BUSIEST_10MS = 10;
/**
 * Enough for V8 to optimize the per-request and per-chunk code (16,000 chunks), in ~0.3 s. Side by
 * side at 5,000 req/s it cut the late sends of a run's first second by about a third
 * (docs/loadgen.md).
 */
export const WARM_UP_REQUESTS = 1000;
export const WARM_UP_RATE = 10_000;

/** Output tokens of each warm-up request (the responder streams this many content chunks). */
const WARM_UP_OUTPUT_TOKENS = 16;

/** Replays `requests` synthetic turns against an in-process responder; returns what it did. */
export async function warmUpClient(options: WarmUpOptions): Promise<WarmUpResult> {
  const started = performance.now();
  const responder = await startResponder(options.model);
  const pool = new ConnectionPool(responder.origin);
  try {
    const turns: TraceTurn[] = [];
    const scheduledMs = new Float64Array(options.requests);
    for (let i = 0; i < options.requests; i++) {
      // Two turns per conversation, so the history path is warm too.
      turns.push({ index: i, offsetMs: 0, conversationId: `warm-up-${i >> 1}`, turn: (i & 1) + 1, queryTokens: 20, replyTokens: WARM_UP_OUTPUT_TOKENS, modelName: null, line: 0 });
      scheduledMs[i] = (i * 1000) / options.rate;
    }
    const replay = new Replay({
      target: { pool, path: '/v1/chat/completions' },
      model: options.model,
      turns,
      scheduledMs,
      prompts: options.prompts,
      mockDecoding: options.mockDecoding,
      timeLimitMs: null,
      graceMs: 0,
    });
    const outcome = await replay.run();
    const failed = outcome.records.filter((r) => r.status !== 'ok').length;
    return { requests: options.requests, failed, ms: performance.now() - started };
  } finally {
    await pool.destroy();
    await responder.close();
  }
}

interface Responder {
  origin: string;
  close(): Promise<void>;
}

/**
 * A keep-alive HTTP/1.1 server on 127.0.0.1 that answers every request with the same streamed
 * chat completion, in the framing vLLM (uvicorn) uses: chunked, the role chunk, one chunk per
 * token, the usage chunk and `data: [DONE]`, in a few HTTP chunks.
 */
async function startResponder(model: string): Promise<Responder> {
  const response = cannedResponse(model);
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (data: Buffer) => {
      pending = pending.length === 0 ? data : Buffer.concat([pending, data]);
      // Answer each complete request (head plus its content-length body).
      for (;;) {
        const headEnd = pending.indexOf('\r\n\r\n');
        if (headEnd === -1) return;
        const length = /content-length:\s*(\d+)/i.exec(pending.toString('latin1', 0, headEnd));
        const end = headEnd + 4 + (length ? Number(length[1]) : 0);
        if (pending.length < end) return;
        pending = pending.subarray(end);
        socket.write(response);
      }
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  };
}

function cannedResponse(model: string): Buffer {
  const id = 'chatcmpl-warmup';
  const chunk = (delta: string, finish: string | null): string =>
    `data: {"id":"${id}","object":"chat.completion.chunk","created":1700000000,"model":${JSON.stringify(model)},` +
    `"choices":[{"index":0,"delta":${delta},"logprobs":null,"finish_reason":${finish === null ? 'null' : `"${finish}"`}}]}\n\n`;
  const events = [chunk('{"role":"assistant","content":""}', null)];
  for (let i = 0; i < WARM_UP_OUTPUT_TOKENS; i++) {
    events.push(chunk(`{"content":" w${i}"}`, i === WARM_UP_OUTPUT_TOKENS - 1 ? 'length' : null));
  }
  events.push(
    `data: {"id":"${id}","object":"chat.completion.chunk","created":1700000000,"model":${JSON.stringify(model)},"choices":[],` +
      `"usage":{"prompt_tokens":28,"total_tokens":44,"completion_tokens":${WARM_UP_OUTPUT_TOKENS},"prompt_tokens_details":{"cached_tokens":0}}}\n\n`,
    'data: [DONE]\n\n',
  );
  // Three HTTP chunks: the role chunk, the tokens, the rest.
  const pieces = [events[0]!, events.slice(1, -2).join(''), events.slice(-2).join('')];
  const body = pieces.map((piece) => `${Buffer.byteLength(piece).toString(16)}\r\n${piece}\r\n`).join('') + '0\r\n\r\n';
  const head =
    'HTTP/1.1 200 OK\r\ndate: Thu, 01 Jan 2026 00:00:00 GMT\r\nserver: uvicorn\r\ncontent-type: text/event-stream; charset=utf-8\r\n' +
    'connection: keep-alive\r\nkeep-alive: timeout=5\r\ntransfer-encoding: chunked\r\n\r\n';
  return Buffer.from(head + body);
}
