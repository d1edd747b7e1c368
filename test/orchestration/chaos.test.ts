// Chaos: 30 short simulator experiments (a third need TP=2) on three worker processes acting as
// hosts with 1, 2 and 4 GPUs; a driver SIGKILLs a random worker every 10-20 s and restarts it 1-6 s
// later (before or after its heartbeat timeout). And the Temporal dev server itself killed and
// restarted mid-sweep on its SQLite file. Every experiment must end with exactly one successful
// result, nothing left running or held.
// The driver's choices come from a seed, printed with every run and in every failure: rerun one
// with KVSWEEP_CHAOS_SEED=<seed> npx vitest run test/orchestration/chaos.test.ts (timings still vary).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { isPortFree } from '../../activities/ports.ts';
import { startDevServer } from '../../client/dev-server.ts';
import { connectClient } from '../../platform/temporal.ts';
import { expandSweep } from '../../domain/config/expand.ts';
import { planSweep } from '../../config-files/load-sweep.ts';
import { CONTROL_TASK_QUEUE, GPU_POOL_WORKFLOW_ID, Queries, WorkflowTypes } from '../../domain/names.ts';
import type { PoolSnapshot } from '../../workflows/gpu-pool.ts';
import type { SweepResult } from '../../workflows/sweep.ts';
import { freePort, freePortRange } from '../support/ports.ts';
import { killMarkedProcesses, markedProcesses, startWorker, type TestProcess } from '../support/processes.ts';
import { FAST_SIM_ARGS, writeSweepFile } from '../support/sweeps.ts';
import { useTemporal, type TestTemporal } from '../support/temporal.ts';

const HEARTBEAT_TIMEOUT_S = 4;
const SEED = Number(process.env.KVSWEEP_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const RERUN = `chaos seed ${SEED}: rerun with KVSWEEP_CHAOS_SEED=${SEED} npx vitest run test/orchestration/chaos.test.ts`;

/** mulberry32: a small seeded generator of numbers in [0, 1), so a seed replays the driver's choices. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  killMarkedProcesses(`-${process.pid}`);
});

interface Host {
  hostId: string;
  gpus: number;
  portBase: number;
  process: TestProcess | null;
}

async function startSweep(client: Client, yaml: string, sweepId: string) {
  const { resolved } = await planSweep(yaml);
  const resultsDir = join(resolved.log_base_dir, 'results');
  const handle = await client.workflow.start(WorkflowTypes.sweep, { workflowId: sweepId, taskQueue: CONTROL_TASK_QUEUE, args: [{ resolved, results_dir: resultsDir }] });
  return { handle, resultsDir, ids: expandSweep(resolved).map((s) => s.id) };
}

/** Each experiment: exactly one succeeded attempt, recorded once. */
function assertExactlyOneSuccess(resultsDir: string, ids: string[]) {
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

/** No process, lease or port of these hosts is still held (ports: those the experiments used). */
async function assertNothingHeld(client: Client, hosts: Host[], resultsDir: string, ids: string[]) {
  for (const host of hosts) expect(markedProcesses(host.hostId), host.hostId).toEqual([]);
  const pool = await client.workflow.getHandle(GPU_POOL_WORKFLOW_ID).query<PoolSnapshot>(Queries.pool);
  const ours = new Set(hosts.map((h) => h.hostId));
  expect(pool.leases.filter((l) => ours.has(l.host_id))).toEqual([]);
  const ports = new Set<number>();
  for (const id of ids) {
    const outcome = JSON.parse(readFileSync(join(resultsDir, id, 'outcome.json'), 'utf8')) as { attempts: Array<{ port: number | null }> };
    for (const attempt of outcome.attempts) if (attempt.port !== null) ports.add(attempt.port);
  }
  expect(ports.size).toBeGreaterThan(0);
  for (const port of ports) expect(await isPortFree(port), `port ${port}`).toBe(true);
}

describe('chaos', { timeout: 420_000 }, () => {
  it('30 experiments on hosts with 1, 2 and 4 GPUs, one killed every 10-20 s: 30/30 once each, nothing left', async ({ onTestFailed }) => {
    console.log(RERUN);
    onTestFailed(() => console.error(RERUN));
    const temporal: TestTemporal = await useTemporal();
    cleanups.push(() => temporal.close());
    const gpuClass = `chaos-${process.pid}`;
    const hosts: Host[] = [];
    for (const gpus of [1, 2, 4]) hosts.push({ hostId: `chaos-${gpus}gpu-${process.pid}`, gpus, portBase: await freePortRange(200), process: null });
    const start = async (host: Host) => {
      host.process = await startWorker({ address: temporal.address, hostId: host.hostId, gpus: host.gpus, gpuClass, portBase: host.portBase, heartbeatTimeoutS: HEARTBEAT_TIMEOUT_S });
    };
    await Promise.all(hosts.map(start));
    cleanups.push(async () => void (await Promise.all(hosts.map((h) => h.process?.kill('SIGTERM')))));

    const dir = mkdtempSync(join(tmpdir(), 'kvsweep-chaos-'));
    const sizes = [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512];
    const yaml = writeSweepFile({
      tag: 'chaos',
      dir,
      gpuClass,
      cacheSizes: sizes,
      strategies: ['lru', 'conversation_aware'],
      maxAttempts: 20,
      extraDatasets: [{ path: 'chat-small.csv', name: 'tp2', model_name: 'sim-tp2', cache_sizes: sizes.slice(0, 5), request_rates: [10], cache_eviction_strategy: ['lru', 'conversation_aware'], server_extra_args: FAST_SIM_ARGS }],
    });
    const { handle, resultsDir, ids } = await startSweep(temporal.client, yaml, `sweep/chaos/${Date.now()}`);
    expect(ids).toHaveLength(30);

    const random = seededRandom(SEED);
    const sweepDone = new AbortController();
    const kills: string[] = [];
    const driver = (async () => {
      // Each round: 10-20 s of calm (cut short when the sweep ends), then one host SIGKILLed and
      // left down for 1-6 s, shorter or longer than its heartbeat timeout, then restarted (its
      // new worker stops what the killed one left running).
      while (await sleep(10_000 + random() * 10_000, true, { signal: sweepDone.signal }).catch(() => false)) {
        const victim = hosts[Math.floor(random() * hosts.length)]!;
        const downMs = 1_000 + random() * 5_000;
        await victim.process!.kill('SIGKILL');
        kills.push(`${victim.hostId} for ${(downMs / 1000).toFixed(1)} s`);
        await sleep(downMs);
        await start(victim);
      }
    })();
    const started = Date.now();
    const result = (await handle.result()) as SweepResult;
    sweepDone.abort();
    await driver;
    const attempts = assertExactlyOneSuccess(resultsDir, ids);
    console.log(`chaos (seed ${SEED}): ${result.counts.succeeded}/30 in ${Math.round((Date.now() - started) / 1000)} s, ${kills.length} kills (${kills.join(', ')}), ${attempts.reduce((a, b) => a + b, 0) - 30} extra attempts`);
    expect(result.counts).toMatchObject({ total: 30, succeeded: 30, failed: 0, cancelled: 0 });
    expect(kills.length).toBeGreaterThan(0);
    // Teardown of the last experiments finishes before their release reaches the pool.
    for (let i = 0; i < 100 && hosts.some((h) => markedProcesses(h.hostId).length > 0); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    await assertNothingHeld(temporal.client, hosts, resultsDir, ids);
  });

  it('the Temporal dev server killed and restarted mid-sweep on its SQLite file: nothing lost or duplicated', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const dir = mkdtempSync(join(tmpdir(), 'kvsweep-restart-'));
    const serverOptions = { address, dbFile: join(dir, 'temporal.db'), uiPort: null, logPath: join(dir, 'temporal.log') };
    let server = await startDevServer(serverOptions);
    cleanups.push(() => server.stop());
    const client = await connectClient(address, 'default');
    cleanups.push(() => client.connection.close());
    const gpuClass = `restart-${process.pid}`;
    const host: Host = { hostId: `restart-${process.pid}`, gpus: 2, portBase: await freePortRange(200), process: null };
    host.process = await startWorker({ address, hostId: host.hostId, gpus: host.gpus, gpuClass, portBase: host.portBase, heartbeatTimeoutS: 10 });
    cleanups.push(async () => void (await host.process?.kill('SIGTERM')));
    const yaml = writeSweepFile({ tag: 'restart', dir, gpuClass, cacheSizes: [0.001, 0.004, 0.016, 0.064, 0.256, 1], rates: [5], maxAttempts: 5 });
    const { handle, resultsDir, ids } = await startSweep(client, yaml, `sweep/restart/${Date.now()}`);
    // Kill the server while experiments run, once the first ones have finished.
    for (let i = 0; i < 1200; i++) {
      const finished = ids.filter((id) => { try { readFileSync(join(resultsDir, id, 'outcome.json')); return true; } catch { return false; } });
      if (finished.length >= 2 && markedProcesses(host.hostId).length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    server.process.kill('SIGKILL');
    await new Promise((resolve) => server.process.once('exit', resolve));
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    server = await startDevServer(serverOptions);
    const result = (await handle.result()) as SweepResult;
    expect(result.counts).toMatchObject({ total: 6, succeeded: 6, failed: 0 });
    assertExactlyOneSuccess(resultsDir, ids);
    for (let i = 0; i < 100 && markedProcesses(host.hostId).length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    await assertNothingHeld(client, [host], resultsDir, ids);
  });
});
