// Port checks on this host: a server's port is free before it starts and after teardown.
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** True when nothing listens on the port, on any interface (a bind to 0.0.0.0 succeeds). */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '0.0.0.0', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Waits until the port is free; false if it is still taken after timeoutMs. */
export async function waitPortFree(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await isPortFree(port)) return true;
    if (performance.now() >= deadline) return false;
    await sleep(50);
  }
}

/**
 * Picks the lowest free port from base that is not in `reserved` and reserves it there.
 * Synchronous reservation first, so two experiments starting at once never pick the same port.
 */
export async function reservePort(base: number, count: number, reserved: Set<number>): Promise<number> {
  for (let port = base; port < base + count; port++) {
    if (reserved.has(port)) continue;
    reserved.add(port);
    if (await isPortFree(port)) return port;
    reserved.delete(port);
  }
  throw new Error(`no free port in ${base}-${base + count - 1}`);
}
