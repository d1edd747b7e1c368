// kvsweep's HTTP/1.1 client connection against real servers: Node's own HTTP server for the
// common framings and keep-alive, and raw TCP servers that write exact bytes for the edge cases
// (every split point of a response, interim responses, trailers, close-delimited bodies, servers
// that break the rules or hang up).
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Http1Connection, type ResponseHandler } from '../../loadgen/http1.ts';
import { ConnectionPool } from '../../loadgen/http-chat.ts';

interface Received {
  status: number | null;
  body: string;
  pieces: number;
  error: Error | null;
}

const closers: Array<() => void> = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

async function listen(server: net.Server): Promise<URL> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(() => server.close());
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
}

/** A TCP server that answers every request head it reads with `reply(n)` (n counts from 0). */
async function rawServer(reply: (n: number, socket: net.Socket) => void): Promise<{ url: URL; sockets: net.Socket[] }> {
  const sockets: net.Socket[] = [];
  let n = 0;
  const server = net.createServer((socket) => {
    sockets.push(socket);
    let seen = '';
    socket.on('data', (data) => {
      seen += data.toString('latin1');
      // Requests here have small bodies that arrive with their head.
      while (seen.includes('\r\n\r\n')) {
        const [head, ...rest] = seen.split('\r\n\r\n');
        const length = Number(/content-length: (\d+)/i.exec(head!)?.[1] ?? 0);
        seen = rest.join('\r\n\r\n').slice(length);
        reply(n++, socket);
      }
    });
    socket.on('error', () => undefined);
  });
  closers.push(() => sockets.forEach((s) => s.destroy()));
  return { url: await listen(server), sockets };
}

/** Sends one request; `onPiece` hears each piece of body as it arrives. */
function send(connection: Http1Connection, path = '/x', body = '{"a":1}', onPiece: () => void = () => {}): Promise<Received> {
  return new Promise((resolve) => {
    const received: Received = { status: null, body: '', pieces: 0, error: null };
    const handler: ResponseHandler = {
      onHeaders: (status) => void (received.status = status),
      onData: (chunk) => {
        received.body += chunk.toString('utf8');
        received.pieces++;
        onPiece();
      },
      onComplete: () => resolve(received),
      onError: (error) => {
        received.error = error;
        resolve(received);
      },
    };
    connection.request('POST', path, 'content-type: application/json\r\n', body, handler);
  });
}

describe('Http1Connection', () => {
  it('streams a chunked response from node:http and reuses the connection for the next request', async () => {
    const seen: Array<{ path: string; body: string; host: string | undefined; length: string | undefined }> = [];
    let connections = 0;
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        seen.push({ path: req.url!, body, host: req.headers.host, length: req.headers['content-length'] });
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: one\n\n');
        setTimeout(() => res.end('data: two\n\n'), 5);
      });
    });
    server.on('connection', () => connections++);
    const url = await listen(server);
    const connection = new Http1Connection(url);
    closers.push(() => connection.close());
    const first = await send(connection, '/v1/chat', '{"é":1}');
    expect(first).toEqual({ status: 200, body: 'data: one\n\ndata: two\n\n', pieces: 2, error: null });
    expect(connection.reusable(Date.now())).toBe(true);
    const second = await send(connection, '/again');
    expect(second.body).toBe('data: one\n\ndata: two\n\n');
    expect(connections).toBe(1);
    expect(seen).toEqual([
      { path: '/v1/chat', body: '{"é":1}', host: url.host, length: String(Buffer.byteLength('{"é":1}')) },
      { path: '/again', body: '{"a":1}', host: url.host, length: '7' },
    ]);
  });

  it('frames a response split at every byte boundary: chunk extensions, interim 100, trailers', async () => {
    const response = Buffer.from(
      'HTTP/1.1 100 Continue\r\n\r\n' +
        'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Other: ignored\r\n\r\n' +
        '5;ext=1\r\nhello\r\nA\r\n, world!!!\r\n0\r\nX-Trailer: t\r\n\r\n',
    );
    for (let split = 1; split < response.length; split += 1) {
      const { url } = await rawServer((_, socket) => {
        // Apart in time, so the client reads them apart (loopback would join back-to-back writes).
        socket.setNoDelay(true);
        socket.write(response.subarray(0, split));
        setTimeout(() => socket.write(response.subarray(split)), 3);
      });
      const connection = new Http1Connection(url);
      const received = await send(connection);
      connection.close();
      expect(received, `split at ${split}`).toMatchObject({ status: 200, body: 'hello, world!!!', error: null });
      expect(connection.reusable(Date.now())).toBe(false);
      for (const close of closers.splice(0)) close();
    }
  });

  it('reads sized, empty and close-delimited bodies; Connection: close and HTTP/1.0 end the connection', async () => {
    const replies = [
      'HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found',
      'HTTP/1.1 204 No Content\r\n\r\n',
      'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n',
      'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok',
    ];
    const { url } = await rawServer((n, socket) => {
      socket.write(replies[n]!);
      if (n === 3) socket.end();
    });
    const connection = new Http1Connection(url);
    expect(await send(connection)).toMatchObject({ status: 404, body: 'not found', error: null });
    expect(await send(connection)).toMatchObject({ status: 204, body: '', error: null });
    expect(await send(connection)).toMatchObject({ status: 200, body: '', error: null });
    expect(await send(connection)).toMatchObject({ status: 200, body: 'ok', error: null });
    expect(connection.reusable(Date.now())).toBe(false);

    const { url: url10 } = await rawServer((_, socket) => socket.end('HTTP/1.0 200 OK\r\n\r\nuntil the end'));
    const old = new Http1Connection(url10);
    expect(await send(old)).toMatchObject({ status: 200, body: 'until the end', error: null });
    expect(old.reusable(Date.now())).toBe(false);
  });

  it('reads the four framing headers whatever their case, spacing and list form', async () => {
    const cases: Array<[string, string, boolean]> = [
      // [head lines, expected body, connection reusable afterwards]
      ['CONTENT-LENGTH:   3  \r\n', 'abc', true],
      ['Transfer-Encoding: gzip ,\tChunked\r\n', 'abc', true],
      ['Transfer-Encoding: chunked, gzip\r\n', '3\r\nabc\r\n0\r\n\r\n', false],
      ['Connection: upgrade ,  CLOSE\r\nContent-Length: 3\r\n', 'abc', false],
      ['connection: Keep-Alive\r\ncontent-length: 3\r\n', 'abc', true],
    ];
    for (const [head, body, reusable] of cases) {
      const chunked = /chunked\r/i.test(head) && !/gzip\r/.test(head);
      const { url } = await rawServer((_, socket) => {
        if (chunked) socket.write(`HTTP/1.1 200 OK\r\n${head}\r\n3\r\nabc\r\n0\r\n\r\n`);
        else if (head.includes('gzip\r')) socket.end(`HTTP/1.1 200 OK\r\n${head}\r\n${body}`);
        else socket.write(`HTTP/1.1 200 OK\r\n${head}\r\n${body}`);
      });
      const connection = new Http1Connection(url);
      closers.push(() => connection.close());
      expect(await send(connection), head).toMatchObject({ status: 200, body, error: null });
      expect(connection.reusable(Date.now()), head).toBe(reusable);
    }
    // HTTP/1.0 stays open only when it says keep-alive.
    const { url: url10 } = await rawServer((_, socket) => socket.write('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok'));
    const kept = new Http1Connection(url10);
    closers.push(() => kept.close());
    expect(await send(kept)).toMatchObject({ status: 200, body: 'ok', error: null });
    expect(kept.reusable(Date.now())).toBe(true);
    // Keep-Alive: the timeout item among others (3 s less the 1 s margin); a malformed one is ignored (4 s default).
    for (const [value, reusableAt2500ms] of [['max=100, Timeout=3', false], ['timeout=x', true], ['timeout=', true]] as const) {
      const { url } = await rawServer((_, socket) => socket.write(`HTTP/1.1 200 OK\r\nKeep-Alive: ${value}\r\nContent-Length: 0\r\n\r\n`));
      const connection = new Http1Connection(url);
      closers.push(() => connection.close());
      await send(connection);
      expect(connection.reusable(Date.now() + 1500), value).toBe(true);
      expect(connection.reusable(Date.now() + 2500), value).toBe(reusableAt2500ms);
    }
    for (const value of ['', '1 2', '0x10', '-1', '1234567890123456']) {
      const { url } = await rawServer((_, socket) => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${value}\r\n\r\n`));
      expect((await send(new Http1Connection(url))).error?.message, value).toMatch(/malformed content-length/);
    }
  });

  it("honours the server's Keep-Alive timeout: no reuse of a connection the server may be closing", async () => {
    const { url } = await rawServer((_, socket) => socket.write('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\nContent-Length: 0\r\n\r\n'));
    const connection = new Http1Connection(url);
    closers.push(() => connection.close());
    expect(await send(connection)).toMatchObject({ status: 200, error: null });
    // timeout=1 s minus the 1 s margin: never reused.
    expect(connection.reusable(Date.now())).toBe(false);
  });

  it('fails the request, with the cause, when the server hangs up mid-body, breaks the framing or refuses', async () => {
    const { url } = await rawServer((n, socket) => {
      if (n === 0) socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort');
    });
    const cut = await send(new Http1Connection(url));
    expect(cut.error?.message).toBe('the server closed the connection before the response ended');
    expect(cut.body).toBe('short');

    const bad = [
      ['HTTP/1.1 2x0 OK\r\n\r\n', /malformed status code/],
      ['SPDY/3 200 OK\r\n\r\n', /malformed status line/],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', /malformed chunk size/],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n', /chunk data longer than its size/],
      ['HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n', /malformed content-length/],
      ['HTTP/1.1 200 OK\r\nno colon here\r\n\r\n', /malformed header line/],
    ] as const;
    for (const [reply, message] of bad) {
      const { url: badUrl } = await rawServer((_, socket) => socket.write(reply));
      const received = await send(new Http1Connection(badUrl));
      expect(received.error?.message, reply).toMatch(message);
    }

    const server = net.createServer();
    const closed = await listen(server);
    server.close();
    await once(server, 'close');
    const refused = await send(new Http1Connection(closed));
    expect(refused.error?.message).toMatch(/ECONNREFUSED/);
  });

  it('abort ends the request in flight with the given reason and closes the connection', async () => {
    const { url, sockets } = await rawServer((_, socket) => socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n'));
    const connection = new Http1Connection(url);
    let pieceArrived!: () => void;
    const firstPiece = new Promise<void>((resolve) => (pieceArrived = resolve));
    const pending = send(connection, '/x', '{"a":1}', () => pieceArrived());
    await firstPiece;
    connection.abort(new Error('aborted: time limit'));
    const received = await pending;
    expect(received).toMatchObject({ status: 200, body: 'abc', error: new Error('aborted: time limit') });
    await once(sockets[0]!, 'close');
    expect(connection.reusable(Date.now())).toBe(false);
  });
  it('speaks TLS to an https origin and verifies its certificate', async () => {
    const tlsDir = new URL('../fixtures/tls/', import.meta.url);
    const cert = readFileSync(new URL('cert.pem', tlsDir));
    const server = https.createServer({ key: readFileSync(new URL('key.pem', tlsDir)), cert }, (_req, res) => res.end('secret'));
    const url = await listen(server);
    const origin = new URL(`https://${url.host}`);
    const trusted = new Http1Connection(origin, { ca: cert });
    closers.push(() => trusted.close());
    expect(await send(trusted)).toMatchObject({ status: 200, body: 'secret', error: null });
    // Without the CA the self-signed certificate is refused, so the request fails.
    const untrusted = await send(new Http1Connection(origin));
    expect(untrusted.error?.message).toMatch(/self[- ]signed certificate/);
  });
});

describe('ConnectionPool', () => {
  it('reuses idle connections, drops ones the server closed, and opens connections ahead of a run', async () => {
    let accepted = 0;
    const { url, sockets } = await rawServer((_, socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    const pool = new ConnectionPool(url.origin);
    closers.push(() => void pool.destroy());
    await pool.open(3, '/v1/models');
    accepted = sockets.length;
    expect(accepted).toBe(3);
    expect(pool.size).toBe(3);

    const a = pool.acquire();
    expect(await send(a)).toMatchObject({ body: 'ok', error: null });
    pool.release(a);
    expect(sockets.length).toBe(3);

    // The server closes every idle connection: the pool notices and opens a new one. A server
    // socket closes once the client answered the server's FIN, after it marked itself closed.
    const closed = sockets.map((socket) => once(socket, 'close'));
    for (const socket of sockets) socket.end();
    await Promise.all(closed);
    const b = pool.acquire();
    expect(await send(b)).toMatchObject({ body: 'ok', error: null });
    expect(sockets.length).toBe(4);
    expect(pool.size).toBe(1);
  });
});
