// The production server side, started the way docs/deployment.md tells users without Docker:
// PostgreSQL (a cluster of its own, as a non-root user), a role for Temporal, the two databases
// set up by docker/temporal/setup-schema.sh with the server's own temporal-sql-tool, the Temporal
// server from docker/temporal/temporal-server.yaml, kvsweep's namespace and search attributes by
// docker/temporal/setup-kvsweep.sh, and the Web UI server. Binaries: scripts/provision-production.sh.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, copyFileSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { parse } from 'yaml';
import { z } from 'zod';
import { temporalBinary } from '../../client/dev-server.ts';
import { projectRoot } from '../../platform/paths.ts';
import { isListening } from '../../platform/temporal.ts';
import { freePort, freePortRange } from '../support/ports.ts';

export const productionRoot = process.env.KVSWEEP_PRODUCTION_DIR ?? join(projectRoot, '.kvsweep', 'production');
const PROVISION = join(projectRoot, 'scripts', 'provision-production.sh');
const TEMPORAL_DIR = join(projectRoot, 'docker', 'temporal');

/** .kvsweep/production/provisioned.json, as scripts/provision-production.sh writes it. */
export const Provisioned = z.object({
  root: z.string(),
  temporal_server: z.object({ binary: z.string(), sql_tool: z.string(), version: z.string(), build_seconds: z.number() }),
  temporal_ui: z.object({ binary: z.string(), root: z.string(), version: z.string(), build_seconds: z.number() }),
  /** data_parent: where a test's data folder may go (the cache folder, if that user can enter it). */
  postgresql: z.object({ bin: z.string(), user: z.string(), version: z.string(), data_parent: z.string() }),
  last_run: z.object({ seconds: z.number(), lock_wait_seconds: z.number(), steps: z.record(z.string(), z.union([z.number(), z.literal('cached')])) }),
});
export type Provisioned = z.infer<typeof Provisioned>;

/** Runs the provisioning script (cached after the first build); its own words on failure. */
export async function provisionProduction(): Promise<Provisioned> {
  const run = await execa('bash', [PROVISION], { reject: false, all: true, timeout: 60 * 60_000, env: { KVSWEEP_PRODUCTION_DIR: productionRoot } });
  if (run.exitCode !== 0) throw new Error(`${PROVISION} failed (exit ${run.exitCode}${run.timedOut ? ', timed out' : ''}):\n${(run.all ?? '').split('\n').slice(-40).join('\n')}`);
  return Provisioned.parse(JSON.parse(readFileSync(join(productionRoot, 'provisioned.json'), 'utf8')));
}

/** argv prefix that runs a PostgreSQL program as the user the provisioning chose (not root). */
function asPgUser(record: Provisioned): string[] {
  return process.getuid?.() === 0 ? ['runuser', '-u', record.postgresql.user, '--'] : [];
}

async function run(argv: string[], env: Record<string, string> = {}, what = argv.join(' ')): Promise<string> {
  const result = await execa(argv[0]!, argv.slice(1), { reject: false, all: true, env, timeout: 300_000 });
  if (result.exitCode !== 0) throw new Error(`${what} failed (exit ${result.exitCode}):\n${result.all}`);
  return result.all ?? '';
}

export interface Postgres {
  port: number;
  /** Stops the cluster, keeps its log in logDir, removes its data. */
  stop: () => Promise<void>;
}

/**
 * A fresh cluster (initdb) in a folder of its own, on 127.0.0.1 and a free port, with the role the
 * Temporal server logs in as: `CREATE ROLE temporal LOGIN CREATEDB PASSWORD 'temporal'`, as the
 * guide says. Run as the provisioned non-root user when the tests run as root.
 */
export async function startPostgres(record: Provisioned, logDir: string): Promise<Postgres> {
  const as = asPgUser(record);
  const pg = (name: string) => join(record.postgresql.bin, name);
  const dir = mkdtempSync(join(record.postgresql.data_parent, 'kvsweep-pg-'));
  const data = join(dir, 'data');
  const socket = join(dir, 'socket');
  const log = join(dir, 'postgresql.log');
  mkdirSync(socket);
  if (as.length > 0) await run(['chown', '-R', record.postgresql.user, dir]);
  const stop = async () => {
    if (existsSync(join(data, 'postmaster.pid'))) await run([...as, pg('pg_ctl'), '-D', data, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
    if (existsSync(log)) copyFileSync(log, join(logDir, 'postgresql.log'));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await run([...as, pg('initdb'), '-D', data, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', '--no-locale', '-E', 'UTF8'], {}, 'initdb');
    const port = await freePort();
    appendFileSync(join(data, 'postgresql.conf'), `\nlisten_addresses = '127.0.0.1'\nport = ${port}\nunix_socket_directories = '${socket}'\n`);
    await run([...as, pg('pg_ctl'), '-D', data, '-l', log, '-w', '-t', '120', 'start'], {}, 'pg_ctl start');
    await run([...as, pg('psql'), '-h', socket, '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-c', "CREATE ROLE temporal LOGIN CREATEDB PASSWORD 'temporal'"], {}, 'psql CREATE ROLE');
    return { port, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The settings of docker/temporal/temporal-server.yaml for a PostgreSQL port and a bind address. */
export async function serverEnv(pgPort: number, bindIp: string): Promise<Record<string, string>> {
  const base = await freePortRange(10);
  const ports = ['FRONTEND_GRPC_PORT', 'FRONTEND_HTTP_PORT', 'FRONTEND_MEMBERSHIP_PORT', 'HISTORY_GRPC_PORT', 'HISTORY_MEMBERSHIP_PORT', 'MATCHING_GRPC_PORT', 'MATCHING_MEMBERSHIP_PORT', 'WORKER_GRPC_PORT', 'WORKER_MEMBERSHIP_PORT'];
  return {
    POSTGRES_SEEDS: '127.0.0.1',
    DB_PORT: String(pgPort),
    POSTGRES_USER: 'temporal',
    POSTGRES_PWD: 'temporal',
    BIND_ON_IP: bindIp,
    DYNAMIC_CONFIG_FILE_PATH: join(TEMPORAL_DIR, 'dynamicconfig', 'kvsweep.yaml'),
    LOG_LEVEL: 'warn',
    ...Object.fromEntries(ports.map((name, i) => [name, String(base + i)])),
  };
}

/** docker/temporal/setup-schema.sh with the provisioned temporal-sql-tool. */
export function setupSchema(record: Provisioned, env: Record<string, string>): Promise<string> {
  return run(['sh', join(TEMPORAL_DIR, 'setup-schema.sh')], { ...env, TEMPORAL_SQL_TOOL: record.temporal_server.sql_tool }, 'setup-schema.sh');
}

export interface TemporalServer {
  address: string;
  process: ChildProcess;
  /** SIGKILL, as a crash or a lost machine would. */
  kill: () => Promise<void>;
  stop: () => Promise<void>;
}

/** `temporal-server --config-file docker/temporal/temporal-server.yaml start`, until its frontend answers. */
export async function startTemporalServer(record: Provisioned, env: Record<string, string>, logPath: string): Promise<TemporalServer> {
  const address = `${env.BIND_ON_IP}:${env.FRONTEND_GRPC_PORT}`;
  const child = spawn(record.temporal_server.binary, ['--config-file', join(TEMPORAL_DIR, 'temporal-server.yaml'), 'start'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logPath, { flags: 'a' });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 120_000;
  while (!(await isListening(address, 500))) {
    if (child.exitCode !== null) throw new Error(`temporal-server exited (${child.exitCode}) before listening at ${address}; log ${logPath}:\n${tailOf(logPath)}`);
    if (Date.now() > deadline) throw new Error(`temporal-server did not listen at ${address} in 120 s; log ${logPath}:\n${tailOf(logPath)}`);
    await sleep(250);
  }
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return { address, process: child, kill: () => end('SIGKILL'), stop: () => end('SIGTERM') };
}

function tailOf(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '(no log)';
  }
}

/** The search attributes docker-compose.yml hands its kvsweep-setup service. */
export function composeSearchAttributes(): string {
  const compose = parse(readFileSync(join(projectRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, { environment: Record<string, string> }> };
  return compose.services['kvsweep-setup']!.environment.KVSWEEP_SEARCH_ATTRIBUTES!;
}

/** docker/temporal/setup-kvsweep.sh, as docs/deployment.md runs it, with the provisioned CLI. */
export function setupKvsweep(address: string): Promise<string> {
  return run(['sh', join(TEMPORAL_DIR, 'setup-kvsweep.sh')], { PATH: process.env.PATH ?? '', TEMPORAL_CLI: temporalBinary(), TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: 'default', KVSWEEP_SEARCH_ATTRIBUTES: composeSearchAttributes(), KVSWEEP_SETUP_DELAY_SECONDS: '1' }, 'setup-kvsweep.sh');
}

export interface WebUi {
  url: string;
  stop: () => Promise<void>;
}

/** The Temporal Web UI server with its image's settings (config/docker.yaml, TEMPORAL_ADDRESS). */
export async function startWebUi(record: Provisioned, address: string, logPath: string): Promise<WebUi> {
  const port = await freePort();
  const child = spawn(record.temporal_ui.binary, ['--root', record.temporal_ui.root, '--env', 'docker', 'start'], {
    env: { PATH: process.env.PATH ?? '', TEMPORAL_ADDRESS: address, TEMPORAL_UI_PORT: String(port), TEMPORAL_DEFAULT_NAMESPACE: 'default', TEMPORAL_DISABLE_NEWS_FETCH: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(logPath, { flags: 'a' });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  while (!(await isListening(`127.0.0.1:${port}`, 500))) {
    if (child.exitCode !== null) throw new Error(`the Web UI server exited (${child.exitCode}); log ${logPath}:\n${tailOf(logPath)}`);
    if (Date.now() > deadline) throw new Error(`the Web UI server did not listen on ${port} in 60 s; log ${logPath}:\n${tailOf(logPath)}`);
    await sleep(250);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
