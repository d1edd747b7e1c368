// The HTTP surface of vLLM's OpenAI-compatible server on node:http: routes, SSE streaming, the
// faults that act per request, and the periodic stats line. Built on the engine and scheduler.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { SimConfig } from './config.ts';
import { CpuTier } from './cpu-tier.ts';
import { nowSeconds } from './deadline-timer.ts';
import { Engine } from './engine.ts';
import { GpuBlockPool } from './gpu-pool.ts';
import { log } from './log.ts';
import { renderLmcacheStats, renderMetrics } from './metrics.ts';
import { ApiError, type Kind, parseGeneration, parseJsonBody, parseMessages, parsePrompt, ResponseFormat } from './openai-api.ts';
import { naturalLength } from './reply.ts';
import { type OutputSink, SimRequest } from './request.ts';
import { JsonSink, StreamSink } from './sinks.ts';
import { Scheduler } from './scheduler.ts';
import { rooflineTiming } from './timing.ts';
import { tokenizeChat } from './tokenizer.ts';

export const SIM_VERSION = '0.10.1+kvsweep.sim';
const MAX_BODY_BYTES = 64 * 1024 * 1024;
const STATS_INTERVAL_MS = 10_000;

/** A seeded generator in [0, 1) (mulberry32), for the injected error rate. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sendJson(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(body);
}

export class SimServer {
  readonly pool: GpuBlockPool;
  readonly cpu: CpuTier | undefined;
  readonly scheduler: Scheduler;
  readonly engine: Engine;
  readonly http: Server;
  ready = false;
  private served = 0;
  private readonly random: () => number;
  private readonly idPrefix = randomBytes(6).toString('hex');
  private nextId = 0;
  private statsTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly config: SimConfig,
    private readonly onCrash: (reason: string) => void,
  ) {
    this.pool = new GpuBlockPool(config.numGpuBlocks);
    const t = config.cpuTier;
    this.cpu = t ? new CpuTier(t.capacityChunks, t.chunkSize, t.chunkBytes, t.policy) : undefined;
    // LMCache's allocator warns on every allocation that finds the tier full (then it evicts).
    if (this.cpu) this.cpu.onFailedAllocation = (bytes) => log.lmcache('WARNING', `Failed to allocate memory block of size ${bytes} because no memory is available`);
    this.scheduler = new Scheduler(
      {
        blockSize: config.blockSize,
        maxNumSeqs: config.maxNumSeqs,
        maxNumBatchedTokens: config.maxNumBatchedTokens,
        prefixCaching: config.prefixCaching,
        saveDecodeCache: t?.saveDecodeCache ?? false,
        seed: config.seed,
      },
      this.pool,
      this.cpu,
    );
    const timing = rooflineTiming(config.geometry, config.hardware, {
      tensorParallel: config.tensorParallel,
      weightBytes: config.weightBytes,
      kvBytesPerToken: config.kvBytesPerToken,
      kvBytesPerTokenPerDevice: config.kvBytesPerTokenPerDevice,
      fp8: config.geometry.fp8,
    });
    this.engine = new Engine(this.scheduler, { speed: config.speed, timing, fixed: config.fixed });
    this.random = seededRandom(config.seed ^ 0x2545f491);
    this.http = createServer(this.handle);
    this.http.keepAliveTimeout = 5_000;
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.config.port, this.config.host, () => {
        this.http.off('error', reject);
        resolve(this.http.address() as AddressInfo);
      });
    });
  }

  startStatsLog(): void {
    let last = { prompt: 0, generation: 0, at: nowSeconds() };
    this.statsTimer = setInterval(() => {
      const s = this.scheduler.stats;
      const now = nowSeconds();
      const idle = s.promptTokens === last.prompt && s.generationTokens === last.generation && this.scheduler.running.length === 0;
      if (!idle) {
        const dt = now - last.at;
        const pct = (a: number, b: number): string => (b === 0 ? '0.0' : ((100 * a) / b).toFixed(1));
        log.info(
          `Engine 000: Avg prompt throughput: ${((s.promptTokens - last.prompt) / dt).toFixed(1)} tokens/s, ` +
            `Avg generation throughput: ${((s.generationTokens - last.generation) / dt).toFixed(1)} tokens/s, ` +
            `Running: ${this.scheduler.running.length} reqs, Waiting: ${this.scheduler.waiting.length} reqs, ` +
            `GPU KV cache usage: ${(100 * this.pool.usage()).toFixed(1)}%, Prefix cache hit rate: ${pct(s.prefixHits, s.prefixQueries)}%` +
            (this.cpu ? `, External prefix cache hit rate: ${pct(s.externalHits, s.externalQueries)}%` : ''),
        );
      }
      last = { prompt: s.promptTokens, generation: s.generationTokens, at: now };
    }, STATS_INTERVAL_MS);
    this.statsTimer.unref();
  }

  /** Stops the engine, closes the listener and drops every connection (in-flight requests end). */
  close(): Promise<void> {
    this.engine.stop();
    if (this.statsTimer) clearInterval(this.statsTimer);
    return new Promise((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  private readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const arrivedAt = nowSeconds();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (this.config.accessLog) {
      res.on('finish', () => log.uvicorn(`${req.socket.remoteAddress}:${req.socket.remotePort} - "${req.method} ${url} HTTP/${req.httpVersion}" ${res.statusCode}`));
    }
    if (req.method === 'GET' || req.method === 'HEAD') {
      this.handleGet(path, res);
      return;
    }
    if (req.method !== 'POST') {
      sendJson(res, 405, '{"detail":"Method Not Allowed"}');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) {
        sendJson(res, 413, new ApiError(413, `request body over ${MAX_BODY_BYTES} bytes`).body());
        return;
      }
      const body = chunks.length === 1 ? chunks[0]!.toString() : Buffer.concat(chunks).toString();
      try {
        this.handlePost(path, body, res, arrivedAt);
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        sendJson(res, error.status, error.body());
      }
    });
  };

  private handleGet(path: string, res: ServerResponse): void {
    switch (path) {
      case '/health':
      case '/ping':
        res.writeHead(this.ready ? 200 : 503).end();
        return;
      case '/version':
        sendJson(res, 200, JSON.stringify({ version: SIM_VERSION }));
        return;
      case '/metrics':
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(
          renderMetrics({
            scheduler: this.scheduler,
            pool: this.pool,
            cpu: this.cpu,
            modelName: this.config.servedModelNames[0]!,
            blockSize: this.config.blockSize,
            totalSuffix: this.config.counterTotalSuffix,
            lmcacheSeries: this.config.lmcacheOnMetrics,
          }),
        );
        return;
      case '/v1/models': {
        const created = Math.floor(Date.now() / 1000);
        const data = this.config.servedModelNames.map((id) => ({
          id, object: 'model', created, owned_by: 'vllm', root: this.config.model, parent: null, max_model_len: this.config.maxModelLen,
          permission: [],
        }));
        sendJson(res, 200, JSON.stringify({ object: 'list', data }));
        return;
      }
      case '/lmcache/stats':
        if (!this.config.lmcacheStatsEndpoint) break;
        sendJson(res, 200, renderLmcacheStats(this.cpu));
        return;
    }
    sendJson(res, 404, '{"detail":"Not Found"}');
  }

  private handlePost(path: string, body: string, res: ServerResponse, arrivedAt: number): void {
    switch (path) {
      case '/v1/chat/completions':
        this.generate('chat', body, res, arrivedAt);
        return;
      case '/v1/completions':
        this.generate('completion', body, res, arrivedAt);
        return;
      case '/tokenize':
        this.tokenize(body, res);
        return;
      case '/reset_prefix_cache':
        if (!this.config.devMode) break;
        this.resetPrefixCache(res);
        return;
    }
    sendJson(res, 404, '{"detail":"Not Found"}');
  }

  private tokenize(text: string, res: ServerResponse): void {
    const body = parseJsonBody(text);
    if (body.model !== undefined && body.model !== null && !this.config.servedModelNames.includes(String(body.model))) {
      throw new ApiError(404, `The model \`${String(body.model)}\` does not exist.`);
    }
    const tokens =
      body.messages !== undefined ? tokenizeChat(parseMessages(body.messages), body.add_generation_prompt !== false) : parsePrompt(body.prompt).tokens;
    sendJson(res, 200, JSON.stringify({ count: tokens.length, max_model_len: this.config.maxModelLen, tokens, token_strs: null }));
  }

  private resetPrefixCache(res: ServerResponse): void {
    log.info('Resetting prefix cache');
    const reset = this.scheduler.resetPrefixCache();
    if (!reset) log.warn(`Failed to reset prefix cache because some blocks (${this.pool.usable - this.pool.numFree}) are not freed yet`);
    sendJson(res, 200, JSON.stringify({ reset }));
  }

  private generate(kind: Kind, text: string, res: ServerResponse, arrivedAt: number): void {
    if (!this.ready) throw new ApiError(503, 'the engine is not ready', 'ServiceUnavailableError');
    const input = parseGeneration(kind, parseJsonBody(text), this.config.servedModelNames, this.config.maxModelLen);
    if (this.config.faults.errorRate > 0 && this.random() < this.config.faults.errorRate) {
      throw new ApiError(500, 'simulated internal server error (--error-rate)');
    }
    let target = input.maxTokens;
    let reason: 'length' | 'stop' = 'length';
    if (!input.ignoreEos) {
      const natural = Math.max(naturalLength(this.config.seed, input.promptKey), input.minTokens);
      if (natural < target) {
        target = natural;
        reason = 'stop';
      }
    }
    const id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${this.idPrefix}${(this.nextId++).toString(16)}`;
    const fmt = new ResponseFormat(kind, id, Math.floor(Date.now() / 1000), input.model);
    const onDone = (): void => this.requestDone();
    let sink: OutputSink;
    if (input.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
      // In real time, headers go out at once (as uvicorn does); at unlimited speed with the body.
      if (Number.isFinite(this.config.speed)) res.flushHeaders();
      sink = new StreamSink(res, fmt, input.includeUsage, onDone);
    } else {
      sink = new JsonSink(res, fmt, onDone);
    }
    const request = new SimRequest(id, input.user ?? id, input.prompt, target, reason, input.promptKey, kind === 'chat', arrivedAt, sink);
    res.on('close', () => {
      if (request.state === 'waiting' || request.state === 'running') this.engine.abort(request);
    });
    this.engine.submit(request);
  }

  private requestDone(): void {
    this.served++;
    const limit = this.config.faults.crashAfterRequests;
    if (limit !== undefined && this.served === limit) this.onCrash(`--crash-after-requests ${limit}: crashing after ${limit} requests`);
  }
}
