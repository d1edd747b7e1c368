// The Temporal side of the orchestration benchmarks (orchestration.ts, orchestration-floor.ts): a
// dev server of their own, the connections of this process's workers and client, and the CPU both
// sides spend per experiment.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { join } from 'node:path';
import { startDevServer, type DevServer } from '../client/dev-server.ts';
import { freePort } from '../test/support/ports.ts';
import { processCpuSeconds } from './process-cpu.ts';

export interface BenchTemporal {
  server: DevServer;
  connection: NativeConnection;
  client: Client;
  /** Runs these workers in this process until stop(). */
  run(workers: Worker[]): void;
  /**
   * Starts a CPU measurement; the returned function gives the CPU ms per experiment since, for n
   * experiments: the worker (this process: workflows, activities, the client) and the dev server.
   * CPU per experiment is the figure that noise on a shared machine does not move much.
   */
  cpuMeter(): (n: number) => { worker: number; server: number };
  stop(): Promise<void>;
}

export async function startBenchTemporal(options: { dir: string; dbFile: string | null; searchAttributes: boolean }): Promise<BenchTemporal> {
  const address = `127.0.0.1:${await freePort()}`;
  const server = await startDevServer({ address, dbFile: options.dbFile, uiPort: null, logPath: join(options.dir, 'temporal.log'), searchAttributes: options.searchAttributes });
  const connection = await NativeConnection.connect({ address });
  const client = new Client({ connection: await Connection.connect({ address }) });
  let workers: Worker[] = [];
  let running: Promise<unknown> = Promise.resolve();
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    server,
    connection,
    client,
    run(started) {
      workers = started;
      running = Promise.all(started.map((w) => w.run()));
    },
    cpuMeter() {
      const worker = process.cpuUsage();
      const serverSeconds = processCpuSeconds(server.process.pid!);
      return (n) => {
        const usage = process.cpuUsage(worker);
        return {
          worker: round((usage.user + usage.system) / 1000 / n),
          server: round(((processCpuSeconds(server.process.pid!) - serverSeconds) * 1000) / n),
        };
      };
    },
    async stop() {
      for (const w of workers) w.shutdown();
      await running.catch(() => undefined);
      await client.connection.close();
      await connection.close();
      await server.stop();
    },
  };
}
