// One streaming chat completion, timed on the monotonic clock: send instant, every content
// chunk's arrival, end. It goes over kvsweep's own HTTP/1.1 connections (http1.ts): at thousands
// of requests per second what a request leaves behind for the garbage collector decides how late
// the next sends are, and undici's per-request objects and keep-alive timer were most of it
// (docs/loadgen.md). Callback-based on purpose: no promise per chunk.
import { StringDecoder } from 'node:string_decoder';
import { performance } from 'node:perf_hooks';
import { Http1Connection, type ResponseHandler } from './http1.ts';
import { bytesAre } from './bytes.ts';
import { SseParser } from './sse.ts';
import { commonChunkContent, slowChunk, type ChunkFields } from './stream-chunk.ts';

export interface ChatOutcome {
  ok: boolean;
  aborted: boolean;
  httpStatus: number | null;
  error: string | null;
  /** performance.now() when the request was handed to the HTTP client. */
  sentAt: number;
  /** Arrival times of the chunks that carried content (the first one is the first token). */
  chunkTimes: number[];
  endAt: number;
  content: string;
  promptTokens: number | null;
  cachedTokens: number | null;
  completionTokens: number | null;
}

export interface ChatTarget {
  pool: ConnectionPool;
  /** Path of the chat completions endpoint, e.g. `/v1/chat/completions`. */
  path: string;
  /** The request's header lines (chatRequestHeaders); the default carries no Authorization. */
  headers?: string;
  /**
   * Called after each network read is handled: lets the replay send what fell due meanwhile, so
   * a burst of responses handled back to back does not delay the sends scheduled inside it.
   */
  afterRead?: () => void;
}

export interface InFlight {
  abort(reason: string): void;
}

const MAX_ERROR_BODY = 2048;
const DONE = Buffer.from('[DONE]');

/**
 * Keep-alive connections to the server, one request on each at a time: unbounded (a request
 * queued behind a busy connection is a late request), no pipelining (a response would wait
 * behind another), and no header or body timeout (a slow server is measured, not cut off; the
 * time limit bounds a run). Idle connections are a stack, so taking one is O(1) however many
 * are open and the warmest is reused; one the server may be closing (idle for nearly its
 * keep-alive timeout) or has closed is dropped when reached, so no timer is kept per connection.
 */
export class ConnectionPool {
  private readonly idle: Http1Connection[] = [];
  private readonly all = new Set<Http1Connection>();
  private readonly origin: URL;

  constructor(origin: string) {
    this.origin = new URL(origin);
  }

  acquire(): Http1Connection {
    const now = Date.now();
    for (let connection = this.idle.pop(); connection !== undefined; connection = this.idle.pop()) {
      if (connection.reusable(now)) return connection;
      this.discard(connection);
    }
    const created = new Http1Connection(this.origin);
    this.all.add(created);
    return created;
  }

  /**
   * Opens `count` connections before the run (each carries one small GET, here `path`), so the
   * first second of a fast run does not pay for a burst of TCP connects on both sides while
   * sends fall due. Failures are ignored: a connection that did not open is opened on demand.
   */
  async open(count: number, path: string, headers = ''): Promise<void> {
    const opened = await Promise.all(
      Array.from({ length: count }, () => {
        const connection = new Http1Connection(this.origin);
        this.all.add(connection);
        return new Promise<Http1Connection>((resolve) => {
          const settle = (): void => resolve(connection);
          connection.request('GET', path, headers, '', { onHeaders() {}, onData() {}, onComplete: settle, onError: settle });
        });
      }),
    );
    for (const connection of opened) this.release(connection);
  }

  release(connection: Http1Connection): void {
    if (connection.reusable(Date.now())) this.idle.push(connection);
    else this.discard(connection);
  }

  private discard(connection: Http1Connection): void {
    connection.close();
    this.all.delete(connection);
  }

  get size(): number {
    return this.all.size;
  }

  async destroy(): Promise<void> {
    for (const connection of this.all) connection.close();
    this.all.clear();
    this.idle.length = 0;
  }
}

/**
 * Sends one request; `done` is called exactly once. `sentAt` is the caller's performance.now()
 * just before the call: the send instant the replay's schedule and time limit are judged by.
 */
export function streamChat(target: ChatTarget, body: string, sentAt: number, done: (outcome: ChatOutcome) => void): InFlight {
  const request = new ChatRequest(target, sentAt, done);
  request.connection.request('POST', target.path, target.headers ?? REQUEST_HEADERS, body, request);
  return request;
}

const REQUEST_HEADERS = 'content-type: application/json\r\naccept: text/event-stream\r\nuser-agent: kvsweep-loadgen\r\n';

/** The header lines of every chat request, with the run's Authorization lines (built once per run). */
export function chatRequestHeaders(authLines: string): string {
  return REQUEST_HEADERS + authLines;
}

/**
 * One request in flight: the connection's response handler, the SSE parser's sink and the abort
 * handle in one object (a class, not a dozen closures per request: fewer allocations at thousands
 * of requests per second).
 */
class ChatRequest implements InFlight, ResponseHandler {
  readonly outcome: ChatOutcome;
  readonly connection: Http1Connection;
  private finished = false;
  private sawDone = false;
  private released = false;
  private chunkTime = 0;
  /** The body of a response that is not 200, decoded (null until one arrives). */
  private errorBody: { decoder: StringDecoder; text: string } | null = null;
  private readonly parser = new SseParser((bytes, start, end) => this.onEvent(bytes, start, end));

  constructor(
    private readonly target: ChatTarget,
    sentAt: number,
    private readonly done: (outcome: ChatOutcome) => void,
  ) {
    this.outcome = {
      ok: false,
      aborted: false,
      httpStatus: null,
      error: null,
      sentAt,
      chunkTimes: [],
      endAt: 0,
      content: '',
      promptTokens: null,
      cachedTokens: null,
      completionTokens: null,
    };
    this.connection = target.pool.acquire();
  }

  abort(reason: string): void {
    if (this.finished) return;
    this.outcome.aborted = true;
    this.fail(reason);
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.target.pool.release(this.connection);
  }

  private finish(error: string | null): void {
    if (this.finished) return;
    this.finished = true;
    const outcome = this.outcome;
    outcome.endAt = performance.now();
    if (error === null && !this.sawDone) error = 'stream ended before data: [DONE]';
    if (error === null && outcome.chunkTimes.length === 0) error = 'no content chunk received';
    outcome.error = error;
    outcome.ok = error === null;
    this.done(outcome);
  }

  private fail(error: string): void {
    this.finish(error);
    // Once released, the connection carries no request of this one's (it may be reused).
    if (!this.released) this.connection.abort(new Error(error));
  }

  /** One SSE event's data (called by the parser): bytes, decoded only where needed. */
  onEvent(bytes: Buffer, start: number, end: number): void {
    if (this.finished) return;
    if (bytesAre(bytes, start, end, DONE)) {
      this.sawDone = true;
      return;
    }
    const outcome = this.outcome;
    let content = commonChunkContent(bytes, start, end);
    if (content === null) {
      const data = bytes.toString('utf8', start, end);
      let chunk: ChunkFields;
      try {
        chunk = slowChunk(data);
      } catch {
        this.fail(`unparseable stream chunk: ${data.slice(0, 200)}`);
        return;
      }
      if (chunk.error) {
        this.fail(`server error in stream: ${describeError(chunk.error)}`);
        return;
      }
      content = chunk.content;
      if (chunk.usage !== null) {
        outcome.promptTokens = chunk.usage.promptTokens;
        outcome.completionTokens = chunk.usage.completionTokens;
        outcome.cachedTokens = chunk.usage.cachedTokens;
      }
    }
    if (content !== null && content !== '') {
      outcome.chunkTimes.push(this.chunkTime);
      outcome.content += content;
    }
  }

  onHeaders(statusCode: number): void {
    this.outcome.httpStatus = statusCode;
  }

  onData(chunk: Buffer): void {
    if (this.outcome.httpStatus !== 200) {
      const body = (this.errorBody ??= { decoder: new StringDecoder('utf8'), text: '' });
      if (body.text.length < MAX_ERROR_BODY) body.text += body.decoder.write(chunk);
      return;
    }
    this.chunkTime = performance.now();
    this.parser.push(chunk);
    this.target.afterRead?.();
  }

  onComplete(): void {
    this.release();
    if (this.outcome.httpStatus !== 200) {
      const body = this.errorBody;
      this.finish(`HTTP ${this.outcome.httpStatus}: ${errorMessage(body === null ? '' : body.text + body.decoder.end())}`);
      return;
    }
    this.parser.end();
    this.finish(null);
  }

  onError(error: Error & { code?: string }): void {
    // The connection went down with the request; the pool drops it and opens a new one when needed.
    this.release();
    const outcome = this.outcome;
    this.finish(outcome.aborted ? outcome.error ?? 'aborted' : `request: ${error.message}${error.code && !error.message.includes(error.code) ? ` (${error.code})` : ''}`);
  }
}

function errorMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { message?: unknown; error?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
    if (parsed.error !== undefined) return describeError(parsed.error);
  } catch {
    // Not JSON: show the text itself.
  }
  return text.slice(0, 300).trim() || '(empty body)';
}

function describeError(error: unknown): string {
  if (typeof error === 'string') return error;
  if (error && typeof error === 'object' && 'message' in error && typeof error.message === 'string') return error.message;
  return JSON.stringify(error).slice(0, 300);
}
