// Benchmark of the old simulator's model (issue 16, points 5 and 7): the old Python tool's own
// simulator and kvsweep's reimplementation (offline/old-simulator/) on the same log pair, side by
// side in one run: token hit ratios, requests per second of the replay loop (per wall second and
// per CPU second: other work shares these cores), wall time per run, and a 15-experiment
// simulation file end to end (lru, conversation_aware, oracle, lightgbm regression and ranking at
// three sizes, as the old tool's simulation_*.yaml files are built).
// Run: npx tsx bench/old-simulator.ts [--old-tool DIR] [--old-python PY] [--sizes 30,57,97]
//        [--policies lru,conversation_aware,oracle,lightgbm] [--repeats 5] [--file-run]
//        [--omp-threads 1] [--conversations 2000] [--turns-mean 7.5] [--seed 1]
// DIR holds the old tool's `v1/` (git archive of yangdsh/vllm_cache_bench, outside this repo) and
// PY a Python with its imports (numpy, pandas, lightgbm, pyyaml, transformers); without DIR only
// kvsweep runs, on the trace CSV. Writes bench/results/old-simulator.json and prints a summary.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import type { LightgbmMode } from '../offline/lightgbm/train.ts';
import { OldCacheModel } from '../offline/old-simulator/cache-model.ts';
import { readOldSource, runOldSimulatorExperiment } from '../offline/old-simulator/experiment.ts';
import { LruPolicy, ScoredPolicy } from '../offline/old-simulator/policies.ts';
import type { OldPolicy, OldSource } from '../offline/old-simulator/schema.ts';
import { lightgbmScorer, oracleScorer, ruleScorer } from '../offline/old-simulator/scorers.ts';
import { readLightgbmModel, type LightgbmModel } from '../offline/lightgbm/model.ts';
import { convertWithOldTool, runOldSweep, type OldRun, type OldTool } from './old-tool-runner.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values: args } = parseArgs({
  options: {
    'old-tool': { type: 'string', default: process.env.KVSWEEP_OLD_TOOL ?? '' },
    'old-python': { type: 'string', default: '' },
    sizes: { type: 'string', default: '30,57,97' },
    policies: { type: 'string', default: 'lru,conversation_aware,oracle,lightgbm' },
    repeats: { type: 'string', default: '5' },
    'file-run': { type: 'boolean', default: false },
    'omp-threads': { type: 'string', default: '1' },
    conversations: { type: 'string', default: '2000' },
    'turns-mean': { type: 'string', default: '7.5' },
    seed: { type: 'string', default: '1' },
  },
});
const sizes = args.sizes.split(',').map(Number);
const policies = args.policies.split(',') as OldPolicy[];
const repeats = Number(args.repeats);
const BYTES_PER_TOKEN = 147_456;
const work = mkdtempSync(join(tmpdir(), 'kvsweep-bench-old-sim-'));
const oldTool: OldTool | undefined = args['old-tool']
  ? { dir: args['old-tool'], python: args['old-python'] || join(args['old-tool'], 'venv', 'bin', 'python'), ompThreads: args['omp-threads'] === 'default' ? '' : args['omp-threads'] }
  : undefined;
if (oldTool && !existsSync(join(oldTool.dir, 'v1', 'src', 'simulation', 'simulator_runner.py'))) throw new Error(`--old-tool ${oldTool.dir}: no v1/src/simulation/simulator_runner.py there`);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = (): number => loadavg()[0]!;

// The input: a synthetic trace like OLD-TOOL.md's, converted by the old tool when it is here.
const trace = join(work, 'trace.csv');
await execa(process.execPath, [join(ROOT, 'bin', 'kvsweep.js'), 'trace', 'synth', '--out', trace, '--conversations', args.conversations, '--turns-mean', args['turns-mean'], '--seed', args.seed]);
const source: OldSource = oldTool
  ? { kind: 'log-pair', server_log: await convertWithOldTool(oldTool, trace, work) }
  : { kind: 'trace-csv', path: trace, decode_tokens_per_second: 50 };
const stream = readOldSource(source);
const requests = stream.events.filter((e) => e.kind === 'send').length;
console.log(`input: ${requests} requests, ${stream.events.length} events (${source.kind}); load average ${load().toFixed(1)} on ${cpus().length} cores`);

interface Row {
  policy: OldPolicy;
  cache_size_gb: number;
  old: { token_hit_ratio: number; wall_s: number; cpu_s: number; replay_s: number; replay_cpu_s: number; replay_requests_per_s: number; replay_requests_per_cpu_s: number } | null;
  kvsweep: { token_hit_ratio: number; wall_s: number; replay_requests_per_s: number; replay_requests_per_cpu_s: number; replay_runs: number };
  difference_points: number | null;
  load_avg_1m: number;
}

/** kvsweep's replay loop alone, repeated on the events already read (JIT warm after the first). */
function kvsweepReplayRates(policy: OldPolicy, gb: number, trained: LightgbmModel | undefined): { wall: number; cpu: number } {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const scorer =
      policy === 'lru' ? undefined : policy === 'oracle' ? oracleScorer(stream.events) : policy === 'lightgbm' ? lightgbmScorer(trained!) : ruleScorer();
    const model = new OldCacheModel({ cacheSizeGb: gb, bytesPerToken: BYTES_PER_TOKEN, policy: scorer ? new ScoredPolicy(scorer) : new LruPolicy(), scorer });
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    model.replay(stream.events);
    const seconds = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    wall.push(requests / seconds);
    cpu.push(requests / ((c.user + c.system) / 1e6));
  }
  return { wall: median(wall), cpu: median(cpu) };
}

const lightgbm = { mode: 'regression' as LightgbmMode, training: { kind: 'old-tool' as const, max_events: 100_000 } };
const rows: Row[] = [];
for (const policy of policies) {
  for (const gb of sizes) {
    const loadAtStart = load();
    let old: Row['old'] = null;
    if (oldTool) {
      const run: OldRun = await runOldSweep(oldTool, { serverLog: (source as { server_log: string }).server_log, sizes: [gb], policies: [policy], lightgbmModes: ['regression'] }, work, `one_${policy}_${gb}`);
      const e = run.experiments[0]!;
      const replayCpu = run.replay_cpu_s[0]!;
      old = { token_hit_ratio: e.token_hit_ratio, wall_s: run.wall_s, cpu_s: run.cpu_s, replay_s: run.replay_s[0]!, replay_cpu_s: replayCpu, replay_requests_per_s: requests / run.replay_s[0]!, replay_requests_per_cpu_s: requests / replayCpu };
    }
    const t0 = performance.now();
    const figures = await runOldSimulatorExperiment({ source, cache_size_gb: gb, policy, bytes_per_token: BYTES_PER_TOKEN, lightgbm, record_requests: false }, join(work, `kvsweep_${policy}_${gb}`), { modelCache: join(work, 'models', `${policy}-${gb}`) });
    const wall = (performance.now() - t0) / 1000;
    const rates = kvsweepReplayRates(policy, gb, figures.lightgbm ? readLightgbmModel(figures.lightgbm.model_path) : undefined);
    const mine = figures.all.token_hit_ratio!;
    rows.push({
      policy,
      cache_size_gb: gb,
      old,
      kvsweep: { token_hit_ratio: mine, wall_s: wall, replay_requests_per_s: rates.wall, replay_requests_per_cpu_s: rates.cpu, replay_runs: repeats },
      difference_points: old ? (mine - old.token_hit_ratio) * 100 : null,
      load_avg_1m: loadAtStart,
    });
    const r = rows[rows.length - 1]!;
    console.log(
      `${policy.padEnd(18)} ${String(gb).padStart(4)} GB  hit ${(100 * mine).toFixed(2)}%` +
        (old ? ` (old ${(100 * old.token_hit_ratio).toFixed(2)}%, diff ${r.difference_points!.toFixed(3)} pts)` : '') +
        `  replay per CPU-s kvsweep ${Math.round(rates.cpu)} req/s` +
        (old ? ` vs old ${Math.round(old.replay_requests_per_cpu_s)} req/s (x${(rates.cpu / old.replay_requests_per_cpu_s).toFixed(0)})` : '') +
        ` [wall: ${Math.round(rates.wall)}` + (old ? ` vs ${Math.round(old.replay_requests_per_s)}` : '') + ']' +
        `  wall kvsweep ${wall.toFixed(2)} s` +
        (old ? ` vs old ${old.wall_s.toFixed(1)} s (CPU ${old.cpu_s.toFixed(1)} s)` : '') +
        `  load ${loadAtStart.toFixed(1)}`,
    );
  }
}

// The 15-experiment simulation file, end to end, in each tool (kvsweep: one process, one after
// another, the input read and LightGBM trained as each experiment needs; trainings of the same
// rows are reused, as a trained model does not change).
let fileRun: { experiments: number; old: { wall_s: number; cpu_s: number } | null; kvsweep: { wall_s: number; cpu_s: number }; load_avg_1m: number } | null = null;
if (args['file-run']) {
  const loadAtStart = load();
  const file = { sizes, policies: ['lru', 'conversation_aware', 'oracle', 'lightgbm'], lightgbmModes: ['regression', 'ranking'] };
  let old = null;
  if (oldTool) {
    const run = await runOldSweep(oldTool, { serverLog: (source as { server_log: string }).server_log, ...file }, work, 'file15');
    old = { wall_s: run.wall_s, cpu_s: run.cpu_s };
  }
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let experiments = 0;
  const cache = join(work, 'models', 'file15');
  for (const policy of ['lru', 'conversation_aware', 'oracle'] as const) {
    for (const gb of sizes) {
      await runOldSimulatorExperiment({ source, cache_size_gb: gb, policy, bytes_per_token: BYTES_PER_TOKEN }, join(work, 'file15', `${policy}-${gb}`), { modelCache: cache });
      experiments++;
    }
  }
  for (const mode of ['regression', 'ranking'] as const) {
    for (const gb of sizes) {
      await runOldSimulatorExperiment({ source, cache_size_gb: gb, policy: 'lightgbm', bytes_per_token: BYTES_PER_TOKEN, lightgbm: { ...lightgbm, mode } }, join(work, 'file15', `lightgbm-${mode}-${gb}`), { modelCache: cache });
      experiments++;
    }
  }
  const c = process.cpuUsage(c0);
  fileRun = { experiments, old, kvsweep: { wall_s: (performance.now() - t0) / 1000, cpu_s: (c.user + c.system) / 1e6 }, load_avg_1m: loadAtStart };
  console.log(`${experiments}-experiment file: kvsweep ${fileRun.kvsweep.wall_s.toFixed(1)} s (CPU ${fileRun.kvsweep.cpu_s.toFixed(1)} s in this process; LightGBM training runs in Python)` + (old ? `, old tool ${old.wall_s.toFixed(1)} s (CPU ${old.cpu_s.toFixed(1)} s)` : ''));
}

const python = oldTool ? (await execa(oldTool.python, ['--version'])).stdout.trim() : null;
const result = {
  benchmark: 'old-simulator',
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, python },
  command: `npx tsx bench/old-simulator.ts ${process.argv.slice(2).join(' ')}`.trim(),
  input: { trace: `kvsweep trace synth --conversations ${args.conversations} --turns-mean ${args['turns-mean']} --seed ${args.seed}`, kind: source.kind, requests, events: stream.events.length },
  old_tool: oldTool ? { omp_num_threads: oldTool.ompThreads || 'default', lightgbm_training: 'all events of the log, retrained every experiment (its runner)' } : null,
  kvsweep_lightgbm_training: 'the first 100,000 events (here all of them), as the old tool; trained once per experiment in the per-run rows',
  rows,
  file_run: fileRun,
  load_avg_1m_at_end: load(),
};
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results', 'old-simulator.json'), `${JSON.stringify(result, null, 2)}\n`);
rmSync(work, { recursive: true, force: true });
console.log('wrote bench/results/old-simulator.json');
