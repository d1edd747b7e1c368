// The load generator's own HTTP/1.1 client connection: one request at a time on a keep-alive
// socket, the response framed (status line, the four headers that matter, chunked, sized or
// close-delimited body) by scanning bytes, and the body handed on as slices of the one buffer all
// connections read into. Why not undici, which it replaced here: at 5,000 streamed requests/s undici's garbage per
// request (request and header objects, a keep-alive timer and WeakRef re-armed after every
// response) set the pace of the young-generation GC pauses behind nearly every late send; side by
// side against the same simulator this client held send-time p99 at 0.2-0.8 ms where undici's was
// 3-20 ms (docs/loadgen.md). Everything else (metrics, /tokenize, resets) still uses fetch/undici.
import net from 'node:net';
import tls from 'node:tls';
import { bytesAre, digit, excerpt, hexValue, isDigit, nameIs, nextItem, span, trim } from './bytes.ts';

export interface ResponseHandler {
  onHeaders(status: number): void;
  /** A piece of the (de-chunked) body: a view of the read buffer, valid only during the call (it is reused). */
  onData(chunk: Buffer): void;
  onComplete(): void;
  /** The request failed (connection refused or lost, malformed response, abort); no more calls. */
  onError(error: Error): void;
}

/** When the server does not say how long it keeps an idle connection (undici's default too). */
const DEFAULT_KEEP_ALIVE_MS = 4000;
/** A connection is not reused this close to the server's keep-alive timeout (it may be closing it). */
const KEEP_ALIVE_MARGIN_MS = 1000;
const MAX_HEAD_BYTES = 64 * 1024;

const enum State { Status, Headers, ChunkSize, ChunkData, ChunkEnd, Trailers, Sized, UntilClose, Idle }

const CRLF = Buffer.from('\r\n');
/** Where every connection reads (see the constructor). */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

export class ProtocolError extends Error {}

export class Http1Connection {
  private readonly socket: net.Socket;
  private handler: ResponseHandler | null = null;
  private state = State.Idle;
  /** Unconsumed bytes of a head or chunk-size line split across reads. */
  private pending: Buffer | null = null;
  private remaining = 0;
  private status = 0;
  private chunked = false;
  private contentLength = -1;
  private closeAfter = false;
  private closed = false;
  /** Date.now() when the connection was opened or its last response ended (keep-alive check). */
  private idleSince = Date.now();
  /** How long the server keeps an idle connection, minus a margin (from its Keep-Alive header). */
  private reusableForMs = DEFAULT_KEEP_ALIVE_MS;

  /** `tlsOptions` add to the defaults of an https origin (e.g. a private CA); certificates are verified. */
  constructor(private readonly origin: URL, tlsOptions: tls.ConnectionOptions = {}) {
    const port = Number(origin.port) || (origin.protocol === 'https:' ? 443 : 80);
    const host = origin.hostname.replace(/^\[|\]$/g, '');
    // Reads go into one buffer shared by every connection (reads are handled one at a time), not
    // a new Buffer and ArrayBuffer per read: whatever outlives a read is copied.
    const onread = {
      buffer: READ_BUFFER,
      callback: (length: number): boolean => {
        this.onRead(READ_BUFFER.subarray(0, length));
        return true;
      },
    };
    this.socket =
      origin.protocol === 'https:'
        ? // tls.connect takes onread since Node 15.1 (nodejs/node#35753); @types/node does not list it.
          tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ...tlsOptions, onread } as tls.ConnectionOptions)
        : net.connect({ host, port, onread });
    this.socket.setNoDelay(true);
    this.socket.on('end', () => this.onEnd());
    this.socket.on('error', (error) => this.fail(error));
    this.socket.on('close', () => this.fail(new Error('connection closed')));
  }

  /** Usable for a new request now: open, idle, and not about to be closed by the server. */
  reusable(now: number): boolean {
    return !this.closed && this.handler === null && now - this.idleSince < this.reusableForMs;
  }

  /** Sends one request; the handler hears the response. The request head is built here. */
  request(method: string, path: string, headers: string, body: string, handler: ResponseHandler): void {
    if (this.closed || this.handler !== null) throw new Error('connection is not idle');
    this.handler = handler;
    this.state = State.Status;
    this.pending = null;
    const length = body === '' && method === 'GET' ? '' : `content-length: ${Buffer.byteLength(body)}\r\n`;
    this.socket.write(`${method} ${path} HTTP/1.1\r\nhost: ${this.origin.host}\r\n${headers}${length}\r\n${body}`);
  }

  /** Ends the request in flight (its handler hears `error`) and the connection with it. */
  abort(error: Error): void {
    this.fail(error);
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private onRead(data: Buffer): void {
    let buf = data;
    if (this.pending !== null) {
      buf = Buffer.concat([this.pending, data]);
      this.pending = null;
    }
    let pos = 0;
    const length = buf.length;
    while (pos < length && !this.closed) {
      const state = this.state;
      if (state === State.ChunkData || state === State.Sized || state === State.UntilClose) {
        const take = state === State.UntilClose ? length - pos : Math.min(this.remaining, length - pos);
        this.remaining -= take;
        this.handler?.onData(buf.subarray(pos, pos + take));
        pos += take;
        if (this.remaining === 0 && state !== State.UntilClose) {
          if (state === State.Sized) this.complete();
          else this.state = State.ChunkEnd;
        }
        continue;
      }
      if (state === State.Idle) {
        this.fail(new ProtocolError('the server sent data while no request was in flight'));
        return;
      }
      const eol = buf.indexOf(CRLF, pos);
      if (eol === -1) {
        if (length - pos > MAX_HEAD_BYTES) this.fail(new ProtocolError('response head line longer than 64 KB'));
        // A copy: the read buffer is reused.
        else this.pending = Buffer.from(buf.subarray(pos));
        return;
      }
      this.line(buf, pos, eol);
      pos = eol + 2;
    }
  }

  /** One CRLF-terminated line of the head, of a chunk size or of the trailers. */
  private line(buf: Buffer, start: number, end: number): void {
    switch (this.state) {
      case State.Status: {
        // HTTP/1.x NNN reason
        if (end - start < 12 || !bytesAre(buf, start, start + 7, HTTP_1) || buf[start + 8] !== 32) {
          this.fail(new ProtocolError(`malformed status line: ${excerpt(buf, start, end, 80)}`));
          return;
        }
        const status = digit(buf[start + 9]!) * 100 + digit(buf[start + 10]!) * 10 + digit(buf[start + 11]!);
        if (!(status >= 100 && status <= 999)) {
          this.fail(new ProtocolError(`malformed status code: ${excerpt(buf, start, end, end - start)}`));
          return;
        }
        this.status = status;
        this.chunked = false;
        this.contentLength = -1;
        // HTTP/1.0 closes unless it says keep-alive; neither kvsweep nor vLLM ask for that.
        this.closeAfter = buf[start + 7] === 48;
        this.state = State.Headers;
        return;
      }
      case State.Headers:
        if (start === end) this.headersDone();
        else this.header(buf, start, end);
        return;
      case State.ChunkSize: {
        let size = 0;
        let digits = 0;
        let valid = true;
        for (let i = start; i < end; i++) {
          const c = buf[i]!;
          const value = hexValue(c);
          if (value === -1) {
            // The hex digits may be followed by whitespace or a `;` chunk extension, nothing else.
            valid = c === 59 || c === 32 || c === 9;
            break;
          }
          size = size * 16 + value;
          digits++;
        }
        if (!valid || digits === 0 || digits > 12) {
          this.fail(new ProtocolError(`malformed chunk size: ${excerpt(buf, start, end, 40)}`));
          return;
        }
        this.remaining = size;
        this.state = size === 0 ? State.Trailers : State.ChunkData;
        return;
      }
      case State.ChunkEnd:
        if (start !== end) this.fail(new ProtocolError('chunk data longer than its size'));
        else this.state = State.ChunkSize;
        return;
      case State.Trailers:
        if (start === end) this.complete();
        return;
      default:
        this.fail(new ProtocolError('unexpected response framing'));
    }
  }

  private header(buf: Buffer, start: number, end: number): void {
    const colon = buf.indexOf(58, start);
    if (colon === -1 || colon > end) {
      this.fail(new ProtocolError(`malformed header line: ${excerpt(buf, start, end, 80)}`));
      return;
    }
    // Only four headers frame the response, and they are read as bytes: no strings per response.
    trim(buf, colon + 1, end);
    const valueStart = span.start;
    const valueEnd = span.end;
    if (nameIs(buf, start, colon, CONTENT_LENGTH)) {
      let length = 0;
      for (let i = valueStart; i < valueEnd; i++) length = length * 10 + digit(buf[i]!);
      if (!(valueEnd > valueStart && valueEnd - valueStart <= 15 && length >= 0)) this.fail(new ProtocolError(`malformed content-length: ${excerpt(buf, valueStart, valueEnd, 40)}`));
      else this.contentLength = length;
    } else if (nameIs(buf, start, colon, TRANSFER_ENCODING)) {
      // The last coding decides; any other than chunked: the body runs until the server closes.
      const lastComma = buf.lastIndexOf(44, valueEnd - 1);
      trim(buf, lastComma >= valueStart ? lastComma + 1 : valueStart, valueEnd);
      this.chunked = nameIs(buf, span.start, span.end, CHUNKED);
      if (!this.chunked) this.closeAfter = true;
    } else if (nameIs(buf, start, colon, CONNECTION)) {
      let close = false;
      let keepAlive = false;
      for (let p = valueStart; p <= valueEnd; ) {
        p = nextItem(buf, p, valueEnd);
        close ||= nameIs(buf, span.start, span.end, CLOSE);
        keepAlive ||= nameIs(buf, span.start, span.end, KEEP_ALIVE);
      }
      if (close) this.closeAfter = true;
      else if (keepAlive) this.closeAfter = false;
    } else if (nameIs(buf, start, colon, KEEP_ALIVE)) {
      for (let p = valueStart; p <= valueEnd; ) {
        p = nextItem(buf, p, valueEnd);
        const digitsStart = span.start + TIMEOUT.length;
        if (span.end <= digitsStart || !nameIs(buf, span.start, digitsStart, TIMEOUT)) continue;
        let seconds = 0;
        let i = digitsStart;
        for (; i < span.end && isDigit(buf[i]!); i++) seconds = seconds * 10 + digit(buf[i]!);
        if (i > digitsStart) this.reusableForMs = Math.max(0, seconds * 1000 - KEEP_ALIVE_MARGIN_MS);
      }
    }
  }

  private headersDone(): void {
    const status = this.status;
    if (status < 200 && status !== 101) {
      // An interim response (100 Continue, 103 Early Hints): the real one follows.
      this.state = State.Status;
      return;
    }
    this.handler?.onHeaders(status);
    if (this.closed) return;
    if (status === 204 || status === 304) this.complete();
    else if (this.chunked) this.state = State.ChunkSize;
    else if (this.contentLength >= 0) {
      this.remaining = this.contentLength;
      this.state = State.Sized;
      if (this.remaining === 0) this.complete();
    } else {
      this.closeAfter = true;
      this.state = State.UntilClose;
    }
  }

  private complete(): void {
    const handler = this.handler;
    this.handler = null;
    this.state = State.Idle;
    this.idleSince = Date.now();
    if (this.closeAfter) this.close();
    handler?.onComplete();
  }

  private onEnd(): void {
    if (this.state === State.UntilClose && this.handler !== null) this.complete();
    else this.fail(new Error(this.handler === null ? 'connection closed by the server' : 'the server closed the connection before the response ended'));
  }

  private fail(error: Error): void {
    const handler = this.handler;
    this.handler = null;
    this.state = State.Idle;
    if (!this.closed) this.close();
    handler?.onError(error);
  }
}

const HTTP_1 = Buffer.from('HTTP/1.');
const CONTENT_LENGTH = Buffer.from('content-length');
const TRANSFER_ENCODING = Buffer.from('transfer-encoding');
const CONNECTION = Buffer.from('connection');
const KEEP_ALIVE = Buffer.from('keep-alive');
const CHUNKED = Buffer.from('chunked');
const CLOSE = Buffer.from('close');
const TIMEOUT = Buffer.from('timeout=');
