// A 15-experiment offline sweep file end to end through Temporal (issue 16, points 4 and 7). Run:
//   npx tsx bench/offline-sweep.ts [--reps 3] [--conversations 2000]
// The file is shaped as the old tool's simulation_*.yaml (3 cache sizes x lru, conversation_aware,
// oracle, and lightgbm x regression, ranking) over a synthetic trace like its benchmark trace
// (`kvsweep trace synth --conversations 2000 --turns-mean 7.5 --seed 1`: 14,703 requests), in
// environment offline, once per cache model:
// - kvsweep: kvsweep's engine; the 6 lightgbm experiments fail at once (no lightgbm in that model);
// - old-simulator: the old simulator's model, all 15 (LightGBM trains through Python; the
//   provisioned venv, or KVSWEEP_LIGHTGBM_PYTHON).
// Each is run as a user runs it, `kvsweep simulate --yaml FILE` in a child process, against a dev
// server the bench started (warm: the common case), and once with none answering (the command
// starts the embedded one). Figures: the command's wall time (spawn to exit, including Node start,
// the local worker, the simulation threads, summary and report), and the sweep workflow's own span
// (start to close, from Temporal). Writes bench/results/offline-sweep.json.
import { execa } from 'execa';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { startDevServer } from '../client/dev-server.ts';
import { writeSynthTrace } from '../loadgen/trace-cli.ts';
import { DEFAULT_SYNTH_OPTIONS } from '../loadgen/trace-synth.ts';
import { projectRoot } from '../platform/paths.ts';
import { connectClient } from '../platform/temporal.ts';
import { freePort } from '../test/support/ports.ts';

const { values: args } = parseArgs({ options: { reps: { type: 'string', default: '3' }, conversations: { type: 'string', default: '2000' } } });
const reps = Number(args.reps);
const work = mkdtempSync(join(tmpdir(), 'kvsweep-bench-offline-sweep-'));
const trace = join(work, 'trace.csv');
const requests = await writeSynthTrace(trace, { ...DEFAULT_SYNTH_OPTIONS, conversations: Number(args.conversations), turnsMean: 7.5, seed: 1 });

function sweepFile(cacheModel: 'kvsweep' | 'old-simulator'): string {
  const path = join(work, `sweep-${cacheModel}.yaml`);
  const entry = { path: trace, name: 'synth', cache_size_gb: [32, 64, 128] };
  writeFileSync(
    path,
    stringify({
      tag: `bench_offline_${cacheModel.replace('-', '_')}`,
      model_name: 'qwen-8b',
      log_base_dir: join(work, 'results'),
      defaults: { request_rate_per_second: 1.0, cache_model: cacheModel, lightgbm_mode: 'regression' },
      experiments: {
        datasets: [
          { ...entry, cache_eviction_strategy: ['LRU', 'CONVERSATION_AWARE', 'ORACLE'] },
          { ...entry, cache_eviction_strategy: ['LIGHTGBM'], lightgbm_mode: ['regression', 'ranking'] },
        ],
      },
    }),
  );
  return path;
}

interface Run {
  cache_model: string;
  server: 'warm' | 'embedded';
  wall_s: number;
  sweep_span_s: number | null;
  succeeded: number;
  failed: number;
  load_avg_1m: number;
}

let counter = 0;
async function runOnce(address: string, yaml: string, cacheModel: string, server: Run['server']): Promise<Run> {
  const sweepId = `bench/offline-sweep/${Date.now()}-${counter++}`;
  const load = loadavg()[0]!;
  const t0 = performance.now();
  const child = await execa(process.execPath, [join(projectRoot, 'bin', 'kvsweep.js'), 'simulate', '--yaml', yaml, '--env', 'offline', '--sweep-id', sweepId, '--json'], {
    // The default data dir: its provisioned LightGBM venv is reused.
    env: { ...process.env, TEMPORAL_ADDRESS: address, KVSWEEP_LOCAL_HOST_ID: `bench-offline-${process.pid}` },
    reject: false,
    cwd: work,
  });
  const wall = (performance.now() - t0) / 1000;
  if (child.exitCode !== 0 && child.exitCode !== 1) throw new Error(`simulate exited ${child.exitCode}:\n${child.stderr}`);
  const result = JSON.parse(child.stdout) as { counts: { succeeded: number; failed: number } };
  let span: number | null = null;
  if (server === 'warm') {
    const client = await connectClient(address);
    const d = await client.workflow.getHandle(sweepId).describe();
    span = d.closeTime ? (d.closeTime.getTime() - d.startTime.getTime()) / 1000 : null;
    await client.connection.close();
  }
  return { cache_model: cacheModel, server, wall_s: wall, sweep_span_s: span, succeeded: result.counts.succeeded, failed: result.counts.failed, load_avg_1m: load };
}

const runs: Run[] = [];
const say = (r: Run) =>
  console.log(
    `${r.cache_model.padEnd(14)} ${r.server.padEnd(8)} wall ${r.wall_s.toFixed(2)} s` +
      (r.sweep_span_s === null ? '' : `, sweep workflow ${r.sweep_span_s.toFixed(2)} s`) +
      `  (${r.succeeded} succeeded, ${r.failed} failed; load ${r.load_avg_1m.toFixed(1)})`,
  );

for (const cacheModel of ['kvsweep', 'old-simulator'] as const) {
  const yaml = sweepFile(cacheModel);
  // With no server answering, the command starts the embedded one (and stops it at the end).
  const embedded = await runOnce(`127.0.0.1:${await freePort()}`, yaml, cacheModel, 'embedded');
  runs.push(embedded);
  say(embedded);
}
const address = `127.0.0.1:${await freePort()}`;
const server = await startDevServer({ address, dbFile: null, uiPort: null, logPath: join(work, 'server.log') });
try {
  for (const cacheModel of ['kvsweep', 'old-simulator'] as const) {
    const yaml = sweepFile(cacheModel);
    for (let i = 0; i < reps; i++) {
      const run = await runOnce(address, yaml, cacheModel, 'warm');
      runs.push(run);
      say(run);
    }
  }
} finally {
  await server.stop();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const summary = (['kvsweep', 'old-simulator'] as const).map((m) => {
  const warm = runs.filter((r) => r.cache_model === m && r.server === 'warm');
  return { cache_model: m, median_wall_s: median(warm.map((r) => r.wall_s)), median_sweep_span_s: median(warm.map((r) => r.sweep_span_s ?? 0)) };
});
for (const s of summary) console.log(`${s.cache_model}: median wall ${s.median_wall_s.toFixed(2)} s, sweep workflow ${s.median_sweep_span_s.toFixed(2)} s (warm server, ${reps} runs)`);
const result = {
  benchmark: 'offline-sweep',
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, offline_threads: availableParallelism(), node: process.version },
  command: `npx tsx bench/offline-sweep.ts ${process.argv.slice(2).join(' ')}`.trim(),
  input: { trace: `kvsweep trace synth --conversations ${args.conversations} --turns-mean 7.5 --seed 1`, requests },
  runs,
  summary,
};
mkdirSync(join(projectRoot, 'bench', 'results'), { recursive: true });
writeFileSync(join(projectRoot, 'bench', 'results', 'offline-sweep.json'), `${JSON.stringify(result, null, 2)}\n`);
rmSync(work, { recursive: true, force: true });
console.log('wrote bench/results/offline-sweep.json');
