// runLoadgen: one whole run — load the trace, check the server, reset its prefix cache, calibrate
// prompt sizes, record /metrics around the replay, replay, and write result.json, requests.jsonl
// and metrics.jsonl. The CLI (cli.ts), benchmarks and tests all call this.
import { createWriteStream } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { UserError } from '../domain/errors.ts';
import { loadTrace } from './trace.ts';
import type { TraceTurn } from './trace-parse.ts';
import { scheduleTimes as scheduleOffsets } from './schedule.ts';
import { checkServer, resetPrefixCache, type PrefixCacheReset } from './server-api.ts';
import { authFromEnv, type ServerAuth } from './auth.ts';
import { preparePrompts, type ReasoningMode } from './prepare-prompts.ts';
import { beginLmcacheStats } from './lmcache-stats.ts';
import { startMetricsSampler } from './metrics-sampler.ts';
import { WARM_UP_MIN_BUSIEST_10MS, WARM_UP_RATE, WARM_UP_REQUESTS, warmUpClient } from './warmup.ts';
import { computeCacheStatistics } from './cache-stats.ts';
import { ConnectionPool, chatRequestHeaders } from './http-chat.ts';
import { Replay, type ReplayCounters } from './replay.ts';
import { GcPacer, exposedGc, v8YoungGeneration } from './gc-pacer.ts';
import { aggregate, formatResultBlock } from './aggregate.ts';
import { NO_GC_PACING, type LoadgenResult, type RequestRecord } from './result-schema.ts';

export interface LoadgenOptions {
  baseUrl: string;
  model: string;
  dataset: string;
  /** Replay speed factor (`trace`) or requests/s (`poisson`); Infinity sends as fast as allowed. */
  requestRate: number;
  arrival: 'trace' | 'poisson';
  numPrompts: number | null;
  timeLimitS: number | null;
  mockDecoding: boolean;
  seed: number;
  resultDir: string;
  /** Seconds requests in flight at the time limit may still finish (default 5). */
  graceS?: number;
  /** POST /reset_prefix_cache before the run (default true). */
  resetPrefixCache?: boolean;
  /** Size and count prompts with POST /tokenize (default true). */
  calibrate?: boolean;
  /** How replies carrying `<think>...</think>` enter the history (default `auto`; prepare-prompts.ts). */
  reasoningHistory?: ReasoningMode;
  /** The LMCache fork's statistics URL, read before and after the run; null: not read. */
  lmcacheStatsUrl?: string | null;
  /** Authorization sent with every request (default: from OPENAI_API_KEY). */
  auth?: ServerAuth;
  metricsIntervalMs?: number;
  /** Collect young-generation garbage in the schedule's gaps (default true; loadgen/gc-pacer.ts). */
  gcPacing?: boolean;
  /** Called about once a second during the replay. */
  onProgress?: (counters: ReplayCounters) => void;
  /** Human-readable lines about the run's steps. */
  log?: (line: string) => void;
  /** Aborting it stops the replay at once (requests in flight aborted); results are still written. */
  signal?: AbortSignal;
}

export interface LoadgenRun {
  result: LoadgenResult;
  resultPath: string;
  /** The console "Serving Benchmark Result" block. */
  summaryText: string;
}

/** The scheduled send time of every turn (by index), in ms after the run start. */
export function scheduleTimes(turns: readonly TraceTurn[], arrival: 'trace' | 'poisson', rate: number, seed: number): Float64Array {
  const offsets = new Float64Array(turns.length);
  for (const turn of turns) offsets[turn.index] = turn.offsetMs;
  return scheduleOffsets(offsets, arrival, rate, seed);
}

/** Normalises `http://host:port/`, `.../v1` and the like to the server root. */
export function serverRoot(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new UserError(`--base-url '${baseUrl}' is not a URL (expected e.g. http://127.0.0.1:8000)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UserError(`--base-url '${baseUrl}' must be http:// or https://`);
  return `${url.origin}${url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '')}`;
}

export async function runLoadgen(options: LoadgenOptions): Promise<LoadgenRun> {
  const log = options.log ?? (() => {});
  const root = serverRoot(options.baseUrl);
  const resultDir = resolve(options.resultDir);
  const trace = await loadTrace(options.dataset, { numPrompts: options.numPrompts });
  log(`trace ${options.dataset}: ${trace.turns.length} turns in ${trace.conversations} conversations` +
    (trace.droppedNonPositiveQuery > 0 ? ` (${trace.droppedNonPositiveQuery} rows with query length <= 0 dropped)` : ''));
  const auth = options.auth ?? authFromEnv();
  if (auth.sent) log('sending Authorization: Bearer $OPENAI_API_KEY with every request');
  await checkServer(root, options.model, auth);
  await mkdir(resultDir, { recursive: true });

  const reset: PrefixCacheReset =
    options.resetPrefixCache === false
      ? { status: 'skipped', http_status: null, detail: 'not requested' }
      : await resetPrefixCache(root, auth);
  log(`prefix cache reset: ${reset.status} (${reset.detail})`);
  const scheduledMs = scheduleTimes(trace.turns, options.arrival, options.requestRate, options.seed);
  const prepared = await preparePrompts(trace.turns, {
    root,
    model: options.model,
    seed: options.seed,
    mockDecoding: options.mockDecoding,
    auth,
    tokenize: options.calibrate !== false,
    reasoning: options.reasoningHistory ?? 'auto',
    // The limit counts from the first send, itself a little after the start: a second of margin.
    lastSendableMs: options.timeLimitS === null ? null : options.timeLimitS * 1000 + SIZING_MARGIN_MS,
    scheduledMs,
    log,
  });
  const { calibration, prompts } = prepared;
  const finishLmcacheStats = await beginLmcacheStats(options.lmcacheStatsUrl ?? null, auth, log);

  const metricsFile = join(resultDir, 'metrics.jsonl');
  const sampler = await startMetricsSampler({ baseUrl: root, file: metricsFile, intervalMs: options.metricsIntervalMs ?? 1000, settleMs: 1000, headers: auth.headers });
  log(`metrics: recording ${root}/metrics (${sampler.mode})`);

  const rootUrl = new URL(root);
  const pool = new ConnectionPool(rootUrl.origin);
  const basePath = rootUrl.pathname.replace(/\/$/, '');
  const busiest = busiest10Ms(scheduledMs);
  // Fewer full GCs during the run (set before the collection below, which sizes the heap limit).
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  // The garbage of loading the trace is collected now rather than in a pause mid-run; and before
  // the warm-up, not after it: a full GC that finds the warm-up's objects dead throws away the
  // optimized code that refers to them (V8's "weak objects" deopts: the SSE parser, the chunk
  // handler, the prompt builder, the socket writes), which the run then recompiled in its first
  // ~100 ms (side by side at 5,000 req/s: late sends in the first second median 120 -> 63).
  collectGarbage();
  let warmUpRequests = 0;
  if (busiest >= WARM_UP_MIN_BUSIEST_10MS) {
    // Only precision depends on it: a run goes on without it (and says so) if it cannot be done.
    try {
      const warm = await warmUpClient({ requests: WARM_UP_REQUESTS, rate: WARM_UP_RATE, model: options.model, prompts: prepared.synthetic, mockDecoding: options.mockDecoding });
      if (warm.failed > 0) throw new Error(`${warm.failed} of ${warm.requests} requests to the in-process responder failed`);
      warmUpRequests = warm.requests;
      log(`client warm-up: ${warm.requests} requests against an in-process responder in ${warm.ms.toFixed(0)} ms (the schedule's busiest 10 ms hold ${busiest} turns)`);
    } catch (error) {
      log(`client warm-up skipped: ${(error as Error).message}`);
    }
  }
  await pool.open(warmConnections(busiest), `${basePath}/v1/models`, auth.headerLines);
  let gcPacer: GcPacer | null = null;
  if (options.gcPacing !== false) {
    const young = v8YoungGeneration();
    if (typeof young === 'string') log(`client GC pacing off: ${young}`);
    else gcPacer = new GcPacer(young);
  }
  const replay = new Replay({
    target: { pool, path: `${basePath}/v1/chat/completions`, headers: chatRequestHeaders(auth.headerLines) },
    model: options.model,
    turns: trace.turns,
    scheduledMs,
    prompts,
    mockDecoding: options.mockDecoding,
    timeLimitMs: options.timeLimitS === null ? null : options.timeLimitS * 1000,
    graceMs: (options.graceS ?? 5) * 1000,
    gcPacer,
    replies: prepared.replies,
    messageTokens: prepared.messageTokens,
  });
  const progress = options.onProgress ? setInterval(() => options.onProgress!(replay.counters()), 1000) : null;
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  // The run starts with an empty young generation (a scavenge: the warm-up's objects are left alone).
  minorGc();
  loopDelay.enable();
  const cpuBefore = process.cpuUsage();
  const running = replay.run();
  const onAbort = (): void => replay.interrupt(String(options.signal?.reason ?? 'interrupted'));
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  sampler.start(performance.timeOrigin + replay.startedAt);
  let outcome;
  try {
    outcome = await running;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    if (progress !== null) clearInterval(progress);
    await pool.destroy();
  }
  loopDelay.disable();
  const gcPacing = gcPacer === null ? NO_GC_PACING : { enabled: true, ...gcPacer.stats() };
  if (gcPacing.enabled) {
    log(`client GC pacing: ${gcPacing.collections} young-generation collections in gaps of the schedule (longest ${gcPacing.pause_ms_max?.toFixed(2) ?? '-'} ms)`);
  }
  const cpu = process.cpuUsage(cpuBefore);
  const wallMs = outcome.endAt - outcome.startAt;
  options.onProgress?.(replay.counters());
  const scrapes = await sampler.end();
  const cacheStatistics = computeCacheStatistics(scrapes, reset);
  await finishLmcacheStats(cacheStatistics);
  for (const missing of cacheStatistics.missing_figures) log(`missing figures: ${missing.figures}: ${missing.reason}`);
  // The histogram holds the interval of a 10 ms timer: the delay is what exceeds 10 ms.
  const delayMs = (ns: number): number | null => (Number.isFinite(ns) && loopDelay.count > 0 ? Math.max(0, ns / 1e6 - 10) : null);

  const ms = (t: number | null): number | null => (t === null ? null : t - outcome.startAt);
  const result = aggregate(outcome.records, {
    date: new Date().toISOString(),
    baseUrl: root,
    model: options.model,
    dataset: options.dataset,
    arrival: options.arrival,
    requestRate: options.requestRate,
    seed: options.seed,
    mockDecoding: options.mockDecoding,
    timeLimitS: options.timeLimitS,
    timeLimitReached: outcome.timeLimitReached,
    interrupted: outcome.interrupted,
    firstSendMs: ms(outcome.firstSendAt),
    lastSendMs: ms(outcome.lastSendAt),
    endMs: outcome.endAt - outcome.startAt,
    maxConcurrent: outcome.maxConcurrent,
    calibration,
    messageSizes: prepared.messages,
    reasoning: { ...prepared.reasoning, replies_rewritten: prepared.replies.rewritten },
    cacheStatistics,
    client: {
      cpu_percent: wallMs > 0 ? ((cpu.user + cpu.system) / 1000 / wallMs) * 100 : null,
      event_loop_delay_ms: { p50: delayMs(loopDelay.percentile(50)), p99: delayMs(loopDelay.percentile(99)), max: delayMs(loopDelay.max) },
      metrics_sampler: sampler.mode,
      warm_up_requests: warmUpRequests,
      gc_pacing: gcPacing,
    },
    files: { requests: 'requests.jsonl', metrics: 'metrics.jsonl' },
  });
  await writeRequests(join(resultDir, 'requests.jsonl'), outcome.records);
  const resultPath = join(resultDir, 'result.json');
  // Written last and atomically: a result.json that exists is complete.
  await writeFile(`${resultPath}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
  await rename(`${resultPath}.tmp`, resultPath);
  return { result, resultPath, summaryText: formatResultBlock(result) };
}

/**
 * After each full GC, V8 lets the old generation grow by a factor of about 1.1 to 4 (by its own
 * measure of GC speed) before the next one. At 5,000 req/s the records and connections of the
 * run's first second reached that limit and a full GC's final pause (5-20 ms) fell inside the run,
 * often in its first second; a fixed factor of 4 (300%) keeps them out of runs of this size (peak
 * RSS of a 30,000-request run: 280-390 MB with or without it; docs/loadgen.md, "What limits the rate").
 */
const HEAP_GROWING_PERCENT = 300;

/** Turns scheduled up to this long after the time limit are still sized (the first send is a little late). */
const SIZING_MARGIN_MS = 1000;

/** A full garbage collection. */
function collectGarbage(): void {
  exposedGc()();
}

/** A young-generation collection. */
function minorGc(): void {
  exposedGc()({ type: 'minor' });
}

/** Most turns scheduled within any 10 ms of the schedule. */
export function busiest10Ms(scheduledMs: Float64Array): number {
  let most = 0;
  let low = 0;
  for (let high = 0; high < scheduledMs.length; high++) {
    while (scheduledMs[high]! - scheduledMs[low]! >= 10) low++;
    most = Math.max(most, high - low + 1);
  }
  return most;
}

/** Connections opened before the run: the requests of the busiest 10 ms of the schedule, 4 to 256. */
export function warmConnections(busiest: number): number {
  return Math.min(256, Math.max(4, busiest));
}

async function writeRequests(path: string, records: readonly RequestRecord[]): Promise<void> {
  const out = createWriteStream(path);
  for (const record of records) {
    if (!out.write(`${JSON.stringify(record)}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}
