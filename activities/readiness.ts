// Readiness of a freshly started server: its log matches the ready pattern AND its health endpoint
// answers 200. vLLM prints its start-up line before HTTP is up, so neither alone is enough; and a
// process that exits during start-up is a failure at once, not after the timeout.
import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ReadinessWatch {
  logPath: string;
  /** Byte offset in the log where this server's output begins (a retry appends to the log). */
  logOffset: number;
  pattern: RegExp;
  healthUrl: string;
  timeoutMs: number;
  /** Exit status once the process has exited, else undefined. */
  exited: () => { exitCode: number | undefined; signal: string | undefined } | undefined;
  heartbeat: (phase: string) => void;
  signal: AbortSignal;
  /** Poll interval: bounds the detection delay once the server is healthy. */
  pollMs?: number;
}

export type ReadinessResult =
  | { ready: true; patternAtMs: number; healthyAtMs: number; elapsedMs: number }
  | { ready: false; reason: 'exited'; exit: { exitCode: number | undefined; signal: string | undefined } }
  | { ready: false; reason: 'timeout'; awaited: string };

/** A reader of what a log file gained since the last call. */
class LogFollower {
  private offset: number;
  private text = '';
  constructor(
    private readonly path: string,
    offset: number,
  ) {
    this.offset = offset;
  }
  async read(): Promise<string> {
    let handle;
    try {
      handle = await open(this.path, 'r');
    } catch {
      return this.text;
    }
    try {
      const { size } = await handle.stat();
      if (size > this.offset) {
        const buffer = Buffer.alloc(size - this.offset);
        await handle.read(buffer, 0, buffer.length, this.offset);
        this.offset = size;
        // Keep a bounded window: the pattern is one line, and logs can be long.
        this.text = (this.text + buffer.toString('utf8')).slice(-256 * 1024);
      }
      return this.text;
    } finally {
      await handle.close();
    }
  }
}

async function healthy(url: string, signal: AbortSignal): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(2_000)]) });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
}

export async function waitUntilReady(watch: ReadinessWatch): Promise<ReadinessResult> {
  const started = performance.now();
  const pollMs = watch.pollMs ?? 10;
  const follower = new LogFollower(watch.logPath, watch.logOffset);
  let patternAtMs: number | undefined;
  let lastBeat = 0;
  for (;;) {
    watch.signal.throwIfAborted();
    const now = performance.now();
    const exit = watch.exited();
    if (exit) return { ready: false, reason: 'exited', exit };
    if (now - started > watch.timeoutMs) {
      const awaited = patternAtMs === undefined ? `its log never matched /${watch.pattern.source}/` : `${watch.healthUrl} never answered 200`;
      return { ready: false, reason: 'timeout', awaited };
    }
    if (patternAtMs === undefined && watch.pattern.test(await follower.read())) patternAtMs = performance.now() - started;
    if (patternAtMs !== undefined && (await healthy(watch.healthUrl, watch.signal))) {
      const healthyAtMs = performance.now() - started;
      return { ready: true, patternAtMs, healthyAtMs, elapsedMs: healthyAtMs };
    }
    if (now - lastBeat > 1_000) {
      watch.heartbeat(patternAtMs === undefined ? 'waiting for the ready line' : 'waiting for /health');
      lastBeat = now;
    }
    await sleep(pollMs);
  }
}
