// Checks the GPU-hours model (domain/cost/) against a real run: a small sweep on kvsweep's
// simulator through the whole stack (`kvsweep run --yaml ... --gpus 2`: embedded Temporal, a
// local worker, the GPU pool), 1- and 2-GPU experiments of different lengths and one that fails
// at start-up on every attempt; then the model's prediction for the same sweep (the start-ups
// the simulator is told, the time limits, kvsweep's default overheads) against what the
// experiments' outcome.json files recorded.
//
//   npx tsx bench/gpu-hours-check.ts
// Prints both and writes bench/results/gpu-hours-check.json.
import { execa } from 'execa';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { planSweep } from '../config-files/load-sweep.ts';
import { estimateSweep, SIMULATOR_OVERHEADS } from '../domain/cost/estimate.ts';
import { simulateKvsweep } from '../domain/cost/kvsweep-sim.ts';
import { measureRun } from '../domain/cost/measures.ts';
import type { StartupFigure } from '../domain/cost/model.ts';
import { defaultStartup, recordedStartups, serverKeyOf } from '../domain/cost/startups.ts';
import { ExperimentOutcome } from '../domain/records.ts';
import { projectRoot } from '../platform/paths.ts';
import { toSimExperiment } from './gpu-hours-scenario.ts';

const SWEEP = `tag: cost-check
environment: sim
defaults:
  num_prompts: 400
  request_rates: [1]
  cache_eviction_strategy: lru
  max_attempts: 2
experiments:
  - datasets:
      - { path: demo-chat.csv, model_name: sim-small, cache_sizes: [0.5, 2], time_limit: 12, server_extra_args: [--startup-delay, '4'] }
      - { path: demo-chat.csv, model_name: sim-small, cache_sizes: [1], time_limit: 6, server_extra_args: [--startup-delay, '4'] }
      - { path: demo-chat.csv, model_name: sim-tp2, cache_sizes: [4, 8], time_limit: 10, server_extra_args: [--startup-delay, '6'] }
      - { path: demo-chat.csv, model_name: sim-small, cache_sizes: [16], time_limit: 8, server_extra_args: [--startup-delay, '4', --fail-startup] }
`;
/** --fail-startup exits after half the start-up delay. */
const FAILING = { cache_size_gb: 16, after_s: 0.3 + 4 / 2 };

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const ms = (iso: string | null) => (iso === null ? Number.NaN : Date.parse(iso));

// `--dir DIR`: analyse the folder of an earlier check instead of running again.
const reuse = process.argv[2] === '--dir' ? process.argv[3] : undefined;
const dir = reuse ?? mkdtempSync(join(tmpdir(), 'kvsweep-cost-check-'));
const load = loadavg()[0]!;
if (!reuse) {
  copyFileSync(join(projectRoot, 'configs', 'traces', 'demo-chat.csv'), join(dir, 'demo-chat.csv'));
  writeFileSync(join(dir, 'sweep.yaml'), SWEEP);
  const env = { TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`, KVSWEEP_HOME: join(dir, 'home'), KVSWEEP_LOCAL_HOST_ID: `cost-check-${process.pid}` };
  const started = Date.now();
  const run = await execa(process.execPath, [join(projectRoot, 'bin', 'kvsweep.js'), 'run', '--yaml', 'sweep.yaml', '--gpus', '2'], { cwd: dir, env, reject: false, all: true });
  // Exit 1: an experiment failed, as one here must.
  if (run.exitCode !== 1 || !/Failed:\s+1$/m.test(run.all ?? '')) {
    console.error(run.all);
    throw new Error(`kvsweep run exited ${run.exitCode}`);
  }
  console.log(`kvsweep run in ${dir}: ${Math.round((Date.now() - started) / 1000)} s wall, 1-minute load average ${load.toFixed(1)} at the start`);
}

// What happened: outcome.json of each experiment.
const logs = join(dir, 'logs');
const resultsDir = join(logs, readdirSync(logs).find((name) => name.startsWith('cost-check_'))!);
const outcomes = readdirSync(resultsDir, { withFileTypes: true })
  .filter((e) => e.isDirectory() && existsSync(join(resultsDir, e.name, 'outcome.json')))
  .map((e) => ExperimentOutcome.parse(JSON.parse(readFileSync(join(resultsDir, e.name, 'outcome.json'), 'utf8'))));
const attempts = outcomes.flatMap((o) => o.attempts.map((a) => ({ ...a, experiment_id: o.experiment_id })));
const t0 = Math.min(...attempts.map((a) => ms(a.started_at)));
const measured = {
  makespan_s: (Math.max(...attempts.map((a) => ms(a.ended_at))) - t0) / 1000,
  // GPUs from the server's spawn to the attempt's end (teardown and release included).
  gpu_seconds: attempts.reduce((sum, a) => sum + (a.server_started_at ? a.gpu_ids.length * (ms(a.ended_at) - ms(a.server_started_at)) : 0), 0) / 1000,
  attempts: attempts.length,
};
// Where the time went, per attempt: waiting for GPUs, spawn to ready, ready to the attempt's end.
const phases = attempts.map((a) => {
  const spawned = ms(a.server_started_at);
  const ready = a.server_ready_after_ms === null ? null : spawned + a.server_ready_after_ms;
  const spec = outcomes.find((o) => o.experiment_id === a.experiment_id)!.configuration as { time_limit: number };
  return {
    experiment: a.experiment_id,
    attempt: a.attempt,
    result: a.result,
    time_limit_s: spec.time_limit,
    request_to_spawn_s: (spawned - ms(a.started_at)) / 1000,
    spawn_to_ready_s: ready === null ? null : (ready - spawned) / 1000,
    ready_to_end_s: ready === null ? null : (ms(a.ended_at) - ready) / 1000,
    spawn_to_end_s: (ms(a.ended_at) - spawned) / 1000,
  };
});
console.table(phases.map((p) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, typeof v === 'number' ? Math.round(v * 10) / 10 : v]))));

// What the model predicts for the same sweep.
const { experiments: specs } = await planSweep(join(dir, 'sweep.yaml'), { cwd: dir, userConfigDir: null });
const predict = (startups: Record<string, StartupFigure>) => {
  const sims = specs.map((spec) => toSimExperiment(spec, 'check', null, spec.cache_size_gb === FAILING.cache_size_gb ? [0, spec.max_attempts, FAILING.after_s] : undefined));
  const result = simulateKvsweep({ hosts: [{ host_id: 'local', gpu_count: 2, gpu_class: 'any' }], submissions: [{ at_s: 0, experiments: sims }], startups, overheads: SIMULATOR_OVERHEADS });
  const m = measureRun(result);
  const gpuSeconds = result.attempts.reduce((sum, a) => sum + a.gpu_ids.length * (a.held_until_s - a.spawned_s), 0);
  return { makespan_s: m.makespan_s, gpu_seconds: gpuSeconds, attempts: m.attempts };
};
const told = Object.fromEntries(specs.map((spec) => [serverKeyOf(spec), defaultStartup(spec)]));
const predicted = predict(told);
// The same with the start-ups this run recorded (what `plan` would use next time).
const recorded = { ...told, ...recordedStartups(outcomes) };
const predictedRecorded = predict(recorded);
const estimate = estimateSweep(specs, 2, recordedStartups(outcomes));

const error = (p: { makespan_s: number; gpu_seconds: number }) => ({
  makespan: Math.round(((p.makespan_s - measured.makespan_s) / measured.makespan_s) * 1000) / 10,
  gpu_seconds: Math.round(((p.gpu_seconds - measured.gpu_seconds) / measured.gpu_seconds) * 1000) / 10,
});
const line = (name: string, p: { makespan_s: number; gpu_seconds: number; attempts: number }) =>
  `${name.padEnd(44)} makespan ${p.makespan_s.toFixed(1).padStart(6)} s   GPU-seconds ${p.gpu_seconds.toFixed(1).padStart(6)}   attempts ${p.attempts}`;
console.log(line('measured (outcome.json)', measured));
console.log(`${line('model, start-ups as configured', predicted)}   error ${JSON.stringify(error(predicted))} %`);
console.log(`${line('model, start-ups recorded by this run', predictedRecorded)}   error ${JSON.stringify(error(predictedRecorded))} %`);
console.log(`recorded start-ups: ${JSON.stringify(recordedStartups(outcomes), null, 1)}`);

mkdirSync(join(projectRoot, 'bench', 'results'), { recursive: true });
const figures = { date: new Date().toISOString(), load_average_1m: load, sweep: SWEEP, measured, phases, predicted: { configured: predicted, recorded: predictedRecorded }, error_percent: { configured: error(predicted), recorded: error(predictedRecorded) }, estimate };
writeFileSync(join(projectRoot, 'bench', 'results', 'gpu-hours-check.json'), JSON.stringify(figures, null, 2) + '\n');
console.log('wrote bench/results/gpu-hours-check.json');
