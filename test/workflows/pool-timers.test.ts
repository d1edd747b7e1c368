// The GPU pool's own timers on Temporal's time-skipping test server: the 30 s holder check that
// frees the lease of a holder ended by hand, and continue-as-new carrying the pool's state. Hosts
// register by signal with a task queue no worker polls and an hour's heartbeat timeout: their
// watchers stay scheduled (the hosts stay online), and the real experiment workflows holding leases
// wait on their first host step. An outstanding activity keeps the server from skipping, so
// workflow time runs at wall pace here (about 90 s for the file); times are read from workflow
// histories (workflow time), not from the wall clock.
import type { WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planSweep } from '../../config-files/load-sweep.ts';
import { expandSweep } from '../../domain/config/expand.ts';
import { CONTROL_TASK_QUEUE, GPU_POOL_WORKFLOW_ID, Queries, Signals, WorkflowTypes, experimentWorkflowId } from '../../domain/names.ts';
import type { HostRegistration } from '../../domain/placement.ts';
import type { PoolSnapshot } from '../../workflows/gpu-pool.ts';
import { writeSweepFile } from '../support/sweeps.ts';
import { controlWorkerOnTestServer, EventType, tsToMs, until, type HistoryEvent } from '../support/time-skipping.ts';

Runtime.install({ logger: new DefaultLogger('WARN') });

const stack = controlWorkerOnTestServer('pool-timers');
const { dir } = stack;
const events = async (handle: WorkflowHandle): Promise<HistoryEvent[]> => (await handle.fetchHistory()).events ?? [];

/** A fresh pool (the previous test's terminated), with an optional history budget. */
async function freshPool(input: { continue_as_new_after_events?: number } = {}) {
  await stack.env.client.workflow.getHandle(GPU_POOL_WORKFLOW_ID).terminate('test: fresh pool').catch(() => undefined);
  return stack.env.client.workflow.start(WorkflowTypes.gpuPool, { workflowId: GPU_POOL_WORKFLOW_ID, taskQueue: CONTROL_TASK_QUEUE, args: [input] });
}

/** A host on a queue no worker polls: its watcher waits an hour to start, so it stays online. */
function host(hostId: string, gpuClass: string, gpuIds: string[]): HostRegistration {
  return { host_id: hostId, incarnation: `${hostId}-1`, gpu_class: gpuClass, gpu_ids: gpuIds, task_queue: `${hostId}-queue`, heartbeat_timeout_s: 3600 };
}

/** Experiments of one sweep, of a GPU class, started alone (as their sweep would start them): each asks the pool for a lease. */
async function startExperiments(tag: string, gpuClass: string, count: number) {
  const sweepDir = join(dir, tag);
  const sweepId = `sweep/${tag}/2026-12-08`;
  const cacheSizes = [0.01, 0.02, 0.04].slice(0, count);
  const { resolved } = await planSweep(writeSweepFile({ tag, dir: sweepDir, gpuClass, cacheSizes }));
  const specs = expandSweep(resolved);
  return Promise.all(
    specs.map((spec) =>
      stack.env.client.workflow.start(WorkflowTypes.experiment, {
        workflowId: experimentWorkflowId(sweepId, spec.id),
        taskQueue: CONTROL_TASK_QUEUE,
        args: [{ spec, sweep_id: sweepId, results_dir: join(sweepDir, 'results') }],
      }),
    ),
  );
}

const snapshot = (pool: WorkflowHandle) => pool.query<PoolSnapshot>(Queries.pool);

describe('GPU pool timers (time-skipping server)', { timeout: 300_000 }, () => {
  it("frees the lease of a holder ended by hand at the next 30 s holder check, not before, and asks the host to stop the lease's processes", async () => {
    const pool = await freshPool();
    const registration = host('ts-holder-host', 'ts-holder-gpu', ['0']);
    await pool.signal(Signals.registerHost, registration);
    const [holder] = await startExperiments('ts-holder', 'ts-holder-gpu', 1);
    const granted = await until(() => snapshot(pool), (s) => s.leases.some((l) => l.holder === holder!.workflowId), 'the lease granted');
    const lease = granted.leases.find((l) => l.holder === holder!.workflowId)!;
    await holder!.terminate('test: a holder ended by hand');

    // The pool frees the lease (the holder never released it) and books the GPU no more. (The
    // watcher, outstanding, keeps the server from skipping: workflow time runs at wall pace.)
    const freed = await until(() => snapshot(pool), (s) => s.leases.length === 0, 'the holder check to free the lease', 180_000);
    expect(freed.hosts.find((h) => h.host_id === registration.host_id)?.free_gpu_ids).toEqual(['0']);

    // When, in workflow time: the grant (its signal to the holder), the holder's end, and the
    // holder check that found it closed (the closedWorkflows activity whose answer named it).
    const history = await events(pool);
    const grantMs = tsToMs(history.find((e) => e.eventType === EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED && e.signalExternalWorkflowExecutionInitiatedEventAttributes?.workflowExecution?.workflowId === holder!.workflowId)?.eventTime);
    const endedMs = tsToMs((await events(holder!)).find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED)?.eventTime);
    const scheduled = (name: string) => history.filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED && e.activityTaskScheduledEventAttributes?.activityType?.name === name);
    const checks = scheduled('closedWorkflows');
    const answers = new Map(
      history
        .filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
        .map((e) => [String(e.activityTaskCompletedEventAttributes?.scheduledEventId), Buffer.from(e.activityTaskCompletedEventAttributes?.result?.payloads?.[0]?.data ?? []).toString()]),
    );
    const freeing = checks.find((e) => answers.get(String(e.eventId))?.includes(holder!.workflowId));
    expect(freeing, `holder checks: ${checks.map((e) => tsToMs(e.eventTime) - grantMs).join(', ')} ms after the grant`).toBeDefined();
    const checkMs = tsToMs(freeing!.eventTime);
    expect(grantMs).toBeGreaterThan(0);
    expect(endedMs).toBeGreaterThanOrEqual(grantMs);
    // Checks run every 30 s from the grant: none sooner, and the first after the holder ended frees it.
    expect(checkMs - grantMs).toBeGreaterThanOrEqual(30_000);
    expect(checkMs - grantMs).toBeLessThan(61_000);
    expect(checkMs - endedMs).toBeLessThanOrEqual(30_000 + 5_000);
    expect(checks.filter((e) => tsToMs(e.eventTime) < checkMs).every((e) => tsToMs(e.eventTime) - grantMs >= 30_000)).toBe(true);
    // The lease's host is asked to stop what may still run under it.
    const stop = scheduled('stopLeaseProcesses').find((e) => tsToMs(e.eventTime) >= checkMs);
    expect(stop?.activityTaskScheduledEventAttributes?.taskQueue?.name).toBe(registration.task_queue);
    expect(Buffer.from(stop?.activityTaskScheduledEventAttributes?.input?.payloads?.[0]?.data ?? []).toString()).toContain(lease.request_id);
  });

  it("continuing as new carries the pool's state: hosts, leases and waiting requests", async () => {
    // A history budget of 25 events: the holder checks (every 30 s while leases are held) make the
    // pool continue as new within a minute or two.
    const pool = await freshPool({ continue_as_new_after_events: 25 });
    const [hostA, hostB] = [host('ts-can-host-a', 'ts-can-a', ['0', '1']), host('ts-can-host-b', 'ts-can-b', ['0'])];
    await pool.signal(Signals.registerHost, hostA);
    await pool.signal(Signals.registerHost, hostB);
    // Three experiments for host A's two GPUs: two leases, one waiting request.
    const holders = await startExperiments('ts-can-a', 'ts-can-a', 3);
    const shaped = (s: PoolSnapshot) => s.hosts.length === 2 && s.leases.length === 2 && s.waiting.length === 1;
    const before = await until(() => snapshot(pool), shaped, 'two leases and one waiting request', 60_000);
    expect(new Set(before.leases.map((l) => l.holder)).size).toBe(2);
    expect(holders.map((h) => h.workflowId)).toContain(before.waiting[0]!.holder);
    expect(before.hosts.map((h) => [h.host_id, h.status, h.free_gpu_ids])).toEqual([[hostA.host_id, 'online', []], [hostB.host_id, 'online', ['0']]]);

    const { runId } = await pool.describe();
    const next = await until(() => pool.describe(), (d) => d.runId !== runId, 'the pool to continue as new', 150_000);
    expect(next.status.name).toBe('RUNNING');
    const started = (await events(stack.env.client.workflow.getHandle(GPU_POOL_WORKFLOW_ID, next.runId)))[0];
    expect(started?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId).toBe(runId);
    expect(await snapshot(pool)).toEqual(before);
    for (const h of holders) await h.terminate('test: done').catch(() => undefined);
  });
});
