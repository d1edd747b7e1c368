// Offline replay speed and memory (issue 16, point 7). Run:
//   npx tsx bench/offline-throughput.ts [--reps 5] [--no-million]
// 1. A synthetic trace like the old tool's benchmark trace (`kvsweep trace synth --conversations
//    2000 --turns-mean 7.5 --seed 1`: 14,703 requests) replayed offline on Qwen/Qwen3-8B-FP8 for
//    lru, conversation_aware and oracle at 32/64/128 GB, with vLLM's block size 16 and with the old
//    simulator's 256; each point once to warm up, then --reps times. The figure is requests per
//    CPU-second of the replay (process.cpuUsage around it, input reading and file writing excluded):
//    one core's capacity, the figure that survives the shared machine. The oracle's figure includes
//    its first replay (lru) from which it reads the future.
// 2. The direct command end to end (`kvsweep simulate`, 3 sizes x 3 policies, one process): wall time.
// 3. A 1,000,000-request trace (`--conversations 136000 --turns-mean 7.5 --seed 2`) read and replayed
//    (lru, 64 GB) in a child process: its peak resident memory (VmHWM) and times.
// Writes bench/results/offline-throughput.json and prints the tables.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeSynthTrace } from '../loadgen/trace-cli.ts';
import { DEFAULT_SYNTH_OPTIONS } from '../loadgen/trace-synth.ts';
import { loadRequestStream } from '../offline/inputs/index.ts';
import { offlineCacheStatistics } from '../offline/result.ts';
import { parseOfflineExperiment } from '../offline/run.ts';
import { simulateOffline } from '../offline/simulate.ts';
import type { OfflinePolicy } from '../offline/experiment.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MODEL = 'Qwen/Qwen3-8B-FP8';
const { values: args } = parseArgs({ options: { reps: { type: 'string', default: '5' }, 'no-million': { type: 'boolean', default: false }, child: { type: 'string' } } });

function peakRssMb(): number {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

/** The child of point 3: read and replay one big trace, report JSON on stdout. */
async function million(path: string): Promise<void> {
  const baseline = peakRssMb();
  const t0 = performance.now();
  const stream = await loadRequestStream({ kind: 'trace_csv', path }, null);
  const readS = (performance.now() - t0) / 1000;
  const afterRead = peakRssMb();
  const e = parseOfflineExperiment({ input: { kind: 'trace_csv', path }, model: MODEL, cache_size_gb: 64, policy: 'lru', request_rate: 1 });
  const sim = simulateOffline(stream, e);
  process.stdout.write(JSON.stringify({ requests: stream.size, conversations: stream.conversationIds.length, read_seconds: readS, replay_cpu_seconds: sim.cpuSeconds, replay_wall_seconds: sim.wallSeconds, requests_per_cpu_second: stream.size / sim.cpuSeconds, peak_rss_mb_after_imports: baseline, peak_rss_mb_after_read: afterRead, peak_rss_mb: peakRssMb() }));
}

interface Point {
  policy: OfflinePolicy;
  block_size: number;
  cache_size_gb: number;
  hit_rate: number;
  cpu_seconds_min: number;
  cpu_seconds_median: number;
  requests_per_cpu_second_best: number;
  requests_per_cpu_second_median: number;
  wall_seconds_median: number;
}

async function main(): Promise<void> {
  if (args.child) return million(args.child);
  const reps = Number(args.reps);
  const dir = mkdtempSync(join(tmpdir(), 'kvsweep-offline-bench-'));
  const trace = join(dir, 'old-like.csv');
  await writeSynthTrace(trace, { ...DEFAULT_SYNTH_OPTIONS, conversations: 2000, turnsMean: 7.5, seed: 1 });
  const stream = await loadRequestStream({ kind: 'trace_csv', path: trace }, null);
  const points: Point[] = [];
  for (const block of [256, 16]) {
    for (const policy of ['lru', 'conversation_aware', 'oracle'] as const) {
      for (const size of [32, 64, 128]) {
        const e = parseOfflineExperiment({ input: { kind: 'trace_csv', path: trace }, model: MODEL, cache_size_gb: size, policy, request_rate: 1, engine: { block_size: block } });
        const warm = simulateOffline(stream, e);
        const c = offlineCacheStatistics(warm);
        const cpu: number[] = [];
        const wall: number[] = [];
        for (let r = 0; r < reps; r++) {
          const sim = simulateOffline(stream, e);
          cpu.push(sim.cpuSeconds);
          wall.push(sim.wallSeconds);
        }
        cpu.sort((a, b) => a - b);
        wall.sort((a, b) => a - b);
        const median = (v: number[]) => v[v.length >> 1]!;
        const p: Point = {
          policy, block_size: block, cache_size_gb: size,
          hit_rate: ((c.prefix_cache_hits ?? 0) + (c.external_prefix_cache_hits ?? 0)) / c.prefix_cache_queries!,
          cpu_seconds_min: cpu[0]!, cpu_seconds_median: median(cpu),
          requests_per_cpu_second_best: stream.size / cpu[0]!, requests_per_cpu_second_median: stream.size / median(cpu),
          wall_seconds_median: median(wall),
        };
        points.push(p);
        console.log(`${policy.padEnd(18)} block ${String(block).padStart(3)} ${String(size).padStart(4)} GB  hit ${(100 * p.hit_rate).toFixed(2)}%  ${p.requests_per_cpu_second_best.toFixed(0).padStart(7)} req/s/core best, ${p.requests_per_cpu_second_median.toFixed(0).padStart(7)} median  (cpu ${p.cpu_seconds_median.toFixed(3)} s, wall ${p.wall_seconds_median.toFixed(3)} s)`);
      }
    }
  }

  // 2. The direct command end to end: process start, reading the trace once, 9 replays, 9 result folders.
  const cli = [join(ROOT, 'bin/kvsweep.js'), 'simulate', '--trace', trace, '--model', MODEL, '--cache-size', '32,64,128', '--policy', 'lru,conversation_aware,oracle', '--out', join(dir, 'cli'), '--block-size', '256'];
  const t0 = performance.now();
  execFileSync(process.execPath, cli, { stdio: 'ignore' });
  const cliSeconds = (performance.now() - t0) / 1000;
  console.log(`kvsweep simulate, 3 sizes x 3 policies (block 256), end to end: ${cliSeconds.toFixed(2)} s wall`);

  // 3. A million requests.
  let millionResult: unknown = null;
  if (!args['no-million']) {
    const big = join(dir, 'million.csv');
    const rows = await writeSynthTrace(big, { ...DEFAULT_SYNTH_OPTIONS, conversations: 136_000, turnsMean: 7.5, seed: 2 });
    const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', big], { encoding: 'utf8', cwd: ROOT, maxBuffer: 1 << 20 });
    if (child.status !== 0) throw new Error(`million-request child failed:\n${child.stderr}`);
    millionResult = { rows, ...JSON.parse(child.stdout) };
    console.log('1M-request trace:', JSON.stringify(millionResult));
  }
  rmSync(dir, { recursive: true, force: true });
  const out = {
    benchmark: 'offline-throughput',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, load_avg_1m_at_end: loadavg()[0] },
    command: 'npx tsx bench/offline-throughput.ts',
    trace: { command: 'kvsweep trace synth --conversations 2000 --turns-mean 7.5 --seed 1', requests: stream.size, conversations: stream.conversationIds.length },
    model: MODEL,
    reps,
    points,
    simulate_cli_9_experiments_wall_seconds: cliSeconds,
    million: millionResult,
  };
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench/results/offline-throughput.json'), `${JSON.stringify(out, null, 2)}\n`);
  console.log('wrote bench/results/offline-throughput.json');
}

await main();
