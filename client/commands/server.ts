// `kvsweep server`: the embedded Temporal dev server in the foreground, its state in a SQLite file
// under kvsweep's data folder, the Web UI on the gRPC port + 1000, kvsweep's search attributes
// registered. Ctrl-C stops it; the state stays for next time.
import { Command } from 'commander';
import { parseCommand, portNumber } from '../command-line.ts';
import { defaultDbFile, startDevServer } from '../dev-server.ts';
import { uiPortFor } from '../local-stack.ts';
import { dataDir } from '../../platform/paths.ts';
import { temporalAddress } from '../../platform/temporal.ts';
import { join } from 'node:path';

export async function main(argv: string[]): Promise<number> {
  const program = new Command('server')
    .description('start the embedded Temporal dev server (SQLite state, Web UI) at TEMPORAL_ADDRESS')
    .option('--db-file <path>', 'SQLite file of the server state')
    .option('--in-memory', 'keep no state on disk')
    .option('--ui-port <port>', 'Web UI port (default: gRPC port + 1000)', portNumber)
    .option('--headless', 'no Web UI');
  const opts = parseCommand(program, argv).opts<{ dbFile?: string; inMemory?: boolean; uiPort?: number; headless?: boolean }>();
  const address = temporalAddress();
  const uiPort = opts.headless ? null : (opts.uiPort ?? uiPortFor(address));
  const dbFile = opts.inMemory ? null : (opts.dbFile ?? defaultDbFile(dataDir()));
  const logPath = join(dataDir(), 'logs', 'temporal-dev-server.log');
  const server = await startDevServer({ address, dbFile, uiPort, logPath });
  console.log(`Temporal dev server at ${address}${server.uiUrl ? `, Web UI ${server.uiUrl}` : ''}`);
  console.log(`State: ${dbFile ?? 'in memory'}; log: ${logPath}. Ctrl-C stops it.`);
  const exited = new Promise<number>((resolve) => server.process.once('exit', (code) => resolve(code ?? 0)));
  const stop = () => void server.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const code = await exited;
  return code === 0 || code === null ? 0 : 1;
}
