// Follows a running client: heartbeats its progress (read from the JSON lines it prints), and ends
// as soon as the client exits, the server exits under it, or the activity is cancelled.
import type { Context } from '@temporalio/activity';
import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExitInfo, HostProcess } from './host-processes.ts';

export type ClientEnd =
  | { kind: 'client-exited'; exit: ExitInfo }
  | { kind: 'server-exited'; exit: ExitInfo }
  | { kind: 'cancelled'; error: unknown };

/** The last complete JSON line of a progress file (the client prints one a second). */
async function lastProgress(path: string): Promise<unknown> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, 4096);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n').filter((line) => line.trim().startsWith('{'));
    for (const line of lines.reverse()) {
      try {
        return JSON.parse(line);
      } catch {
        // A line cut by the read window or still being written.
      }
    }
    return undefined;
  } finally {
    await handle.close();
  }
}

export async function followClient(options: { client: HostProcess; server: HostProcess; progressPath: string; context: Context }): Promise<ClientEnd> {
  const { client, server, context } = options;
  const cancelled = context.cancelled.then(
    () => undefined as never,
    (error: unknown): ClientEnd => ({ kind: 'cancelled', error }),
  );
  const clientExit = client.exit.then((exit): ClientEnd => ({ kind: 'client-exited', exit }));
  const serverExit = server.exit.then((exit): ClientEnd => ({ kind: 'server-exited', exit }));
  for (;;) {
    context.heartbeat({ progress: await lastProgress(options.progressPath) });
    const tick = sleep(1_000).then(() => undefined);
    const ended = await Promise.race([clientExit, serverExit, cancelled, tick]);
    if (ended) return ended;
  }
}
