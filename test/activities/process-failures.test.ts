// Every host activity that reports a process failure words it the same way (platform/
// process-failure.ts): what failed and how, the command, the cause, the log. Real processes on
// this host, run in Temporal's activity context without a server (MockActivityEnvironment).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHostActivities, type ServerHandle } from '../../activities/host.ts';
import { HostProcesses } from '../../activities/host-processes.ts';
import { planSweep } from '../../config-files/load-sweep.ts';
import { expandSweep } from '../../domain/config/expand.ts';
import type { ExperimentSpec } from '../../domain/experiment.ts';
import { freePortRange } from '../support/ports.ts';
import { killMarkedProcesses } from '../support/processes.ts';
import { writeSweepFile } from '../support/sweeps.ts';

const hostId = `failures-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'kvsweep-failures-'));
const resultsDir = join(dir, 'results');
const processes = new HostProcesses(hostId);
let activities: ReturnType<typeof createHostActivities>;
let spec: ExperimentSpec;
let attempt = 0;

/** A tiny HTTP server: prints its ready line, answers 200 everywhere; argv[1] is the port. */
const HEALTHY_SERVER = 'require("node:http").createServer((q, s) => s.end("ok")).listen(+process.argv[1], "127.0.0.1", () => console.log("ready"))';

beforeAll(async () => {
  const { resolved } = await planSweep(writeSweepFile({ tag: 'failures', dir }));
  spec = expandSweep(resolved)[0]!;
  const portBase = await freePortRange(20);
  activities = createHostActivities({ hostId, incarnation: 'test', processes, portBase, portCount: 20, kvsweepArgv: [process.execPath, 'kvsweep.js'], teardownGraceMs: 1_000 });
});
afterAll(async () => {
  await processes.stopAll(1_000);
  killMarkedProcesses(hostId);
});

/** Temporal's activity context, quiet: the failures are what the tests expect. */
function activityEnvironment(): MockActivityEnvironment {
  return new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
}

function withServer(argv: string[], readyTimeoutS = 30): ExperimentSpec {
  if (spec.server === null) throw new Error('the test sweep runs a server environment');
  return { ...spec, server: { ...spec.server, argv, ready_pattern: '^ready$', ready_timeout_s: readyTimeoutS } };
}

function start(experiment: ExperimentSpec): Promise<ServerHandle> {
  return activityEnvironment().run(activities.startServer, { spec: experiment, sweep_id: 'failures', results_dir: resultsDir, attempt: ++attempt, gpu_ids: ['0'] });
}

function awaitReady(experiment: ExperimentSpec, server: ServerHandle) {
  if (experiment.server === null) throw new Error('the test sweep runs a server environment');
  const { ready_pattern, ready_timeout_s, health_path } = experiment.server;
  return activityEnvironment().run(activities.awaitServerReady, { server, ready_pattern, ready_timeout_s, health_path });
}

/** The failure's message with this run's paths, port and node binary made stable. */
async function failureOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => expect.unreachable('the activity succeeded'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  return (error as ApplicationFailure).message.replaceAll(resultsDir, '<results>').replaceAll(process.execPath, 'node').replace(/\b\d{4,5}\b/g, '<port>');
}

describe('process failures reported by the host activities', { timeout: 60_000 }, () => {
  it('startServer: a program that does not exist', async () => {
    const message = await failureOf(start(withServer(['/nonexistent/vllm', 'serve', 'm', '--port', '{port}'])));
    expect(message).toMatchInlineSnapshot(`
      "server could not be started: /nonexistent/vllm serve m --port <port>
      spawn /nonexistent/vllm ENOENT
      log: <results>/${spec.id}/server.log"
    `);
  });

  it('awaitServerReady: a server that exits during start-up', async () => {
    const experiment = withServer([process.execPath, '-e', 'console.log("loading"); process.exit(3)']);
    const message = await failureOf(awaitReady(experiment, await start(experiment)));
    expect(message).toMatchInlineSnapshot(`
      "server exited with code 3 during start-up: node -e 'console.log("loading"); process.exit(3)'
      log: <results>/${spec.id}/server.log"
    `);
  });

  it('awaitServerReady: a server that never prints its ready line', async () => {
    const experiment = withServer([process.execPath, '-e', 'setTimeout(() => {}, 60_000)'], 1);
    const server = await start(experiment);
    const message = await failureOf(awaitReady(experiment, server));
    await activityEnvironment().run(activities.teardownServer, { server });
    expect(message).toMatchInlineSnapshot(`
      "server not ready after 1 s: node -e 'setTimeout(() => {}, 60_000)'
      its log never matched /^ready$/
      log: <results>/${spec.id}/server.log"
    `);
  });

  it('runClient: a client that fails, against a healthy server', async () => {
    const experiment: ExperimentSpec = { ...withServer([process.execPath, '-e', HEALTHY_SERVER, '{port}']), client: { kind: 'external', argv: [process.execPath, '-e', 'process.exit(4)', '{base_url}'] } };
    const server = await start(experiment);
    await awaitReady(experiment, server);
    const message = await failureOf(activityEnvironment().run(activities.runClient, { spec: experiment, server }));
    await activityEnvironment().run(activities.teardownServer, { server });
    expect(message).toMatchInlineSnapshot(`
      "client exited with code 4: node -e 'process.exit(4)' http://127.0.0.1:<port>
      log: <results>/${spec.id}/client.log"
    `);
  });

  it('runClient: a server that is killed during the run', async () => {
    const experiment: ExperimentSpec = { ...withServer([process.execPath, '-e', HEALTHY_SERVER, '{port}']), client: { kind: 'external', argv: [process.execPath, '-e', 'setTimeout(() => {}, 60_000)'] } };
    const server = await start(experiment);
    await awaitReady(experiment, server);
    const running = activityEnvironment().run(activities.runClient, { spec: experiment, server });
    process.kill(server.pid, 'SIGKILL');
    const message = await failureOf(running);
    expect(message).toMatchInlineSnapshot(`
      "server was killed by SIGKILL during the run: node -e 'require("node:http").createServer((q, s) => s.end("ok")).listen(+process.argv[1], "127.0.0.1", () => console.log("ready"))' <port>
      log: <results>/${spec.id}/server.log"
    `);
  });
});
