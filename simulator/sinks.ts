// Where the engine's output goes: a streaming (SSE) or a non-streaming HTTP response. The engine
// calls flush() once per batch of new tokens (once per event-loop turn at unlimited speed), so a
// flush writes every new token's chunk in one write.
import type { ServerResponse } from 'node:http';
import type { ResponseFormat } from './openai-api.ts';
import type { OutputSink, SimRequest } from './request.ts';

/** SSE chunks as tokens come, then the usage chunk and [DONE]. */
export class StreamSink implements OutputSink {
  private started = false;
  private ended = false;
  constructor(
    private readonly res: ServerResponse,
    private readonly fmt: ResponseFormat,
    private readonly includeUsage: boolean,
    private readonly onDone: () => void,
  ) {}

  flush(req: SimRequest): void {
    if (this.ended) return;
    let out = '';
    if (!this.started) {
      this.started = true;
      if (this.fmt.kind === 'chat') out += this.fmt.roleChunk();
    }
    const pieces = req.pieces;
    const n = pieces.length;
    const done = req.state === 'finished';
    for (let i = req.sentPieces; i < n; i++) out += this.fmt.tokenChunk(pieces[i]!.json, done && i === n - 1 ? req.finishReason : undefined);
    req.sentPieces = n;
    if (!done) {
      if (out) this.res.write(out);
      return;
    }
    this.ended = true;
    if (this.includeUsage) out += this.fmt.usageChunk(req);
    this.res.end(`${out}data: [DONE]\n\n`, this.onDone);
  }
}

/** The whole JSON response once the request has finished. */
export class JsonSink implements OutputSink {
  constructor(
    private readonly res: ServerResponse,
    private readonly fmt: ResponseFormat,
    private readonly onDone: () => void,
  ) {}

  flush(req: SimRequest): void {
    if (req.state !== 'finished' || this.res.headersSent) return;
    this.res.writeHead(200, { 'content-type': 'application/json' });
    this.res.end(this.fmt.complete(req), this.onDone);
  }
}
