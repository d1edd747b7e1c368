// Resume: `kvsweep resume ID` and `run` with the same sweep id rerun the failed and unfinished
// experiments and never one that succeeded; also against a Temporal server that has never heard
// of the sweep (retention removed it): the results folder is the record.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandSweep } from '../../domain/config/expand.ts';
import { planSweep } from '../../config-files/load-sweep.ts';
import { CONTROL_TASK_QUEUE, GPU_POOL_WORKFLOW_ID, Queries, Signals, WorkflowTypes, leaseRequestId } from '../../domain/names.ts';
import { configurationOf, type ExperimentOutcome } from '../../domain/outcome.ts';
import { FAST_SIM_ARGS, SMALL_TRACE, writeSweepFile } from '../support/sweeps.ts';
import { markedKeys, markedProcesses, runKvsweep, startWorker } from '../support/processes.ts';
import { freePortRange } from '../support/ports.ts';
import type { SweepResult } from '../../workflows/sweep.ts';
import type { PoolSnapshot } from '../../workflows/gpu-pool.ts';
import { useTemporal, type TestTemporal } from '../support/temporal.ts';

let temporal: TestTemporal;
beforeAll(async () => {
  temporal = await useTemporal();
});
afterAll(async () => {
  await temporal?.close();
});

const outcomeOf = (resultsDir: string, id: string) => JSON.parse(readFileSync(join(resultsDir, id, 'outcome.json'), 'utf8')) as ExperimentOutcome;

describe('resume', { timeout: 300_000 }, () => {
  it('reruns only what did not succeed, from Temporal and then from the results folder alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvsweep-resume-'));
    copyFileSync(SMALL_TRACE, join(dir, 'flaky.csv'));
    const yaml = writeSweepFile({
      tag: 'resume',
      dir,
      cacheSizes: [0.001, 0.05],
      extraDatasets: [{ path: 'flaky.csv', cache_sizes: [0.01], request_rates: [10], server_extra_args: FAST_SIM_ARGS }],
    });
    const { resolved } = await planSweep(yaml);
    const ids = expandSweep(resolved).map((s) => s.id);
    const flaky = ids.find((id) => id.includes('flaky'))!;
    const steady = ids.filter((id) => id !== flaky);
    const resultsDir = join(dir, 'results');
    const sweepId = `sweep/resume/${Date.now()}`;
    const localHost = `resume-local-${process.pid}`;
    const env = { TEMPORAL_ADDRESS: temporal.address, KVSWEEP_HOME: join(dir, 'home'), KVSWEEP_LOCAL_HOST_ID: localHost };

    // First run: the flaky trace has gone missing (a storage hiccup), so that experiment fails.
    renameSync(join(dir, 'flaky.csv'), join(dir, 'flaky.csv.away'));
    await temporal.client.workflow.start(WorkflowTypes.sweep, { workflowId: sweepId, taskQueue: CONTROL_TASK_QUEUE, args: [{ resolved, results_dir: resultsDir }] });
    const first = await runKvsweep(['resume', sweepId, '--gpus', '2'], env);
    expect(first.code, first.output).toBe(1);
    expect(first.output).toMatch(/Successful:\s+2/);
    expect(outcomeOf(resultsDir, flaky).status).toBe('failed');
    const steadyBefore = steady.map((id) => ({ id, outcome: outcomeOf(resultsDir, id), log: statSync(join(resultsDir, id, 'server.log')).mtimeMs }));

    // The file is back: resume (found in Temporal) reruns the failed one only.
    renameSync(join(dir, 'flaky.csv.away'), join(dir, 'flaky.csv'));
    const second = await runKvsweep(['resume', sweepId, '--gpus', '2'], env);
    expect(second.code, second.output).toBe(0);
    expect(second.output).toMatch(/Successful:\s+3/);
    expect(outcomeOf(resultsDir, flaky)).toMatchObject({ status: 'succeeded' });
    for (const { id, outcome, log } of steadyBefore) {
      expect(outcomeOf(resultsDir, id)).toEqual(outcome);
      expect(statSync(join(resultsDir, id, 'server.log')).mtimeMs).toBe(log);
    }

    // A Temporal server that never heard of this sweep: resume from the results folder runs nothing.
    const fresh = await useTemporal({ dbFile: join(dir, 'fresh.db') });
    try {
      const before = ids.map((id) => outcomeOf(resultsDir, id));
      const third = await runKvsweep(['resume', resultsDir, '--gpus', '2'], { ...env, TEMPORAL_ADDRESS: fresh.address });
      expect(third.code, third.output).toBe(0);
      expect(third.output).toMatch(/Successful:\s+3/);
      expect(ids.map((id) => outcomeOf(resultsDir, id))).toEqual(before);
      const summary = JSON.parse(readFileSync(join(resultsDir, 'summary.json'), 'utf8')) as unknown[];
      expect(summary).toHaveLength(3);
    } finally {
      await fresh.close();
    }

    // `run` with the same sweep id is a resume too: nothing left to run.
    const again = await runKvsweep(['run', '--yaml', yaml, '--sweep-id', sweepId, '--gpus', '1'], env);
    expect(again.output).toMatch(/Successful:\s+3/);
    expect(markedProcesses(localHost)).toEqual([]);
  });
});

describe('children that end without reporting', { timeout: 300_000 }, () => {
  it('a child an earlier run started, terminated by hand while it holds GPUs: its lease and server are reclaimed, the sweep finishes', async () => {
    const gpuClass = `unreported-${process.pid}`;
    const hostId = `unreported-${process.pid}`;
    const worker = await startWorker({ address: temporal.address, hostId, gpus: 1, gpuClass, portBase: await freePortRange(200) });
    try {
      const dir = mkdtempSync(join(tmpdir(), 'kvsweep-unreported-'));
      const yaml = writeSweepFile({ tag: 'unreported', dir, gpuClass, cacheSizes: [0.001, 0.05], rates: [2] });
      const { resolved } = await planSweep(yaml);
      const ids = expandSweep(resolved).map((s) => s.id);
      const resultsDir = join(dir, 'results');
      const sweepId = `sweep/unreported/${Date.now()}`;
      const input = { resolved, results_dir: resultsDir, reconcile_interval_s: 1 };
      const start = () => temporal.client.workflow.start(WorkflowTypes.sweep, { workflowId: sweepId, taskQueue: CONTROL_TASK_QUEUE, args: [input] });
      // The first run starts both children (one GPU: one runs, one waits), then goes away.
      await start();
      for (let i = 0; i < 300 && markedKeys(hostId).length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
      const holder = ids.find((id) => markedKeys(hostId).some((key) => key.includes(`/${id}#`)))!;
      const other = ids.find((id) => id !== holder)!;
      await temporal.client.workflow.getHandle(sweepId).terminate('test: the sweep run goes away, its children stay');
      // A new run finds both children running (its two starts are refused), and watches neither itself.
      const resumed = await start();
      const startsRefused = async () => (await resumed.fetchHistory()).events!.filter((e) => e.startChildWorkflowExecutionFailedEventAttributes).length;
      for (let i = 0; i < 300 && (await startsRefused()) < 2; i++) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await startsRefused()).toBe(2);
      // The child holding the GPU is terminated by hand: it never releases its lease nor stops its server.
      await temporal.client.workflow.getHandle(`${sweepId}/${holder}`).terminate('test: terminated by hand');
      const result = (await resumed.result()) as SweepResult;
      expect(result.counts).toMatchObject({ total: 2, succeeded: 1, failed: 1, pending: 0 });
      expect(outcomeOf(resultsDir, other).status).toBe('succeeded');
      // The record says what happened, so a resume would run it again.
      expect(outcomeOf(resultsDir, holder)).toMatchObject({ status: 'failed', error: expect.stringContaining('ended without reporting (TERMINATED)') });
      expect(markedKeys(hostId).filter((key) => key.includes(`/${holder}#`))).toEqual([]);
    } finally {
      await worker.kill('SIGTERM');
    }
  });
});

describe('an experiment that finds its success on disk', { timeout: 120_000 }, () => {
  it('does not run again, and withdraws the first lease its sweep asked the pool for', async () => {
    const hostId = `done-${process.pid}`;
    // No host has the experiment's class: the sweep's request for it stays waiting in the pool.
    const worker = await startWorker({ address: temporal.address, hostId, gpus: 1, gpuClass: `other-${process.pid}`, portBase: await freePortRange(200) });
    try {
      const dir = mkdtempSync(join(tmpdir(), 'kvsweep-done-'));
      const { resolved } = await planSweep(writeSweepFile({ tag: 'done', dir, gpuClass: `nobody-${process.pid}`, cacheSizes: [0.001] }));
      const spec = expandSweep(resolved)[0]!;
      const resultsDir = join(dir, 'results');
      mkdirSync(join(resultsDir, spec.id), { recursive: true });
      const done: ExperimentOutcome = {
        experiment_id: spec.id, sweep_id: 'done', timestamp: new Date().toISOString(), status: 'succeeded', execution_success: true,
        execution_time_seconds: 1, queued_seconds: 0, configuration: configurationOf(spec), benchmark_results: { completed: 1 },
        cache_statistics: {}, attempts: [], error: null, results_path: join(resultsDir, spec.id),
      };
      writeFileSync(join(resultsDir, spec.id, 'outcome.json'), JSON.stringify(done));
      const workflowId = `done-${Date.now()}/${spec.id}`;
      const requestId = leaseRequestId(workflowId, 1);
      const waiting = async () => (await temporal.client.workflow.getHandle(GPU_POOL_WORKFLOW_ID).query<PoolSnapshot>(Queries.pool)).waiting.map((r) => r.request_id);
      // What the sweep does when it starts a child: ask for its first lease.
      await temporal.client.workflow.signalWithStart(WorkflowTypes.gpuPool, {
        workflowId: GPU_POOL_WORKFLOW_ID, taskQueue: CONTROL_TASK_QUEUE, args: [{}], signal: Signals.requestLeases,
        signalArgs: [[{ request_id: requestId, holder: workflowId, gpu_count: 1, gpu_class: spec.gpu_class }]],
      });
      for (let i = 0; i < 100 && !(await waiting()).includes(requestId); i++) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await waiting()).toContain(requestId);
      const outcome = (await temporal.client.workflow.execute(WorkflowTypes.experiment, {
        workflowId, taskQueue: CONTROL_TASK_QUEUE, args: [{ spec, sweep_id: 'done', results_dir: resultsDir, first_lease_requested: true }],
      })) as ExperimentOutcome;
      expect(outcome).toMatchObject({ status: 'succeeded', execution_time_seconds: 1 });
      for (let i = 0; i < 100 && (await waiting()).includes(requestId); i++) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await waiting()).not.toContain(requestId);
      expect(markedKeys(hostId)).toEqual([]);
    } finally {
      await worker.kill('SIGTERM');
    }
  });
});
