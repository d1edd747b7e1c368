// Host loss and orphans, with real worker processes killed by SIGKILL: the experiment moves to
// another host within the heartbeat timeout + 5 s, and a restarted worker first stops what its
// predecessor left running.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expandSweep } from '../../domain/config/expand.ts';
import { planSweep } from '../../config-files/load-sweep.ts';
import { CONTROL_TASK_QUEUE, WorkflowTypes } from '../../domain/names.ts';
import type { SweepResult } from '../../workflows/sweep.ts';
import { freePortRange } from '../support/ports.ts';
import { killMarkedProcesses, markedProcesses, startWorker, type TestProcess } from '../support/processes.ts';
import { writeSweepFile } from '../support/sweeps.ts';
import { useTemporal, type TestTemporal } from '../support/temporal.ts';

let temporal: TestTemporal;
const workers: TestProcess[] = [];
const HEARTBEAT_TIMEOUT_S = 4;

beforeAll(async () => {
  temporal = await useTemporal();
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.kill('SIGTERM')));
});
afterAll(async () => {
  // Whatever a failed test left running on its hosts.
  killMarkedProcesses(`-${process.pid}`);
  await temporal?.close();
});

async function startSweep(yaml: string, sweepId: string) {
  const { resolved } = await planSweep(yaml);
  const resultsDir = join(resolved.log_base_dir, 'results');
  const handle = await temporal.client.workflow.start(WorkflowTypes.sweep, {
    workflowId: sweepId,
    taskQueue: CONTROL_TASK_QUEUE,
    args: [{ resolved, results_dir: resultsDir }],
  });
  return { handle, resultsDir, ids: expandSweep(resolved).map((s) => s.id) };
}

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Date.now() - started;
}

describe('host loss', { timeout: 180_000 }, () => {
  it('restarts the experiment of a killed host on another host within heartbeat timeout + 5 s', async () => {
    const gpuClass = `loss-${process.pid}`;
    const [a, b] = [`loss-a-${process.pid}`, `loss-b-${process.pid}`];
    const options = { address: temporal.address, gpus: 1, gpuClass, heartbeatTimeoutS: HEARTBEAT_TIMEOUT_S };
    workers.push(await startWorker({ ...options, hostId: a, portBase: await freePortRange(200) }));
    workers.push(await startWorker({ ...options, hostId: b, portBase: await freePortRange(200) }));
    const dir = mkdtempSync(join(tmpdir(), 'kvsweep-loss-'));
    // Replay at the trace's own pace so the first attempt is still running when its host dies; a
    // 10 s time limit ends the attempt that follows (a time-limited replay succeeds).
    const yaml = writeSweepFile({ tag: 'loss', dir, gpuClass, rates: [1], maxAttempts: 3, timeLimit: 10 });
    const { handle, resultsDir, ids } = await startSweep(yaml, `sweep/loss/${Date.now()}`);
    await waitFor(() => markedProcesses(a).length + markedProcesses(b).length >= 2, 60_000, 'a server and its client');
    const [victim, survivor] = markedProcesses(a).length > 0 ? [0, b] : [1, a];
    await workers[victim]!.kill('SIGKILL');
    const recoveryMs = await waitFor(() => markedProcesses(survivor).length >= 1, 30_000, 'the experiment on the other host');
    console.log(`host loss: experiment running again on ${survivor} ${recoveryMs} ms after the SIGKILL (heartbeat timeout ${HEARTBEAT_TIMEOUT_S} s)`);
    expect(recoveryMs).toBeLessThan((HEARTBEAT_TIMEOUT_S + 5) * 1000);
    const result = (await handle.result()) as SweepResult;
    expect(result.counts.succeeded).toBe(1);
    const outcome = JSON.parse(readFileSync(join(resultsDir, ids[0]!, 'outcome.json'), 'utf8'));
    expect(outcome.attempts.map((x: { result: string }) => x.result)).toEqual(['host_lost', 'succeeded']);
    expect(outcome.attempts[1].host_id).toBe(survivor);
    // The dead host's server outlived its worker; the host's next worker stops it first thing.
    const victimHost = survivor === b ? a : b;
    expect(markedProcesses(victimHost).length).toBeGreaterThan(0);
    workers.push(await startWorker({ ...options, hostId: victimHost, portBase: await freePortRange(200) }));
    expect(markedProcesses(victimHost)).toEqual([]);
  });
});

describe('orphans', { timeout: 180_000 }, () => {
  it('a restarted worker stops the servers its killed predecessor left, then runs the experiment again', async () => {
    const gpuClass = `orphan-${process.pid}`;
    const hostId = `orphan-${process.pid}`;
    const portBase = await freePortRange(200);
    workers.push(await startWorker({ address: temporal.address, hostId, gpus: 1, gpuClass, portBase, heartbeatTimeoutS: HEARTBEAT_TIMEOUT_S }));
    const dir = mkdtempSync(join(tmpdir(), 'kvsweep-orphan-'));
    const yaml = writeSweepFile({ tag: 'orphan', dir, gpuClass, rates: [1], maxAttempts: 3, timeLimit: 10 });
    const { handle, resultsDir, ids } = await startSweep(yaml, `sweep/orphan/${Date.now()}`);
    await waitFor(() => markedProcesses(hostId).length >= 2, 60_000, 'a server and its client');
    const orphans = markedProcesses(hostId);
    await workers.pop()!.kill('SIGKILL');
    // The server and client outlive their worker: they write to their log files, not to its pipes.
    expect(markedProcesses(hostId).filter((pid) => orphans.includes(pid)).length).toBe(orphans.length);
    const restarted = await startWorker({ address: temporal.address, hostId, gpus: 1, gpuClass, portBase, heartbeatTimeoutS: HEARTBEAT_TIMEOUT_S });
    workers.push(restarted);
    expect(restarted.output()).toMatch(/stopped process group \d+ .* left by an earlier worker/);
    expect(markedProcesses(hostId).filter((pid) => orphans.includes(pid))).toEqual([]);
    const result = (await handle.result()) as SweepResult;
    expect(result.counts.succeeded).toBe(1);
    const outcome = JSON.parse(readFileSync(join(resultsDir, ids[0]!, 'outcome.json'), 'utf8'));
    expect(outcome.attempts.map((x: { result: string }) => x.result)).toEqual(['host_lost', 'succeeded']);
    await waitFor(() => markedProcesses(hostId).length === 0, 15_000, 'teardown');
  });
});
