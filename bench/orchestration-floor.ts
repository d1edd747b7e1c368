// The floor under orchestration throughput (issue 5, point 8): the same dev server, worker setup
// and CPU accounting as bench/orchestration.ts, running reference workflows (workflows/floor.ts)
// that do the least any design with a child workflow and five host activities per experiment can:
// no GPU pool, no signals, no outcome files, no search attributes. What kvsweep's own workflows
// cost above this floor is what a redesign could win; the floor itself is Temporal's.
//
//   npx tsx bench/orchestration-floor.ts [--experiments 300] [--window 32] [--hosts 4] [--runs 2]
// Prints one line per run and writes bench/results/orchestration-floor.json.
import { DefaultLogger, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { Command } from 'commander';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../platform/paths.ts';
import { startBenchTemporal } from './temporal-stack.ts';

const opts = new Command('bench/orchestration-floor.ts')
  .option('--experiments <n>', 'experiments per run', '300')
  .option('--window <n>', 'experiments running at once', '32')
  .option('--hosts <n>', 'host task queues (one worker each)', '4')
  .option('--runs <n>', 'runs, one after another on the same server', '2')
  .parse()
  .opts<{ experiments: string; window: string; hosts: string; runs: string }>();
Runtime.install({ logger: new DefaultLogger('WARN') });

const dir = mkdtempSync(join(tmpdir(), 'kvsweep-bench-floor-'));
const temporal = await startBenchTemporal({ dir, dbFile: null, searchAttributes: false });
const { connection, client } = temporal;
const { code } = await bundleWorkflowCode({ workflowsPath: join(projectRoot, 'workflows', 'floor.ts'), logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error } });
const noop = async () => undefined;
const hostQueues = Array.from({ length: Number(opts.hosts) }, (_, h) => `floor-host-${h}`);
const workers = [
  await Worker.create({ connection, taskQueue: 'floor-control', workflowBundle: { code }, maxConcurrentWorkflowTaskExecutions: 100 }),
  ...(await Promise.all(hostQueues.map((taskQueue) => Worker.create({ connection, taskQueue, activities: { startServer: noop, awaitServerReady: noop, runClient: noop, collectResults: noop, teardownServer: noop }, maxConcurrentActivityTaskExecutions: 200 })))),
];
temporal.run(workers);
const runs: Array<Record<string, unknown>> = [];
try {
  const n = Number(opts.experiments);
  for (let run = 1; run <= Number(opts.runs); run++) {
    const cpuPerExperiment = temporal.cpuMeter();
    const started = performance.now();
    const done = await client.workflow.execute('FloorSweepWorkflow', { workflowId: `floor-${run}-${Date.now()}`, taskQueue: 'floor-control', args: [{ experiments: n, window: Number(opts.window), host_queues: hostQueues }] });
    const seconds = (performance.now() - started) / 1000;
    runs.push({
      run, experiments: done, seconds: Math.round(seconds * 10) / 10, experiments_per_second: Math.round((n / seconds) * 10) / 10,
      cpu_ms_per_experiment: cpuPerExperiment(n),
      load_average_1m: Math.round(loadavg()[0]! * 10) / 10,
    });
    console.log('floor', JSON.stringify(runs.at(-1)));
  }
  mkdirSync(join(projectRoot, 'bench', 'results'), { recursive: true });
  const figures = { date: new Date().toISOString(), node: process.version, cores: cpus().length, window: Number(opts.window), hosts: Number(opts.hosts), runs };
  writeFileSync(join(projectRoot, 'bench', 'results', 'orchestration-floor.json'), JSON.stringify(figures, null, 2) + '\n');
} finally {
  await temporal.stop();
}
process.exit(0);
