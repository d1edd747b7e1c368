// Records workflow histories from real runs of this checkout's code into test/replay/histories/<label>/,
// for the replay tests: every later version of the workflows must replay them (a sweep running when
// kvsweep is upgraded goes on with the new code). Each scenario runs on a dev server of its own, so
// each pool history holds that scenario alone. Run: `npm run record-histories [-- --label L] [--only S]`.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import protos from '@temporalio/proto';
import { startDevServer, temporalBinary } from '../client/dev-server.ts';
import { connectClient } from '../platform/temporal.ts';
import { projectRoot } from '../platform/paths.ts';
import { planSweep } from '../config-files/load-sweep.ts';
import { CONTROL_TASK_QUEUE, SearchAttributeTypes, WorkflowTypes } from '../domain/names.ts';
import { workflowBundlePath } from '../workers/workflow-bundle.ts';
import { freePort, freePortRange } from '../test/support/ports.ts';
import { killMarkedProcesses, markedKeys, markedProcesses, startWorker, type TestProcess } from '../test/support/processes.ts';
import { SMALL_TRACE, writeSweepFile, type SweepFileOptions } from '../test/support/sweeps.ts';

interface Stack {
  client: Client;
  address: string;
  dir: string;
  worker: (hostId: string, gpus: number, gpuClass: string) => Promise<TestProcess>;
  /** Plans the sweep file, calls beforeStart, starts the sweep; run() waits for its result. */
  sweep: (options: Omit<SweepFileOptions, 'dir'>, more?: { sweepId?: string; beforeStart?: () => void; input?: Record<string, unknown>; env?: string }) => Promise<{ sweepId: string; run: () => Promise<unknown> }>;
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(check: () => boolean, what: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await wait(50);
  }
}

/** One scenario: what it runs, on a dev server with these extra dynamic-config values. */
interface Scenario {
  name: string;
  what: string;
  dynamicConfig?: string[];
  /** Also save each history as `temporal workflow show --output json` prints it. */
  json?: boolean;
  run: (stack: Stack) => Promise<void>;
}

const tag = (name: string) => `rec-${name}`;

const scenarios: Scenario[] = [
  {
    name: 'success',
    what: 'a sweep of two experiments that both succeed on one host with two GPUs',
    json: true,
    run: async (s) => {
      await s.worker('rec-host-a', 2, 'rec');
      const { run } = await s.sweep({ tag: tag('success'), gpuClass: 'rec', strategies: ['lru', 'conversation_aware'] });
      await run();
    },
  },
  {
    name: 'retry',
    what: "an experiment whose first attempt fails (its server is killed mid-run) and whose second succeeds",
    run: async (s) => {
      await s.worker('rec-host-a', 1, 'rec');
      const { run } = await s.sweep({ tag: tag('retry'), gpuClass: 'rec', rates: [2], maxAttempts: 2 });
      await until(() => markedKeys('rec-host-a').some((k) => k.endsWith('#1/client')), 'the first attempt to run its client');
      const server = markedKeys('rec-host-a').find((k) => k.endsWith('#1'))!;
      killKey('rec-host-a', server);
      await run();
    },
  },
  {
    name: 'host-loss',
    what: 'the host running an experiment is SIGKILLed; the experiment moves to the other host',
    run: async (s) => {
      const a = await s.worker('rec-host-a', 1, 'rec');
      const b = await s.worker('rec-host-b', 1, 'rec');
      const { run } = await s.sweep({ tag: tag('host-loss'), gpuClass: 'rec', rates: [1], maxAttempts: 3 });
      await until(() => markedProcesses('rec-host-a').length + markedProcesses('rec-host-b').length >= 2, 'a server and its client');
      await (markedProcesses('rec-host-a').length > 0 ? a : b).kill('SIGKILL');
      await run();
    },
  },
  {
    name: 'cancel',
    what: 'a sweep cancelled while one experiment runs and one waits for a GPU',
    run: async (s) => {
      await s.worker('rec-host-a', 1, 'rec');
      const { sweepId, run } = await s.sweep({ tag: tag('cancel'), gpuClass: 'rec', rates: [1], cacheSizes: [0.01, 0.02] });
      await until(() => markedKeys('rec-host-a').some((k) => k.endsWith('/client')), 'a client to run');
      await s.client.workflow.getHandle(sweepId).cancel();
      await run().catch(() => undefined);
    },
  },
  {
    name: 'resume',
    what: 'a sweep with one failed experiment (its trace was missing), started again: the second run skips the succeeded one',
    run: async (s) => {
      await s.worker('rec-host-a', 2, 'rec');
      copyFileSync(SMALL_TRACE, join(s.dir, 'flaky.csv'));
      const extra = [{ path: 'flaky.csv', cache_sizes: [0.01], request_rates: [10] }];
      const away = () => renameSync(join(s.dir, 'flaky.csv'), join(s.dir, 'flaky.csv.away'));
      const first = await s.sweep({ tag: tag('resume'), gpuClass: 'rec', extraDatasets: extra }, { beforeStart: away });
      await first.run();
      renameSync(join(s.dir, 'flaky.csv.away'), join(s.dir, 'flaky.csv'));
      const second = await s.sweep({ tag: tag('resume'), gpuClass: 'rec', extraDatasets: extra }, { sweepId: first.sweepId });
      await second.run();
    },
  },
  {
    name: 'terminated',
    what: "a sweep run terminated and started again; a child it did not start is terminated by hand while it holds the GPU: the pool's holder check reclaims the lease",
    run: async (s) => {
      await s.worker('rec-host-a', 1, 'rec');
      const options = { tag: tag('terminated'), gpuClass: 'rec', cacheSizes: [0.001, 0.05], rates: [2] };
      const input = { reconcile_interval_s: 1 };
      const first = await s.sweep(options, { input });
      await until(() => markedKeys('rec-host-a').length > 0, 'a server');
      await s.client.workflow.getHandle(first.sweepId).terminate('recorder: the sweep run goes away, its children stay');
      const second = await s.sweep(options, { input, sweepId: first.sweepId });
      await wait(1_000);
      const holder = markedKeys('rec-host-a')[0]!.split('#')[0]!;
      await s.client.workflow.getHandle(holder).terminate('recorder: terminated by hand');
      await second.run();
      await wait(35_000); // the pool's holder check (every 30 s while leases are held) has run
    },
  },
  {
    name: 'offline',
    what: "an offline sweep (environment offline) on a control worker without GPUs: four experiments in kvsweep's model on the offline queue, no GPU lease, and two lightgbm ones that fail at once (no lightgbm in that model)",
    run: async (s) => {
      await s.worker('rec-host-a', 0, 'rec');
      const { run } = await s.sweep({ tag: tag('offline'), cacheSizes: [0.001, 0.05], strategies: ['lru', 'oracle', 'lightgbm'] }, { env: 'offline' });
      await run();
    },
  },
  {
    name: 'continue-as-new',
    what: 'a sweep of 12 experiments and the pool, both continuing as new (the server suggests it after 100 events)',
    dynamicConfig: ['limit.historyCount.suggestContinueAsNew=100'],
    run: async (s) => {
      await s.worker('rec-host-a', 2, 'rec');
      const { run } = await s.sweep({ tag: tag('can'), gpuClass: 'rec', cacheSizes: [0.001, 0.002, 0.004, 0.008, 0.016, 0.032], strategies: ['lru', 'conversation_aware'], rates: [20] });
      await run();
    },
  },
];

function killKey(hostId: string, key: string): void {
  for (const pid of markedProcesses(hostId)) {
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
      if (environ.includes(`KVSWEEP_PROCESS_KEY=${key}`)) process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

async function startServer(address: string, logPath: string, dynamicConfig: string[]) {
  if (dynamicConfig.length === 0) return startDevServer({ address, dbFile: null, uiPort: null, logPath });
  // startDevServer has no dynamic-config option (users never need one): start the binary here.
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', address.split(':')[1]!, '--headless', '--log-level', 'warn'];
  for (const value of dynamicConfig) args.push('--dynamic-config-value', value);
  for (const [name, type] of Object.entries(SearchAttributeTypes)) args.push('--search-attribute', `${name}=${type}`);
  const child = spawn(temporalBinary(), args, { stdio: 'ignore' });
  const client = await (async () => {
    for (let i = 0; i < 600; i++) {
      try {
        return await connectClient(address, 'default');
      } catch {
        await wait(100);
      }
    }
    throw new Error('the dev server did not answer');
  })();
  await client.connection.close();
  return { stop: async () => void child.kill('SIGTERM') };
}

async function record(scenario: Scenario, outDir: string): Promise<void> {
  const address = `127.0.0.1:${await freePort()}`;
  const dir = mkdtempSync(join(tmpdir(), `kvsweep-record-${scenario.name}-`));
  // The workers' homes get this checkout's workflow bundle, built once: a cold build in each
  // worker takes minutes on a loaded machine.
  const bundle = await workflowBundlePath();
  mkdirSync(join(dir, 'home', 'cache'), { recursive: true });
  copyFileSync(bundle, join(dir, 'home', 'cache', basename(bundle)));
  const server = await startServer(address, join(dir, 'temporal.log'), scenario.dynamicConfig ?? []);
  const client = await connectClient(address, 'default');
  const workers: TestProcess[] = [];
  const stack: Stack = {
    client,
    address,
    dir,
    worker: async (hostId, gpus, gpuClass) => {
      const w = await startWorker({ address, hostId, gpus, gpuClass, portBase: await freePortRange(200), heartbeatTimeoutS: 4, env: { KVSWEEP_HOME: join(dir, 'home') }, readyTimeoutMs: 600_000 });
      workers.push(w);
      return w;
    },
    sweep: async (options, more = {}) => {
      const sweepId = more.sweepId ?? `sweep/${options.tag}/2026-12-04`;
      const { resolved } = await planSweep(writeSweepFile({ ...options, dir }), { env: more.env });
      more.beforeStart?.();
      const handle = await client.workflow.start(WorkflowTypes.sweep, {
        workflowId: sweepId,
        taskQueue: CONTROL_TASK_QUEUE,
        args: [{ resolved, results_dir: join(dir, 'results'), ...more.input }],
      });
      return { sweepId, run: () => handle.result() };
    },
  };
  try {
    await scenario.run(stack);
    await wait(2_000); // the pool's last grants and releases
    const manifest = await saveHistories(client, join(outDir, scenario.name), scenario.json ? address : null);
    writeFileSync(join(outDir, scenario.name, 'manifest.json'), JSON.stringify({ scenario: scenario.name, what: scenario.what, histories: manifest }, null, 2) + '\n');
    console.log(`${scenario.name}: ${manifest.length} histories`);
  } finally {
    await Promise.all(workers.map((w) => w.kill('SIGTERM')));
    for (const host of ['rec-host-a', 'rec-host-b']) killMarkedProcesses(host);
    await client.connection.close();
    await server.stop();
  }
}

interface ManifestEntry {
  file: string;
  workflow_id: string;
  run_id: string;
  workflow_type: string;
  status: string;
  events: number;
}

async function saveHistories(client: Client, dir: string, jsonFrom: string | null): Promise<ManifestEntry[]> {
  mkdirSync(dir, { recursive: true });
  const entries: ManifestEntry[] = [];
  const executions = [];
  for await (const execution of client.workflow.list()) executions.push(execution);
  executions.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  for (const [i, execution] of executions.entries()) {
    const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    const file = `${String(i + 1).padStart(2, '0')}-${execution.type}.bin`;
    writeFileSync(join(dir, file), protos.temporal.api.history.v1.History.encode(history).finish());
    if (jsonFrom) {
      const args = ['workflow', 'show', '--address', jsonFrom, '--workflow-id', execution.workflowId, '--run-id', execution.runId, '--output', 'json'];
      writeFileSync(join(dir, file.replace(/\.bin$/, '.json')), execFileSync(temporalBinary(), args, { encoding: 'utf8' }));
    }
    entries.push({ file, workflow_id: execution.workflowId, run_id: execution.runId, workflow_type: execution.type, status: execution.status.name, events: history.events?.length ?? 0 });
  }
  return entries;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { label: { type: 'string' }, only: { type: 'string', multiple: true } } });
  const label = values.label ?? execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: projectRoot, encoding: 'utf8' }).trim();
  const outDir = join(projectRoot, 'test', 'replay', 'histories', label);
  mkdirSync(outDir, { recursive: true });
  for (const scenario of scenarios.filter((s) => !values.only || values.only.includes(s.name))) {
    const started = Date.now();
    await record(scenario, outDir);
    console.log(`${scenario.name}: recorded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  console.log(`histories in ${outDir}`);
}

await main();
