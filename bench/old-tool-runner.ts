// Drives the old Python tool's own offline simulator for bench/old-simulator.ts: its converter
// (trace CSV -> log pair) and its simulator_runner.py with a sweep file, measuring wall time, the
// process's CPU time (getrusage at exit, through a small wrapper) and the replay loop's own time
// (the "Completed replay of N events in X s" line it logs). The old tool is run from a folder
// outside this repository (an extracted `v1/` with a venv); none of its code is part of kvsweep.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';

export interface OldTool {
  /** Folder holding the old tool's `v1/`. */
  dir: string;
  python: string;
  /** OMP_NUM_THREADS for its runs ('' leaves the default). */
  ompThreads: string;
}

export interface OldExperimentFigures {
  experiment_id: string;
  token_hit_ratio: number;
  hit_ratio: number;
  total_requests: number;
  evictions: number;
  execution_time_seconds: number;
}

export interface OldRun {
  wall_s: number;
  cpu_s: number;
  /** Wall seconds of each replay loop, in run order (as it logs them). */
  replay_s: number[];
  /** CPU seconds of each replay loop. */
  replay_cpu_s: number[];
  experiments: OldExperimentFigures[];
}

// Reports the process's CPU seconds at exit and the CPU seconds of each replay loop (its
// replay_log_events timed from outside with process_time), then runs the script as __main__.
const CPU_WRAPPER = [
  'import sys, os, time, runpy, resource, atexit',
  'script = sys.argv[1]; sys.argv = sys.argv[1:]',
  "sys.path.insert(0, os.path.join(os.path.dirname(script), '..'))",
  'import simulation.cache_simulator as cs',
  'replay = cs.CacheSimulatorReplay.replay_log_events',
  'def timed(self, events):',
  '    t = time.process_time(); replay(self, events)',
  "    sys.stderr.write('KVSWEEP_BENCH_REPLAY_CPU %f\\n' % (time.process_time() - t))",
  'cs.CacheSimulatorReplay.replay_log_events = timed',
  'def report():',
  '    r = resource.getrusage(resource.RUSAGE_SELF)',
  "    sys.stderr.write('KVSWEEP_BENCH_CPU %f\\n' % (r.ru_utime + r.ru_stime)); sys.stderr.flush()",
  'atexit.register(report)',
  "runpy.run_path(script, run_name='__main__')",
].join('\n');

function env(tool: OldTool): Record<string, string> {
  return tool.ompThreads ? { OMP_NUM_THREADS: tool.ompThreads } : {};
}

/** The old converter: `trace.csv` -> server_<model>.log + client_<model>.log in `outDir`; returns the server log. */
export async function convertWithOldTool(tool: OldTool, trace: string, outDir: string): Promise<string> {
  const script = join(tool.dir, 'v1', 'src', 'simulation', 'csv_to_logs_converter.py');
  await execa(tool.python, [script, trace, 'qwen-8b', '--output-dir', outDir], { cwd: outDir });
  return join(outDir, 'server_qwen-8b.log');
}

export interface OldSweep {
  serverLog: string;
  sizes: number[];
  policies: string[];
  lightgbmModes: string[];
}

/** A sweep file in the old tool's format (as its simulation_*.yaml files are written). */
export function oldSweepYaml(s: OldSweep, logBase: string): string {
  const datasets: string[] = [];
  const plain = s.policies.filter((p) => p !== 'lightgbm').map((p) => `"${p.toUpperCase()}"`);
  const sizes = `[${s.sizes.join(', ')}]`;
  if (plain.length > 0) datasets.push(`    - path: "${s.serverLog}"\n      cache_size_gb: ${sizes}\n      cache_eviction_strategy: [${plain.join(', ')}]`);
  if (s.policies.includes('lightgbm')) {
    datasets.push(`    - path: "${s.serverLog}"\n      cache_size_gb: ${sizes}\n      cache_eviction_strategy: ["LIGHTGBM"]\n      lightgbm_mode: [${s.lightgbmModes.map((m) => `"${m}"`).join(', ')}]`);
  }
  return [
    'tag: "kvsweep_bench"',
    'model_name: "qwen-8b"',
    `log_base_dir: "${logBase}"`,
    'defaults:',
    '  request_rate_per_second: 1.0',
    '  cache_eviction_strategy: "CONVERSATION_AWARE"',
    '  lightgbm_mode: "regression"',
    'experiments:',
    '  datasets:',
    ...datasets,
    '',
  ].join('\n');
}

/** Runs simulator_runner.py on a sweep file in `workDir`; its (large) debug log goes to a file there. */
export async function runOldSweep(tool: OldTool, sweep: OldSweep, workDir: string, name: string): Promise<OldRun> {
  const yaml = join(workDir, `${name}.yaml`);
  writeFileSync(yaml, oldSweepYaml(sweep, join(workDir, 'logs')));
  const runner = join(tool.dir, 'v1', 'src', 'simulation', 'simulator_runner.py');
  const out = join(workDir, `${name}-out`);
  const stderrFile = join(workDir, `${name}.stderr`);
  const t0 = performance.now();
  const r = await execa(tool.python, ['-c', CPU_WRAPPER, runner, '--yaml', yaml, '--output-dir', out, '--model-dir', join(workDir, 'models')], {
    cwd: workDir,
    env: env(tool),
    stdout: 'ignore',
    stderr: { file: stderrFile },
    reject: false,
  });
  const wall = (performance.now() - t0) / 1000;
  const log = readFileSync(stderrFile, 'utf8');
  if (r.exitCode !== 0) throw new Error(`old simulator_runner.py failed (exit ${r.exitCode}); log ${stderrFile}`);
  const cpu = Number(/KVSWEEP_BENCH_CPU ([\d.]+)/.exec(log)?.[1] ?? 'NaN');
  const replay = [...log.matchAll(/Completed replay of \d+ events in ([\d.]+)s/g)].map((m) => Number(m[1]));
  const replayCpu = [...log.matchAll(/KVSWEEP_BENCH_REPLAY_CPU ([\d.]+)/g)].map((m) => Number(m[1]));
  const summary = JSON.parse(readFileSync(join(out, `summary_${name}.json`), 'utf8')) as Array<{
    experiment_id: string;
    basic_stats: { token_hit_ratio: number; hit_ratio: number; total_requests: number; evictions: number };
    execution_time_seconds: number;
  }>;
  const experiments = summary.map((e) => ({
    experiment_id: e.experiment_id,
    token_hit_ratio: e.basic_stats.token_hit_ratio,
    hit_ratio: e.basic_stats.hit_ratio,
    total_requests: e.basic_stats.total_requests,
    evictions: e.basic_stats.evictions,
    execution_time_seconds: e.execution_time_seconds,
  }));
  return { wall_s: wall, cpu_s: cpu, replay_s: replay, replay_cpu_s: replayCpu, experiments };
}
