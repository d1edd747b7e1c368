// An experiment of the offline environment has no server: given to the experiment workflow (or
// to a host's startServer), it fails at once with a clear, non-retryable error, before it asks
// the GPU pool for anything. The offline runner is what runs these.
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planSweepObject } from '../../config-files/load-sweep.ts';
import { createHostActivities } from '../../activities/host.ts';
import type { HostProcesses } from '../../activities/host-processes.ts';
import type { ExperimentSpec } from '../../domain/experiment.ts';
import { WorkflowTypes } from '../../domain/names.ts';
import { workflowBundlePath } from '../../workers/workflow-bundle.ts';
import { SMALL_TRACE } from '../support/sweeps.ts';
import { useTemporal, type TestTemporal } from '../support/temporal.ts';

Runtime.install({ logger: new DefaultLogger('WARN') });

let temporal: TestTemporal;
let spec: ExperimentSpec;
beforeAll(async () => {
  temporal = await useTemporal();
  const planned = await planSweepObject(
    { model_name: 'qwen-8b', experiments: { datasets: [{ path: SMALL_TRACE, cache_sizes: [1], request_rates: [1], cache_eviction_strategy: 'oracle' }] } },
    { env: 'offline', userConfigDir: null, variables: {} },
  );
  spec = planned.experiments[0]!;
}, 120_000);
afterAll(async () => {
  await temporal?.close();
});

describe('an offline experiment on the server path', { timeout: 180_000 }, () => {
  it('fails the experiment workflow with OfflineExperiment, naming the offline runner', async () => {
    expect(spec.server).toBeNull();
    const taskQueue = `offline-guard-${process.pid}`;
    const connection = await NativeConnection.connect({ address: temporal.address });
    const worker = await Worker.create({ connection, taskQueue, workflowBundle: { codePath: await workflowBundlePath() } });
    const results = mkdtempSync(join(tmpdir(), 'kvsweep-offline-guard-'));
    const error = await worker.runUntil(
      temporal.client.workflow
        .execute(WorkflowTypes.experiment, { taskQueue, workflowId: `offline-guard/${Date.now()}`, args: [{ spec, sweep_id: 'offline-guard', results_dir: results }] })
        .catch((e: unknown) => e),
    );
    await connection.close();
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe('OfflineExperiment');
    expect((cause as ApplicationFailure).nonRetryable).toBe(true);
    expect((cause as ApplicationFailure).message).toBe(`${spec.id}: offline experiments run in the offline runner (kvsweep simulate), not on a server`);
  });

  it("a host's startServer refuses it before touching a process or a port", async () => {
    const host = createHostActivities({
      hostId: 'h',
      incarnation: 'i',
      processes: {} as HostProcesses, // never reached
      portBase: 1,
      portCount: 1,
      kvsweepArgv: [],
      teardownGraceMs: 1,
    });
    const error = await host.startServer({ spec, sweep_id: 's', results_dir: '/nonexistent', attempt: 1, gpu_ids: ['0'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect((error as ApplicationFailure).type).toBe('OfflineExperiment');
  });
});
