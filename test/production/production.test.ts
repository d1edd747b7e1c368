// The production path, as docs/deployment.md sets it up without Docker: a Temporal server (not the
// CLI's dev server) built from go.temporal.io/server, on PostgreSQL with its visibility store, the
// schema made by the server's own tool, kvsweep's search attributes registered by
// docker/temporal/setup-kvsweep.sh; three GPU worker hosts, each in its own network namespace
// (own loopback, own ports, the frontend reached over a bridge), and the control worker apart on
// the head node. A sweep of simulator experiments (a third at TP=2) runs through while one host
// loses power and comes back and the Temporal server is killed and restarted; then the Web UI
// server finds and filters the sweep through PostgreSQL visibility. Figures: docs/deployment.md.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import protos from '@temporalio/proto';
import { planSweep } from '../../config-files/load-sweep.ts';
import { expandSweep } from '../../domain/config/expand.ts';
import { GPU_POOL_WORKFLOW_ID, Queries, SearchAttributeTypes } from '../../domain/names.ts';
import { connectClient } from '../../platform/temporal.ts';
import type { PoolSnapshot } from '../../workflows/gpu-pool.ts';
import type { SweepResult } from '../../workflows/sweep.ts';
import { freePortRange } from '../support/ports.ts';
import { killMarkedProcesses, markedProcesses, runKvsweep, startWorker, type TestProcess } from '../support/processes.ts';
import { FAST_SIM_ARGS, writeSweepFile } from '../support/sweeps.ts';
import { createNetwork, killNamespace, listeningPorts, namespacePids, type HostNet, type TestNetwork } from './network.ts';
import { productionRoot, provisionProduction, serverEnv, setupKvsweep, setupSchema, startPostgres, startTemporalServer, type Postgres, type Provisioned, type TemporalServer } from './stack.ts';
import { checkSweepInWebUi } from './web-ui.ts';

/**
 * The workers' default. Heartbeats reach the server every 0.8 x this, so a Temporal server outage
 * or an overloaded machine can make a live host look lost; KVSWEEP_TEST_HEARTBEAT_TIMEOUT_S=4 (the
 * dev-server chaos test's value) makes that frequent, for the "nothing held" checks below.
 */
const HEARTBEAT_TIMEOUT_S = Number(process.env.KVSWEEP_TEST_HEARTBEAT_TIMEOUT_S ?? 15);
/** Every host offers its inference servers the same ports, as separate machines do. */
const HOST_PORT_BASE = 8000;

interface Host {
  hostId: string;
  gpus: number;
  net: HostNet;
  process: TestProcess | null;
}

/** The servers' logs, the sweep's files and the screenshots of the last run (kept until the next). */
const logs = join(productionRoot, 'last-run');
const gpuClass = `prod-${process.pid}`;
const tag = `prod${process.pid}`;
const sweepId = `sweep/${tag}/production`;
const figures: Record<string, unknown> = {};
let record: Provisioned;
let pg: Postgres | undefined;
let net: TestNetwork | undefined;
let env: Record<string, string>;
let server: TemporalServer | undefined;
let client: Client | undefined;
let control: TestProcess | undefined;
const hosts: Host[] = [];
let swept: { result: SweepResult; ids: string[] } | undefined;

async function startHost(host: Host): Promise<void> {
  host.process = await startWorker({ address: server!.address, hostId: host.hostId, gpus: host.gpus, gpuClass, portBase: HOST_PORT_BASE, heartbeatTimeoutS: HEARTBEAT_TIMEOUT_S, control: false, prefix: host.net.prefix });
}

beforeAll(async () => {
  const provisionStarted = performance.now();
  record = await provisionProduction();
  figures.provision_seconds = (performance.now() - provisionStarted) / 1000;
  figures.provision_steps = record.last_run.steps;
  const started = performance.now();
  rmSync(logs, { recursive: true, force: true });
  mkdirSync(logs, { recursive: true });
  pg = await startPostgres(record, logs);
  net = await createNetwork(3);
  env = await serverEnv(pg.port, net.headIp);
  const schema = await setupSchema(record, env);
  expect(schema).toContain('temporal-schema: database temporal_visibility is at the schema of postgresql/v12/visibility');
  expect(schema).toContain('temporal-schema: ready');
  server = await startTemporalServer(record, env, join(logs, 'temporal-server.log'));
  await setupKvsweep(server.address);
  client = await connectClient(server.address, 'default');
  // The head node: a worker with no GPUs that runs the sweep workflows (the control worker).
  control = await startWorker({ address: server.address, hostId: `head-${process.pid}`, gpus: 0, gpuClass, portBase: await freePortRange(200), heartbeatTimeoutS: HEARTBEAT_TIMEOUT_S });
  for (const [i, gpus] of [1, 2, 4].entries()) hosts.push({ hostId: `gpu-node-${i + 1}-${process.pid}`, gpus, net: net.hosts[i]!, process: null });
  await Promise.all(hosts.map(startHost));
  figures.setup_seconds = (performance.now() - started) / 1000;
}, 70 * 60_000);

afterAll(async () => {
  writeFileSync(join(logs, 'figures.json'), JSON.stringify({ at: new Date().toISOString(), ...figures }, null, 2) + '\n');
  console.log(`production figures: ${JSON.stringify(figures)}`);
  await Promise.all(hosts.map((h) => h.process?.kill('SIGTERM')));
  await control?.kill('SIGTERM');
  killMarkedProcesses(`-${process.pid}`);
  await client?.connection.close().catch(() => undefined);
  await server?.stop();
  await net?.remove();
  await pg?.stop();
}, 120_000);

/** Waits for a condition, polling; fails with what was awaited. */
async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}


describe('the production path: Temporal server on PostgreSQL, three worker hosts', { timeout: 20 * 60_000 }, () => {
  it('runs the server built from go.temporal.io/server on PostgreSQL, with kvsweep search attributes in its visibility store', async () => {
    const info = await client!.workflowService.getClusterInfo({});
    expect(info.serverVersion).toBe(record.temporal_server.version.replace(/^v/, ''));
    expect(info.persistenceStore).toBe('postgres12');
    expect(info.visibilityStore).toBe('postgres12');
    const { customAttributes } = await client!.connection.operatorService.listSearchAttributes({ namespace: 'default' });
    const { IndexedValueType } = protos.temporal.api.enums.v1;
    for (const [name, type] of Object.entries(SearchAttributeTypes)) {
      const expected = IndexedValueType[`INDEXED_VALUE_TYPE_${type.toUpperCase()}` as keyof typeof IndexedValueType];
      expect(customAttributes?.[name], name).toBe(expected);
    }
    // Both set-ups are safe to run again, as the guide promises: they change nothing.
    expect(await setupSchema(record, env)).toContain('temporal-schema: ready');
    expect(await setupKvsweep(server!.address)).toContain('namespace default exists');
  });

  it('a sweep (some TP=2) through three hosts, one losing power and the Temporal server killed: each experiment done once, nothing held', async () => {
    const dir = join(logs, 'sweep');
    const sizes = [0.001, 0.004, 0.016, 0.064, 0.256, 1];
    const yaml = writeSweepFile({
      tag,
      dir,
      gpuClass,
      cacheSizes: sizes,
      strategies: ['lru', 'conversation_aware'],
      maxAttempts: 20,
      extraDatasets: [{ path: 'chat-small.csv', name: 'tp2', model_name: 'sim-tp2', cache_sizes: sizes.slice(0, 3), request_rates: [10], cache_eviction_strategy: ['lru', 'conversation_aware'], server_extra_args: FAST_SIM_ARGS }],
    });
    const ids = expandSweep((await planSweep(yaml)).resolved).map((s) => s.id);
    expect(ids).toHaveLength(18);
    const sweepStarted = performance.now();
    const cli = { TEMPORAL_ADDRESS: server!.address, KVSWEEP_HOME: join(logs, 'home') };
    const started = await runKvsweep(['run', '--yaml', yaml, '--sweep-id', sweepId, '--detach'], cli);
    expect(started.code, started.output).toBe(0);
    const resultsDir = /Results: +(\S+)/.exec(started.output)?.[1];
    expect(resultsDir, started.output).toBeDefined();
    mkdirSync(resultsDir!, { recursive: true });
    const done = () => ids.filter((id) => existsSync(join(resultsDir!, id, 'outcome.json')));

    // A host loses power (every process in its namespace SIGKILLed) while it runs experiments.
    const victim = hosts[2]!;
    await until(`2 experiments finished and ${victim.hostId} busy`, () => done().length >= 2 && markedProcesses(victim.hostId).length > 0, 300_000);
    const killed = await killNamespace(victim.net.ns);
    figures.host_kill = { host: victim.hostId, processes: killed.length, after_done: done().length };
    await sleep(5_000);
    await startHost(victim);

    // Then the Temporal server is SIGKILLed and started again on the same databases.
    await until('half the experiments finished', () => done().length >= ids.length / 2, 600_000);
    figures.server_kill_after_done = done().length;
    await server!.kill();
    await sleep(3_000);
    const restartStarted = performance.now();
    server = await restartTemporalServer();
    figures.server_restart_seconds = (performance.now() - restartStarted) / 1000;

    const result = await sweepResult(client!);
    figures.sweep_seconds = (performance.now() - sweepStarted) / 1000;
    expect(result.counts).toMatchObject({ total: 18, succeeded: 18, failed: 0, cancelled: 0 });
    expect(result.results_dir).toBe(resultsDir);
    const attempts = assertExactlyOneSuccess(resultsDir!, ids);
    figures.extra_attempts = attempts.reduce((a, b) => a + b, 0) - ids.length;
    await assertNothingHeld(resultsDir!, ids);
    swept = { result, ids };
  });

  it('the Web UI server and visibility queries find the sweep and filter it by kvsweep search attributes (PostgreSQL visibility)', async () => {
    expect(swept, 'the sweep of the previous test').toBeDefined();
    const figures2 = await checkSweepInWebUi({ record, client: client!, address: server!.address, sweepId, tag, ids: swept!.ids, logDir: logs });
    figures.web_ui = figures2;
  });
});

/**
 * The Temporal server again on the same ports. One of them may still be taken for a moment (the
 * killed server's connections, or another test on this shared machine that drew it as free):
 * tried again a few times, as an operator or a service manager would.
 */
async function restartTemporalServer(): Promise<TemporalServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startTemporalServer(record, env, join(logs, 'temporal-server.log'));
    } catch (error) {
      if (attempt >= 5 || !/address already in use/.test(String(error))) throw error;
      figures.server_restart_retries = attempt;
      await sleep(3_000);
    }
  }
}

/** The sweep's result, across the server's restart (the connection comes back by itself). */
async function sweepResult(c: Client): Promise<SweepResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await c.workflow.getHandle(sweepId).result()) as SweepResult;
    } catch (error) {
      if (attempt >= 30 || !/UNAVAILABLE|ECONNREFUSED|connect|deadline/i.test(String(error))) throw error;
      await sleep(2_000);
    }
  }
}

/** Each experiment: exactly one succeeded attempt, recorded once, and in summary.json. */
function assertExactlyOneSuccess(resultsDir: string, ids: string[]): number[] {
  const attempts: number[] = [];
  for (const id of ids) {
    const outcome = JSON.parse(readFileSync(join(resultsDir, id, 'outcome.json'), 'utf8'));
    expect(outcome.status, id).toBe('succeeded');
    expect(outcome.attempts.filter((a: { result: string }) => a.result === 'succeeded'), id).toHaveLength(1);
    expect(outcome.attempts.at(-1).result, id).toBe('succeeded');
    attempts.push(outcome.attempts.length);
  }
  const summary = JSON.parse(readFileSync(join(resultsDir, 'summary.json'), 'utf8')) as Array<{ experiment_id: string; execution_success: boolean }>;
  expect(summary.map((e) => e.experiment_id).sort()).toEqual([...ids].sort());
  expect(summary.every((e) => e.execution_success)).toBe(true);
  return attempts;
}

/** pid, process key and command line of each process, for a failure message. */
function describeProcesses(pids: number[]): string {
  return pids.map((pid) => {
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
      const key = environ.find((v) => v.startsWith('KVSWEEP_PROCESS_KEY=')) ?? 'no key';
      return `${pid} ${key} ${readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ')}`;
    } catch {
      return `${pid} (gone)`;
    }
  }).join('; ');
}

/** No inference server, client or lease of any host left; nothing listens on any host but nothing. */
async function assertNothingHeld(resultsDir: string, ids: string[]): Promise<void> {
  // An experiment ends when its result is recorded; its teardown may take a few seconds more.
  await until('the last teardowns', () => hosts.every((h) => markedProcesses(h.hostId).length === 0), 30_000).catch(() => undefined);
  const used = new Set<number>();
  for (const id of ids) {
    const outcome = JSON.parse(readFileSync(join(resultsDir, id, 'outcome.json'), 'utf8')) as { attempts: Array<{ port: number | null }> };
    for (const attempt of outcome.attempts) if (attempt.port !== null) used.add(attempt.port);
  }
  expect(used.size).toBeGreaterThan(0);
  for (const host of hosts) {
    expect(markedProcesses(host.hostId), `${host.hostId}: ${describeProcesses(markedProcesses(host.hostId))}`).toEqual([]);
    // The only process left on a host is its worker, and it listens on no port.
    expect(namespacePids(host.net.ns), host.hostId).toEqual([host.process!.child.pid]);
    expect(await listeningPorts(host.net), host.hostId).toEqual([]);
  }
  const pool = await client!.workflow.getHandle(GPU_POOL_WORKFLOW_ID).query<PoolSnapshot>(Queries.pool);
  const ours = new Set(hosts.map((h) => h.hostId));
  expect(pool.leases.filter((l) => ours.has(l.host_id))).toEqual([]);
  figures.ports_used = [...used].sort((a, b) => a - b);
}
