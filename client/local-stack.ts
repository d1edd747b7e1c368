// What `kvsweep` (the demo) and `kvsweep run --gpus N` bring up on this machine when asked: the
// embedded Temporal dev server (only when nothing answers at TEMPORAL_ADDRESS) and a worker for
// this host with N GPUs (simulated ones when nvidia-smi is absent). Both stop when the command
// ends; the dev server's SQLite file keeps the history for `kvsweep server` and the Web UI.
import { Runtime, DefaultLogger } from '@temporalio/worker';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { appendFileSync, mkdirSync } from 'node:fs';
import { resolveGpus } from '../workers/gpus.ts';
import { startHostWorker, type RunningWorker } from '../workers/host-worker.ts';
import { defaultDbFile, startDevServer, type DevServer } from './dev-server.ts';
import { UserError } from '../domain/errors.ts';
import { dataDir } from '../platform/paths.ts';
import { isListening, splitAddress, temporalNamespace } from '../platform/temporal.ts';

export interface LocalStack {
  /** The Web UI, when kvsweep started the server (else whatever the user runs). */
  uiUrl: string | null;
  startedServer: boolean;
  worker: RunningWorker | null;
  workerLog: string | null;
  stop: () => Promise<void>;
}

export function uiPortFor(address: string): number {
  return splitAddress(address).port + 1000;
}

let runtimeInstalled = false;

/**
 * The local worker's host id: stable per machine (a restarted local worker must find what its
 * predecessor left running), or KVSWEEP_LOCAL_HOST_ID to keep two local stacks on one machine apart.
 */
export function localHostId(): string {
  return process.env.KVSWEEP_LOCAL_HOST_ID ?? `local-${hostname()}`.replace(/[^A-Za-z0-9._-]/g, '-');
}

/** Servers of the local worker take ports from here up (vLLM's default port, unless KVSWEEP_PORT_BASE). */
const LOCAL_PORT_COUNT = 1000;
export function localPortBase(env: NodeJS.ProcessEnv = process.env): number {
  const value = env.KVSWEEP_PORT_BASE;
  if (value === undefined || value === '') return 8000;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1024 || port + LOCAL_PORT_COUNT > 65536) {
    throw new UserError(`KVSWEEP_PORT_BASE=${value}: expected a whole number from 1024 to ${65536 - LOCAL_PORT_COUNT} (the local worker uses ${LOCAL_PORT_COUNT} ports from it)`);
  }
  return port;
}

/**
 * gpus: a worker for this host with that many GPUs; offline: a worker even without GPUs, for the
 * control queue and the offline queue (offline experiments run on this machine's cores).
 */
export async function startLocalStack(options: { address: string; gpus: string | null; offline?: boolean; startServer: boolean; heartbeatTimeoutS?: number }): Promise<LocalStack> {
  const portBase = options.gpus === null ? 0 : localPortBase();
  let server: DevServer | null = null;
  if (options.startServer && !(await isListening(options.address))) {
    server = await startDevServer({
      address: options.address,
      dbFile: defaultDbFile(dataDir()),
      uiPort: uiPortFor(options.address),
      logPath: join(dataDir(), 'logs', 'temporal-dev-server.log'),
    });
  }
  let worker: RunningWorker | null = null;
  let workerLog: string | null = null;
  if (options.gpus !== null || options.offline) {
    const gpus = options.gpus === null ? { ids: [] as string[], className: null } : await resolveGpus(options.gpus);
    workerLog = join(dataDir(), 'logs', 'local-worker.log');
    mkdirSync(join(dataDir(), 'logs'), { recursive: true });
    const log = (line: string) => appendFileSync(workerLog!, `[${new Date().toISOString()}] ${line}\n`);
    if (!runtimeInstalled) {
      Runtime.install({ logger: new DefaultLogger('WARN', (entry) => log(`${entry.level} ${entry.message}`)) });
      runtimeInstalled = true;
    }
    worker = await startHostWorker({
      address: options.address,
      namespace: temporalNamespace(),
      hostId: localHostId(),
      gpuIds: gpus.ids,
      gpuClass: gpus.className ?? 'simulated',
      control: true,
      portBase,
      portCount: LOCAL_PORT_COUNT,
      heartbeatTimeoutS: options.heartbeatTimeoutS ?? 15,
      teardownGraceMs: 10_000,
      cwd: process.cwd(),
      log,
    });
  }
  return {
    uiUrl: server?.uiUrl ?? null,
    startedServer: server !== null,
    worker,
    workerLog,
    stop: async () => {
      await worker?.stop();
      await server?.stop();
    },
  };
}
