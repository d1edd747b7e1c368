// One streaming chat completion, timed on the monotonic clock: send instant, every content
// chunk's arrival, end. It goes through undici's low-level dispatch API: measured against the
// simulator, ~40 us of CPU per streamed request where Node's http module takes ~70 us and fetch
// several times more (docs/benchmarks.md). Callback-based on purpose: no promise per chunk.
import { StringDecoder } from 'node:string_decoder';
import { performance } from 'node:perf_hooks';
import { Client } from 'undici';
import { SseParser } from './sse.ts';

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

/**
 * Keep-alive connections to the server, one request on each at a time: unbounded (a request
 * queued behind a busy connection is a late request), no pipelining (a response would wait
 * behind another), and no header or body timeout (a slow server is measured, not cut off; the
 * time limit bounds a run). Idle connections are a stack, so taking one is O(1) however many
 * are open (undici's Pool scans all of its clients per request) and the warmest is reused.
 * An undici Client reconnects by itself when the server has closed its idle socket.
 */
export class ConnectionPool {
  private readonly idle: Client[] = [];
  private readonly all = new Set<Client>();

  constructor(private readonly origin: string) {}

  acquire(): Client {
    const client = this.idle.pop();
    if (client !== undefined && !client.destroyed && !client.closed) return client;
    const created = new Client(this.origin, { pipelining: 1, headersTimeout: 0, bodyTimeout: 0 });
    this.all.add(created);
    return created;
  }

  release(client: Client): void {
    if (client.destroyed || client.closed) this.all.delete(client);
    else this.idle.push(client);
  }

  get size(): number {
    return this.all.size;
  }

  async destroy(): Promise<void> {
    await Promise.all([...this.all].map((c) => c.destroy().catch(() => undefined)));
    this.all.clear();
    this.idle.length = 0;
  }
}

/**
 * Sends one request; `done` is called exactly once. `sentAt` is the caller's performance.now()
 * just before the call: the send instant the replay's schedule and time limit are judged by.
 */
export function streamChat(target: ChatTarget, body: string, sentAt: number, done: (outcome: ChatOutcome) => void): InFlight {
  const outcome: ChatOutcome = {
    ok: false,
    aborted: false,
    httpStatus: null,
    error: null,
    sentAt: 0,
    chunkTimes: [],
    endAt: 0,
    content: '',
    promptTokens: null,
    cachedTokens: null,
    completionTokens: null,
  };
  let finished = false;
  let sawDone = false;
  let abortRequest: ((error: Error) => void) | null = null;
  let chunkTime = 0;
  let errorBody = '';
  const decoder = new StringDecoder('utf8');
  const client = target.pool.acquire();
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    target.pool.release(client);
  };
  const finish = (error: string | null): void => {
    if (finished) return;
    finished = true;
    outcome.endAt = performance.now();
    if (error === null && !sawDone) error = 'stream ended before data: [DONE]';
    if (error === null && outcome.chunkTimes.length === 0) error = 'no content chunk received';
    outcome.error = error;
    outcome.ok = error === null;
    done(outcome);
  };
  const fail = (error: string): void => {
    finish(error);
    abortRequest?.(new Error(error));
  };
  const onEvent = (data: string): void => {
    if (finished) return;
    if (data === '[DONE]') {
      sawDone = true;
      return;
    }
    let event: StreamChunk;
    try {
      event = JSON.parse(data) as StreamChunk;
    } catch {
      fail(`unparseable stream chunk: ${data.slice(0, 200)}`);
      return;
    }
    if (event.error) {
      fail(`server error in stream: ${describeError(event.error)}`);
      return;
    }
    const content = event.choices?.[0]?.delta?.content;
    if (typeof content === 'string' && content !== '') {
      outcome.chunkTimes.push(chunkTime);
      outcome.content += content;
    }
    if (event.usage) {
      outcome.promptTokens = event.usage.prompt_tokens ?? null;
      outcome.completionTokens = event.usage.completion_tokens ?? null;
      outcome.cachedTokens = event.usage.prompt_tokens_details?.cached_tokens ?? null;
    }
  };
  const parser = new SseParser(onEvent);
  const afterRead = target.afterRead;
  outcome.sentAt = sentAt;
  client.dispatch(
    {
      path: target.path,
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body,
    },
    {
      onConnect(abort) {
        abortRequest = abort;
        if (finished) abort(new Error('aborted'));
      },
      onHeaders(statusCode) {
        outcome.httpStatus = statusCode;
        return true;
      },
      onData(chunk: Buffer) {
        if (outcome.httpStatus !== 200) {
          if (errorBody.length < MAX_ERROR_BODY) errorBody += decoder.write(chunk);
          return true;
        }
        chunkTime = performance.now();
        parser.push(decoder.write(chunk));
        afterRead?.();
        return true;
      },
      onComplete() {
        release();
        if (outcome.httpStatus !== 200) {
          finish(`HTTP ${outcome.httpStatus}: ${errorMessage(errorBody + decoder.end())}`);
          return;
        }
        parser.push(decoder.end());
        parser.end();
        finish(null);
      },
      onError(error: Error & { code?: string }) {
        // The connection is torn down with the request; the client reconnects when reused.
        release();
        finish(outcome.aborted ? outcome.error ?? 'aborted' : `request: ${error.message}${error.code && !error.message.includes(error.code) ? ` (${error.code})` : ''}`);
      },
    },
  );
  return {
    abort(reason: string) {
      if (finished) return;
      outcome.aborted = true;
      finish(reason);
      abortRequest?.(new Error(reason));
    },
  };
}

interface StreamChunk {
  choices?: Array<{ delta?: { content?: string | null } }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } | null } | null;
  error?: unknown;
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
