// Orchestration benchmarks (issue 5): throughput with instant experiments and the history length
// of a 1,000-experiment sweep; the GPU idle gap between consecutive experiments on one GPU; and
// the readiness detection delay after a server turns healthy. Prints a table and writes
// bench/results/orchestration.json.
//
//   npx tsx bench/orchestration.ts [--instant 300] [--large 1000] [--sqlite] [--gap 8] [--ready 10]
//
// "Instant" experiments run the real workflows, GPU pool and control activities on a real dev
// server, but their host activities return at once (no processes): what is measured is Temporal
// orchestration alone. The idle gap and readiness runs use real simulator processes.
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { Command } from 'commander';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createControlActivities } from '../activities/control.ts';
import { createHostActivities, type HostActivities } from '../activities/host.ts';
import { HostProcesses } from '../activities/host-processes.ts';
import { waitUntilReady } from '../activities/readiness.ts';
import { startDevServer } from '../client/dev-server.ts';
import { kvsweepArgv, projectRoot } from '../platform/paths.ts';
import { expandSweep } from '../domain/config/expand.ts';
import { planSweep } from '../config-files/load-sweep.ts';
import { CONTROL_TASK_QUEUE, GPU_POOL_WORKFLOW_ID, Signals, WorkflowTypes, hostTaskQueue } from '../domain/names.ts';
import type { ExperimentOutcome } from '../domain/outcome.ts';
import { workflowBundlePath } from '../workers/workflow-bundle.ts';
import type { SweepResult } from '../workflows/sweep.ts';
import { freePort, freePortRange } from '../test/support/ports.ts';
import { startWorker } from '../test/support/processes.ts';
import { writeSweepFile } from '../test/support/sweeps.ts';
import { processPeakRssMb } from './process-cpu.ts';
import { startBenchTemporal } from './temporal-stack.ts';

const program = new Command('bench/orchestration.ts')
  .option('--instant <n>', 'experiments of the throughput run', '300')
  .option('--large <n>', 'experiments of the history-length run (0 to skip)', '1000')
  .option('--hosts <n>', 'simulated hosts of 8 GPUs for the instant runs', '4')
  .option('--sqlite', 'dev server on a SQLite file instead of in memory')
  .option('--no-search-attributes', "dev server without kvsweep's search attributes (no visibility upserts)")
  .option('--gap <n>', 'consecutive real experiments on one GPU for the idle gap (0 to skip)', '8')
  .option('--ready <n>', 'readiness trials (0 to skip)', '10')
  .parse();
const opts = program.opts<{ instant: string; large: string; hosts: string; sqlite?: boolean; searchAttributes: boolean; gap: string; ready: string }>();
Runtime.install({ logger: new DefaultLogger('WARN') });

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** A sweep YAML with n experiments (n/2 cache sizes x 2 strategies) on the simulator environment. */
function sweepOf(n: number, dir: string, gpuClass: string): string {
  const sizes = Array.from({ length: Math.ceil(n / 2) }, (_, i) => Math.round((0.001 + i * 0.001) * 1000) / 1000);
  return writeSweepFile({ tag: `bench${n}`, dir, cacheSizes: sizes, strategies: ['lru', 'conversation_aware'], gpuClass });
}

/** Host activities that do nothing: the experiment's real processes are out of the picture. */
function instantHostActivities(real: HostActivities, hostId: string): HostActivities {
  const now = () => new Date().toISOString();
  return {
    watchHost: real.watchHost,
    stopLeaseProcesses: real.stopLeaseProcesses,
    startServer: async (input) => ({ key: `${input.sweep_id}/${input.spec.id}`, host_id: hostId, pid: 0, port: 0, base_url: '', log_path: '', log_offset: 0, result_dir: join(input.results_dir, input.spec.id), started_at: now() }),
    awaitServerReady: async () => ({ ready_after_ms: 0, pattern_after_ms: 0 }),
    runClient: async () => ({ exit_code: 0, duration_s: 0 }),
    collectResults: async () => ({ benchmark_results: { completed: 1 }, cache_statistics: {} }),
    teardownServer: async () => ({ ended: 'already-gone', duration_ms: 0, port_free: true, stopped_at: now() }),
  };
}

/** History length of every run of a workflow id (visibility has it for closed runs; describe for the open one). */
async function historyLengths(client: Client, workflowId: string): Promise<number[]> {
  const lengths: number[] = [];
  for await (const execution of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    if (execution.status.name === 'RUNNING') lengths.push((await client.workflow.getHandle(workflowId, execution.runId).describe()).historyLength);
    else lengths.push(execution.historyLength);
  }
  return lengths;
}

async function instantRuns(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'kvsweep-bench-orch-'));
  const temporal = await startBenchTemporal({ dir, dbFile: opts.sqlite ? join(dir, 'temporal.db') : null, searchAttributes: opts.searchAttributes });
  const { server, connection, client } = temporal;
  const gpuClass = 'bench';
  const workers: Worker[] = [];
  const common = { connection, maxHeartbeatThrottleInterval: '1 second', defaultHeartbeatThrottleInterval: '1 second', stickyQueueScheduleToStartTimeout: '2 seconds' } as const;
  workers.push(await Worker.create({ ...common, taskQueue: CONTROL_TASK_QUEUE, workflowBundle: { codePath: await workflowBundlePath() }, activities: createControlActivities({ cwd: dir }), maxConcurrentWorkflowTaskExecutions: 100, maxConcurrentActivityTaskExecutions: 100 }));
  const hosts = Number(opts.hosts);
  for (let h = 0; h < hosts; h++) {
    const hostId = `bench-${h}`;
    const deps = { hostId, incarnation: `bench-${h}`, processes: new HostProcesses(hostId), portBase: 40_000, portCount: 10, kvsweepArgv, teardownGraceMs: 1_000 };
    workers.push(await Worker.create({ ...common, taskQueue: hostTaskQueue(hostId), activities: instantHostActivities(createHostActivities(deps), hostId), maxConcurrentActivityTaskExecutions: 200 }));
    await client.workflow.signalWithStart(WorkflowTypes.gpuPool, {
      workflowId: GPU_POOL_WORKFLOW_ID, taskQueue: CONTROL_TASK_QUEUE, args: [{}], signal: Signals.registerHost,
      signalArgs: [{ host_id: hostId, incarnation: deps.incarnation, gpu_class: gpuClass, gpu_ids: ['0', '1', '2', '3', '4', '5', '6', '7'], task_queue: hostTaskQueue(hostId), heartbeat_timeout_s: 30 }],
    });
  }
  temporal.run(workers);
  const results: Record<string, unknown> = {
    server: `dev server, ${opts.sqlite ? 'SQLite file' : 'in memory'}, ${opts.searchAttributes ? 'with' : 'without'} kvsweep's search attributes`,
    hosts: `${hosts} x 8 GPUs`,
  };
  try {
    for (const [label, n] of [['throughput', Number(opts.instant)], ['large', Number(opts.large)]] as const) {
      if (!n) continue;
      const yaml = sweepOf(n, join(dir, label), gpuClass);
      const { resolved } = await planSweep(yaml);
      const sweepId = `sweep/bench/${label}-${Date.now()}`;
      const started = performance.now();
      const cpuPerExperiment = temporal.cpuMeter();
      const handle = await client.workflow.start(WorkflowTypes.sweep, { workflowId: sweepId, taskQueue: CONTROL_TASK_QUEUE, args: [{ resolved, results_dir: join(dir, label, 'results') }] });
      const result = (await handle.result()) as SweepResult;
      const seconds = (performance.now() - started) / 1000;
      const cpu = cpuPerExperiment(n);
      const ids = expandSweep(resolved).map((s) => s.id);
      for (const id of ids) {
        const outcome = JSON.parse(readFileSync(join(dir, label, 'results', id, 'outcome.json'), 'utf8')) as ExperimentOutcome;
        if (outcome.status !== 'succeeded') console.error(`${id}: ${outcome.status}: ${outcome.error}`);
      }
      const sweepRuns = await historyLengths(client, sweepId);
      const sample = ids.filter((_, i) => i % Math.max(1, Math.floor(ids.length / 20)) === 0);
      const experimentLengths = (await Promise.all(sample.map((id) => historyLengths(client, `${sweepId}/${id}`)))).flat();
      results[label] = {
        experiments: n,
        succeeded: result.counts.succeeded,
        seconds: Math.round(seconds * 10) / 10,
        experiments_per_second: Math.round((n / seconds) * 10) / 10,
        // Worker = this process (workflows, activities, the client); server = the dev server.
        cpu_ms_per_experiment: cpu,
        server_peak_rss_mb: processPeakRssMb(server.process.pid!),
        load_average_1m: Math.round(loadavg()[0]! * 10) / 10,
        sweep_runs: sweepRuns.length,
        sweep_max_history_events: Math.max(...sweepRuns),
        experiment_max_history_events: Math.max(...experimentLengths),
        gpu_pool_history_events: Math.max(...(await historyLengths(client, GPU_POOL_WORKFLOW_ID))),
      };
      console.log(label, JSON.stringify(results[label]));
    }
  } finally {
    await temporal.stop();
  }
  return results;
}

/** Idle gap on one GPU: previous server stopped -> next server spawned, from outcome.json files. */
async function idleGapRun(n: number): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'kvsweep-bench-gap-'));
  const address = `127.0.0.1:${await freePort()}`;
  const server = await startDevServer({ address, dbFile: null, uiPort: null, logPath: join(dir, 'temporal.log') });
  const worker = await startWorker({ address, hostId: 'gap-host', gpus: 1, gpuClass: 'gap', portBase: await freePortRange(200) });
  const client = new Client({ connection: await Connection.connect({ address }) });
  try {
    const sizes = Array.from({ length: n }, (_, i) => 0.001 * (i + 1));
    const yaml = writeSweepFile({ tag: 'gap', dir, cacheSizes: sizes, gpuClass: 'gap', rates: [20] });
    const { resolved } = await planSweep(yaml);
    const resultsDir = join(dir, 'results');
    const handle = await client.workflow.start(WorkflowTypes.sweep, { workflowId: `sweep/gap/${Date.now()}`, taskQueue: CONTROL_TASK_QUEUE, args: [{ resolved, results_dir: resultsDir }] });
    await handle.result();
    const attempts = expandSweep(resolved)
      .map((s) => (JSON.parse(readFileSync(join(resultsDir, s.id, 'outcome.json'), 'utf8')) as ExperimentOutcome).attempts.at(-1)!)
      .sort((a, b) => Date.parse(a.server_started_at!) - Date.parse(b.server_started_at!));
    const gaps = attempts.slice(1).map((a, i) => (Date.parse(a.server_started_at!) - Date.parse(attempts[i]!.server_stopped_at!)) / 1000);
    const ready = attempts.map((a) => a.server_ready_after_ms!);
    return {
      experiments: n,
      idle_gap_s: { p50: percentile(gaps, 50), max: Math.max(...gaps), all: gaps },
      server_spawn_to_ready_ms: { p50: percentile(ready, 50), max: Math.max(...ready) },
    };
  } finally {
    await worker.kill('SIGTERM');
    await client.connection.close();
    await server.stop();
  }
}

/** Readiness detection: a 1 ms prober sees /health turn 200; waitUntilReady (the activity's code) notices. */
async function readinessRun(trials: number): Promise<Record<string, unknown>> {
  const delays: number[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'kvsweep-bench-ready-'));
  for (let t = 0; t < trials; t++) {
    const port = await freePort();
    const logPath = join(dir, `server-${t}.log`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(logPath, '');
    const fd = openSync(logPath, 'a');
    const child = spawn(kvsweepArgv[0]!, [...kvsweepArgv.slice(1), 'sim', 'serve', 'kvsweep/sim-small', '--port', String(port), '--startup-delay', '1.5'], { stdio: ['ignore', fd, fd], cwd: projectRoot });
    let exited: { exitCode: number | undefined; signal: string | undefined } | undefined;
    child.once('exit', (code, signal) => (exited = { exitCode: code ?? undefined, signal: signal ?? undefined }));
    const url = `http://127.0.0.1:${port}/health`;
    const prober = (async () => {
      for (;;) {
        const ok = await fetch(url).then((r) => r.status === 200, () => false);
        if (ok) return performance.now();
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    })();
    const result = await waitUntilReady({ logPath, logOffset: 0, pattern: /Application startup complete/m, healthUrl: url, timeoutMs: 30_000, exited: () => exited, heartbeat: () => {}, signal: new AbortController().signal });
    const detected = performance.now();
    const healthy = await prober;
    if (!result.ready) throw new Error(`trial ${t}: ${result.reason === 'exited' ? 'the server exited' : result.awaited}`);
    delays.push(Math.max(0, detected - healthy));
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  return { trials, detection_delay_ms: { p50: percentile(delays, 50), max: Math.max(...delays), all: delays.map((d) => Math.round(d * 10) / 10) } };
}

const figures: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, cores: cpus().length, load_average_at_start: loadavg()[0] };
if (Number(opts.instant) || Number(opts.large)) figures.instant = await instantRuns();
if (Number(opts.gap)) figures.idle_gap = await idleGapRun(Number(opts.gap));
if (Number(opts.ready)) figures.readiness = await readinessRun(Number(opts.ready));
mkdirSync(join(projectRoot, 'bench', 'results'), { recursive: true });
writeFileSync(join(projectRoot, 'bench', 'results', 'orchestration.json'), JSON.stringify(figures, null, 2) + '\n');
console.log(JSON.stringify(figures, null, 2));
process.exit(0);
