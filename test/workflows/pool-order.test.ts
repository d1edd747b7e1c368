// The pool workflow applies its order among waiting requests (issue 18) behind a patch: a new pool
// grants the larger request first. Real workflow bundle on Temporal's test server; the holders do
// not exist, so each grant's signal fails and the pool releases that lease and grants the next:
// the order of the pool's signals is the order of its grants.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createControlActivities } from '../../activities/control.ts';
import { CONTROL_TASK_QUEUE, Signals, WorkflowTypes } from '../../domain/names.ts';
import { emptyPool } from '../../domain/placement.ts';
import { workflowBundlePath } from '../../workers/workflow-bundle.ts';
import type { PoolInput } from '../../workflows/gpu-pool.ts';
import { timeSkippingEnvironment } from '../support/time-skipping.ts';

Runtime.install({ logger: new DefaultLogger('WARN') });

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;

beforeAll(async () => {
  env = await timeSkippingEnvironment();
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: CONTROL_TASK_QUEUE,
    workflowBundle: { codePath: await workflowBundlePath() },
    activities: createControlActivities({ cwd: mkdtempSync(join(tmpdir(), 'kvsweep-pool-order-')) }),
  });
  running = worker.run();
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
});

describe('pool order', { timeout: 120_000 }, () => {
  it('a new pool grants the request with the most GPUs first, then the longest', async () => {
    const state = emptyPool();
    // A host whose watcher no worker picks up within the test (its queue has none).
    state.hosts.h = { host_id: 'h', incarnation: 'i1', gpu_class: 'g', gpu_ids: ['0', '1', '2', '3'], task_queue: 'pool-order/h', heartbeat_timeout_s: 3600, status: 'online', since_ms: 0 };
    const input: PoolInput = { state };
    const handle = await env.client.workflow.start(WorkflowTypes.gpuPool, { workflowId: `pool-order-${Date.now()}`, taskQueue: CONTROL_TASK_QUEUE, args: [input] });
    const request = (id: string, gpus: number, expected: number) => ({ request_id: `${id}#1`, holder: `pool-order-${id}`, gpu_count: gpus, gpu_class: 'any', expected_duration_s: expected });
    await handle.signal(Signals.requestLeases, [request('small-old', 1, 600), request('short', 4, 60), request('long', 4, 3600)]);

    const deadline = Date.now() + 60_000;
    let holders: string[] = [];
    while (holders.length < 3 && Date.now() < deadline) {
      const { events } = await handle.fetchHistory();
      holders = (events ?? []).flatMap((e) => (e.signalExternalWorkflowExecutionInitiatedEventAttributes ? [e.signalExternalWorkflowExecutionInitiatedEventAttributes.workflowExecution?.workflowId ?? ''] : []));
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await handle.terminate('test over');
    // Oldest first would have granted small-old, then short (after small-old's release), then long.
    expect(holders).toEqual(['pool-order-long', 'pool-order-short', 'pool-order-small-old']);
  });
});
