// A host that stops answering an experiment but is alive: its worker keeps heartbeating the pool's
// watcher, while one step of the experiment hangs without heartbeats (a wedged step). The experiment
// infers the host lost and retries; the server of the lost attempt still runs on that host's GPU.
// The pool must not give that GPU to the next attempt until the host has stopped that server.
// Real Temporal, real workflows, real host activities and simulator processes; the one fault is
// the hang of attempt 1's readiness step.
import { Context } from '@temporalio/activity';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createControlActivities } from '../../activities/control.ts';
import { createHostActivities } from '../../activities/host.ts';
import { HostProcesses } from '../../activities/host-processes.ts';
import { planSweep } from '../../config-files/load-sweep.ts';
import { expandSweep } from '../../domain/config/expand.ts';
import { CONTROL_TASK_QUEUE, GPU_POOL_WORKFLOW_ID, Queries, Signals, WorkflowTypes, experimentWorkflowId, hostTaskQueue, leaseRequestId } from '../../domain/names.ts';
import type { HostRegistration } from '../../domain/placement.ts';
import type { ExperimentOutcome } from '../../domain/outcome.ts';
import { kvsweepArgv } from '../../platform/paths.ts';
import { workflowBundlePath } from '../../workers/workflow-bundle.ts';
import type { PoolSnapshot } from '../../workflows/gpu-pool.ts';
import { freePortRange } from '../support/ports.ts';
import { killMarkedProcesses, markedKeys } from '../support/processes.ts';
import { writeSweepFile } from '../support/sweeps.ts';
import { useTemporal, type TestTemporal } from '../support/temporal.ts';

// Workers log each state change at INFO: only warnings and errors are worth reading here.
Runtime.install({ logger: new DefaultLogger('WARN') });

const HEARTBEAT_TIMEOUT_S = 3;
let temporal: TestTemporal;

beforeAll(async () => {
  temporal = await useTemporal();
});
afterAll(async () => {
  killMarkedProcesses(`-${process.pid}`);
  await temporal?.close();
});

describe('a host that stops answering but is alive', { timeout: 180_000 }, () => {
  it("keeps the lost attempt's GPU booked until the host has stopped its server; the retry then runs there", async () => {
    const hostId = `silent-${process.pid}`;
    const gpuClass = `silent-${process.pid}`;
    const dir = mkdtempSync(join(tmpdir(), 'kvsweep-silent-'));
    const { resolved } = await planSweep(writeSweepFile({ tag: 'silent', dir, gpuClass, maxAttempts: 2, rates: [10] }));
    const [spec] = expandSweep(resolved);
    const sweepId = `sweep/silent/${randomUUID()}`;
    const first = leaseRequestId(experimentWorkflowId(sweepId, spec!.id), 1);
    const second = leaseRequestId(experimentWorkflowId(sweepId, spec!.id), 2);

    const connection = await NativeConnection.connect({ address: temporal.address });
    const control = await Worker.create({
      connection,
      taskQueue: CONTROL_TASK_QUEUE,
      workflowBundle: { codePath: await workflowBundlePath() },
      activities: createControlActivities({ cwd: dir }),
      stickyQueueScheduleToStartTimeout: '2 seconds',
    });
    const processes = new HostProcesses(hostId);
    const incarnation = randomUUID();
    const real = createHostActivities({ hostId, incarnation, processes, portBase: await freePortRange(50), portCount: 50, kvsweepArgv, teardownGraceMs: 2_000 });
    // The fault: attempt 1's readiness step hangs without a heartbeat (until the worker shuts down).
    const awaitServerReady: typeof real.awaitServerReady = async (input) => {
      if (input.server.key !== first) return real.awaitServerReady(input);
      const signal = Context.current().cancellationSignal;
      await new Promise((resolve) => signal.addEventListener('abort', resolve));
      throw new Error('cancelled');
    };
    const host = await Worker.create({
      connection,
      taskQueue: hostTaskQueue(hostId),
      activities: { ...real, awaitServerReady },
      maxHeartbeatThrottleInterval: '1 second',
      defaultHeartbeatThrottleInterval: '1 second',
      shutdownGraceTime: '1 second',
    });
    const registration: HostRegistration = { host_id: hostId, incarnation, gpu_class: gpuClass, gpu_ids: ['0'], task_queue: hostTaskQueue(hostId), heartbeat_timeout_s: HEARTBEAT_TIMEOUT_S };

    // Which lease keys run on the host, sampled every 50 ms, with the pool's view of GPU 0 then.
    const samples: Array<{ keys: string[]; gpuFree: boolean; ms: number }> = [];
    let sampling = true;
    const pool = temporal.client.workflow.getHandle(GPU_POOL_WORKFLOW_ID);
    const sampler = (async () => {
      while (sampling) {
        const keys = markedKeys(hostId);
        const snapshot = await pool.query<PoolSnapshot>(Queries.pool).catch(() => undefined);
        const me = snapshot?.hosts.find((h) => h.host_id === hostId);
        if (me) samples.push({ keys, gpuFree: me.free_gpu_ids.includes('0'), ms: Date.now() });
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();

    const running = Promise.all([control.run(), host.run()]);
    try {
      await temporal.client.workflow.signalWithStart(WorkflowTypes.gpuPool, {
        workflowId: GPU_POOL_WORKFLOW_ID,
        taskQueue: CONTROL_TASK_QUEUE,
        args: [{}],
        signal: Signals.registerHost,
        signalArgs: [registration],
      });
      // The experiment alone (as its sweep would start it): a sweep's summary and report add nothing here.
      const resultsDir = join(dir, 'results');
      await temporal.client.workflow.execute(WorkflowTypes.experiment, {
        workflowId: experimentWorkflowId(sweepId, spec!.id),
        taskQueue: CONTROL_TASK_QUEUE,
        args: [{ spec, sweep_id: sweepId, results_dir: resultsDir }],
      });
      sampling = false;
      await sampler;

      const outcome = JSON.parse(readFileSync(join(resultsDir, spec!.id, 'outcome.json'), 'utf8')) as ExperimentOutcome;
      expect(outcome.status, JSON.stringify(outcome.attempts, null, 1)).toBe('succeeded');
      expect(outcome.attempts.map((a) => [a.result, a.host_id])).toEqual([['host_lost', hostId], ['succeeded', hostId]]);
      expect(outcome.attempts[0]!.error).toMatch(/host stopped answering/);
      // The lost attempt's server ran on GPU 0 after the loss; the GPU was never free meanwhile,
      // and attempt 2's server never ran beside it.
      const firstAlive = samples.filter((s) => s.keys.includes(first));
      const secondStarted = samples.find((s) => s.keys.includes(second));
      console.log(`attempt 1's server seen for ${firstAlive.length} samples; attempt 2's server ${secondStarted ? `started ${secondStarted.ms - firstAlive.at(-1)!.ms} ms after attempt 1's was last seen` : 'not seen'}`);
      expect(firstAlive.length).toBeGreaterThan(0);
      expect(firstAlive.filter((s) => s.gpuFree)).toEqual([]);
      expect(samples.filter((s) => s.keys.includes(first) && s.keys.includes(second))).toEqual([]);
      // The host stopped it at the pool's request: nothing of attempt 1 is left, nothing is held.
      expect(markedKeys(hostId).filter((k) => k.startsWith(first))).toEqual([]);
      // The last release reaches the pool about when the experiment's result does (the workflow
      // awaits its delivery before completing; the pool's holder check, 30 s, is not waited for).
      let after = await pool.query<PoolSnapshot>(Queries.pool);
      for (let i = 0; i < 100 && after.leases.some((l) => l.host_id === hostId); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        after = await pool.query<PoolSnapshot>(Queries.pool);
      }
      expect(after.leases.filter((l) => l.host_id === hostId)).toEqual([]);
      expect(after.quarantined.filter((q) => q.host_id === hostId)).toEqual([]);
      expect(after.hosts.find((h) => h.host_id === hostId)?.free_gpu_ids).toEqual(['0']);
    } finally {
      sampling = false;
      await sampler;
      await pool.signal(Signals.unregisterHost, { host_id: hostId, incarnation }).catch(() => undefined);
      control.shutdown();
      host.shutdown();
      await running.catch(() => undefined);
      await processes.stopAll(2_000);
      await connection.close();
    }
  });
});
