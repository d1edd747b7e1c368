// The workflows' long timers and continue-as-new, on Temporal's time-skipping test server: minutes
// of workflow time pass in seconds (stack.env.sleep). The real workflow bundle and control activities
// run; no host registers, so experiments wait for GPUs (a host's watcher is an activity that never
// ends, and the test server skips no time while an activity is outstanding: the pool's 30 s holder
// check, which runs only while leases are held, so while a watcher runs, is tested in real time by
// test/orchestration/resume.test.ts, and on the test server with the hosts registered by signal in
// test/workflows/pool-timers.test.ts).
import type { WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planSweep } from '../../config-files/load-sweep.ts';
import { expandSweep } from '../../domain/config/expand.ts';
import type { ExperimentSpec } from '../../domain/experiment.ts';
import { CONTROL_TASK_QUEUE, GPU_POOL_WORKFLOW_ID, Queries, WorkflowTypes, experimentWorkflowId, leaseRequestId } from '../../domain/names.ts';
import { configurationOf, type ExperimentOutcome } from '../../domain/outcome.ts';
import type { SweepProgress } from '../../domain/sweep-state.ts';
import type { PoolSnapshot } from '../../workflows/gpu-pool.ts';
import { writeSweepFile } from '../support/sweeps.ts';
import { controlWorkerOnTestServer, EventType, tsToMs, until, type HistoryEvent } from '../support/time-skipping.ts';

Runtime.install({ logger: new DefaultLogger('WARN') });

const stack = controlWorkerOnTestServer('time-skipping');
const { dir } = stack;

/** Workflow time of a run's first event of a type, from its history. */
async function firstEventMs(handle: WorkflowHandle, type: keyof typeof EventType): Promise<number> {
  const { events } = await handle.fetchHistory();
  const event = events?.find((e) => e.eventType === EventType[type]);
  if (!event) throw new Error(`no ${type} event in the history of ${handle.workflowId}`);
  return tsToMs(event.eventTime);
}

/**
 * The run of a workflow (latest first, back through continue-as-new) that scheduled an activity
 * of a type: the workflow time it started, and when it first scheduled that activity.
 */
async function runThatScheduled(workflowId: string, activityType: string): Promise<{ runStartedMs: number; scheduledMs: number }> {
  let runId: string | undefined = (await stack.env.client.workflow.getHandle(workflowId).describe()).runId;
  while (runId) {
    const events: HistoryEvent[] = (await stack.env.client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
    const scheduled = events.find((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED && e.activityTaskScheduledEventAttributes?.activityType?.name === activityType);
    if (scheduled) return { runStartedMs: tsToMs(events[0]!.eventTime), scheduledMs: tsToMs(scheduled.eventTime) };
    runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  throw new Error(`no run of ${workflowId} scheduled ${activityType}`);
}

/** Experiments of a GPU class no host has: they wait for a lease until the test ends them. */
async function waitingSweep(tag: string, cacheSizes: number[]) {
  const sweepDir = join(dir, tag);
  const { resolved } = await planSweep(writeSweepFile({ tag, dir: sweepDir, gpuClass: `nowhere-${tag}`, cacheSizes, strategies: ['lru', 'conversation_aware'] }));
  return { resolved, specs: expandSweep(resolved), resultsDir: join(sweepDir, 'results') };
}

/** An outcome.json saying the experiment succeeded before this sweep started. */
function writeSucceeded(resultsDir: string, spec: ExperimentSpec): void {
  const outcome: ExperimentOutcome = {
    experiment_id: spec.id, sweep_id: 'earlier', timestamp: '2026-12-01T00:00:00.000Z', status: 'succeeded', execution_success: true,
    execution_time_seconds: 60, queued_seconds: 0, configuration: configurationOf(spec), benchmark_results: {}, cache_statistics: {},
    attempts: [], error: null, results_path: join(resultsDir, spec.id),
  };
  mkdirSync(join(resultsDir, spec.id), { recursive: true });
  writeFileSync(join(resultsDir, spec.id, 'outcome.json'), JSON.stringify(outcome, null, 2));
}

/** Drives a started sweep (2 of 6 done before it started, 2 running, 2 waiting) past continue-as-new. */
async function sweepProgressSurvives(handle: WorkflowHandleWithFirstExecutionRunId, sweepId: string, resultsDir: string): Promise<void> {
  const progress = () => handle.query<SweepProgress>(Queries.progress);
  const before = await until(progress, (p) => p.running === 2, 'two children running');
  expect(before).toMatchObject({ total: 6, succeeded: 2, skipped_already_done: 2, running: 2, waiting: 2 });

  // A child cancelled by hand reports to the sweep; the sweep starts the next one, writes the
  // summary (15 s later: skipped) and continues as new.
  await stack.env.client.workflow.getHandle(experimentWorkflowId(sweepId, before.running_ids[0]!)).cancel();
  await until(progress, (p) => p.cancelled === 1, 'the cancelled child counted');
  await stack.env.sleep('1 minute');
  const described = await until(() => handle.describe(), (d) => d.runId !== handle.firstExecutionRunId, 'the sweep to continue as new');
  expect(described.status.name).toBe('RUNNING');
  const after = await progress();
  expect(after).toMatchObject({ total: 6, succeeded: 2, cancelled: 1, failed: 0, skipped_already_done: 2, running: 2, waiting: 1, started_at: before.started_at });

  // A child of the earlier run, terminated by hand: this run does not watch it, so only the
  // reconcile timer (every 300 s from the run's start) finds it closed. When is read from the
  // history, in workflow time: how far the server skipped while the test polled, or when exactly
  // the run began (it may continue as new before the test sees the cancelled child), does not
  // matter.
  const orphan = after.running_ids[0]!;
  await stack.env.client.workflow.getHandle(experimentWorkflowId(sweepId, orphan)).terminate('test: terminated by hand');
  await stack.env.sleep('6 minutes');
  const reconciled = await until(progress, (p) => p.failed === 1, 'the reconcile timer to find the terminated child', 180_000);
  expect(reconciled).toMatchObject({ total: 6, skipped_already_done: 2, succeeded: 2 });
  // The run that reconciled (the sweep may have continued as new again meanwhile) did so 300 s
  // after it started, not sooner.
  const { runStartedMs, scheduledMs } = await runThatScheduled(sweepId, 'closedExperiments');
  expect(scheduledMs - runStartedMs).toBeGreaterThanOrEqual(300_000);
  expect(scheduledMs - runStartedMs).toBeLessThan(300_000 + 60_000);
  const outcome = JSON.parse(readFileSync(join(resultsDir, orphan, 'outcome.json'), 'utf8')) as ExperimentOutcome;
  expect(outcome).toMatchObject({ status: 'failed', error: expect.stringContaining('ended without reporting (TERMINATED)') });
}

// The server skips time only while nothing is outstanding: on a loaded machine, minutes of workflow
// time can take minutes of real time (a test took 233 s with the production tier running).
describe('workflow timers and continue-as-new (time-skipping server)', { timeout: 300_000 }, () => {
  it("a sweep's progress survives continue-as-new (skipped ones stay counted); an unreported child is found by the reconcile timer", async () => {
    const { resolved, specs, resultsDir } = await waitingSweep('ts-can', [0.01, 0.02, 0.04]);
    writeSucceeded(resultsDir, specs[0]!);
    writeSucceeded(resultsDir, specs[1]!);
    const sweepId = 'sweep/ts-can/2026-12-07';
    const handle = await stack.env.client.workflow.start(WorkflowTypes.sweep, {
      workflowId: sweepId,
      taskQueue: CONTROL_TASK_QUEUE,
      // A history budget of 20 events: the first child that ends makes the sweep continue as new.
      args: [{ resolved, results_dir: resultsDir, max_parallel: 2, use_search_attributes: false, continue_as_new_after_events: 20 }],
    });
    const cleanup = async () => {
      await handle.terminate('test: done').catch(() => undefined);
      for (const spec of specs) await stack.env.client.workflow.getHandle(experimentWorkflowId(sweepId, spec.id)).terminate('test: done').catch(() => undefined);
    };
    try {
      await sweepProgressSurvives(handle, sweepId, resultsDir);
    } finally {
      await cleanup();
    }
  });

  it('an experiment whose first lease request was lost asks the pool again after 5 minutes', async () => {
    const { specs, resultsDir } = await waitingSweep('ts-lease', [0.01]);
    const id = experimentWorkflowId('sweep/ts-lease/2026-12-07', specs[0]!.id);
    const pool = stack.env.client.workflow.getHandle(GPU_POOL_WORKFLOW_ID);
    await stack.env.client.workflow.start(WorkflowTypes.gpuPool, { workflowId: GPU_POOL_WORKFLOW_ID, taskQueue: CONTROL_TASK_QUEUE, args: [{}] }).catch(() => undefined);
    const startedMs = await stack.env.currentTimeMs();
    // As if its sweep had asked for it and the request was lost (a pool reset by hand).
    const experiment = await stack.env.client.workflow.start(WorkflowTypes.experiment, {
      workflowId: id,
      taskQueue: CONTROL_TASK_QUEUE,
      args: [{ spec: specs[0], sweep_id: 'sweep/ts-lease/2026-12-07', results_dir: resultsDir, first_lease_requested: true }],
    });
    await until(() => experiment.query<{ phase: string }>(Queries.experimentState), (s) => s.phase.includes('waiting for'), 'the experiment to wait for GPUs');
    const request = async () => (await pool.query<PoolSnapshot>(Queries.pool)).waiting.find((r) => r.holder === id);
    await stack.env.sleep('6 minutes');
    const asked = await until(request, (r) => r !== undefined, 'the request after 5 minutes', 180_000);
    expect(asked!.request_id).toBe(leaseRequestId(id, 1));
    // The pool queued it (its workflow time) 5 minutes after the experiment's wait began (the
    // timer's start in the experiment's history), not sooner: measured in workflow time, so what
    // the server skipped while the test polled does not matter. It is the first request: the
    // pool keeps the earliest of repeated ones.
    const waitStartedMs = await firstEventMs(experiment, 'EVENT_TYPE_TIMER_STARTED');
    expect(waitStartedMs).toBeGreaterThanOrEqual(startedMs);
    expect(asked!.enqueued_ms - waitStartedMs).toBeGreaterThanOrEqual(5 * 60_000);
    expect(asked!.enqueued_ms - waitStartedMs).toBeLessThan(5 * 60_000 + 60_000);
    // Cancelled, it withdraws the request.
    await experiment.cancel();
    await until(request, (r) => r === undefined, 'the request withdrawn');
  });
});
