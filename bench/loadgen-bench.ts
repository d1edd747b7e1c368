// Load-generator benchmark (issue 3, point 7). Run: npx tsx bench/loadgen-bench.ts [--quick] [--no-reference]
// Against the simulator at unlimited speed (`--speed inf`), streaming chat requests of 20 prompt and
// 16 output tokens, Poisson arrivals, each figure from a fresh `kvsweep loadgen` process:
//  1. send-time error at 500 req/s (goal p99 <= 1 ms);
//  2. the highest rate one client process sustains with send-time error p99 <= 1 ms (goal >= 5,000);
//  3. a reference client (aiperf, from PyPI, in .kvsweep/refclients/aiperf) on the same server;
//  4. HTTP clients (undici dispatch, http, fetch), closed loop;  5. loading a 1,000,000-row trace.
// Points 1 and 2 run twice: with the default scheduler, and with the client under SCHED_FIFO
// (`chrt -f 10`). On this shared 2-core machine other developers' builds and tests keep the load
// average at 5-9; the kernel then leaves any ordinary process off the CPU for tens of ms (nice does
// not help across autogroups), so the FIFO rows show what the client does when it gets the CPU.
// Writes bench/results/loadgen.json and the `## Load generator` section of docs/benchmarks.md.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { writeSynthTrace } from '../loadgen/trace-cli.ts';
import { DEFAULT_SYNTH_OPTIONS } from '../loadgen/trace-synth.ts';
import { loadTrace } from '../loadgen/trace.ts';
import type { LoadgenResult } from '../loadgen/result-schema.ts';
import { BENCH_MODEL as MODEL, UNLIMITED_SIM_ARGS, startBenchSim, startupSplit, writeSingleTurnTrace, type BenchSim, type StartupSplit } from './loadgen-sim.ts';
import { runAiperf, AIPERF_BIN } from './loadgen-aiperf.ts';
import { httpVersusFetch } from './loadgen-http-fetch.ts';
import { updateDocsSection } from './loadgen-docs.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENTRY = join(ROOT, 'bin/kvsweep.js');
const quick = process.argv.includes('--quick');
const withReference = !process.argv.includes('--no-reference');

interface ClientRun extends StartupSplit {
  policy: Policy;
  rate: number;
  requests: number;
  achieved: number | null;
  completed: number;
  failed: number;
  send_p50_ms: number | null;
  send_p99_ms: number | null;
  send_p999_ms: number | null;
  send_max_ms: number | null;
  client_cpu_percent: number | null;
  simulator_cpu_percent: number;
  loop_delay_p99_ms: number | null;
  /** Median TTFT: when it grows, the server (not the client) is falling behind. */
  ttft_p50_ms: number | null;
  load_average: number;
}

type Policy = 'default' | 'fifo';

function runLoadgenCli(baseUrl: string, dataset: string, rate: number, requests: number, resultDir: string, policy: Policy): Promise<LoadgenResult> {
  return new Promise((resolve, reject) => {
    const prefix = policy === 'fifo' ? ['chrt', '-f', '10', process.execPath] : [process.execPath];
    const child = spawn(prefix[0]!, [
      ...prefix.slice(1),
      ENTRY, 'loadgen', '--base-url', baseUrl, '--model', MODEL, '--dataset', dataset, '--arrival', 'poisson',
      '--request-rate', String(rate), '--num-prompts', String(requests), '--seed', '1', '--result-dir', resultDir, '--no-reset-prefix-cache',
      // The simulator counts one token per word: unsized texts are the ones sizing would give, and
      // counting 20,000 messages with /tokenize before the clock took a minute here.
      '--no-tokenize',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', async (code) => {
      if (code !== 0) return reject(new Error(`loadgen exited ${code}: ${stderr}`));
      resolve(JSON.parse(await readFile(join(resultDir, 'result.json'), 'utf8')) as LoadgenResult);
    });
  });
}

async function measure(sim: BenchSim, dataset: string, rate: number, seconds: number, dir: string, policy: Policy): Promise<ClientRun> {
  const requests = Math.round(rate * seconds);
  const load = loadavg()[0]!;
  const simCpu = sim.cpuMeter();
  const resultDir = join(dir, `rate-${rate}-${Date.now()}`);
  const r = await runLoadgenCli(sim.baseUrl, dataset, rate, requests, resultDir, policy);
  const split = await startupSplit(join(resultDir, 'requests.jsonl'));
  const run: ClientRun = {
    policy,
    rate,
    requests,
    achieved: r.achieved_request_rate,
    completed: r.completed,
    failed: r.failed,
    send_p50_ms: r.send_time_error_ms.median,
    send_p99_ms: r.send_time_error_ms.p99,
    send_p999_ms: r.send_time_error_ms['p99.9'],
    send_max_ms: r.send_time_error_ms.max,
    client_cpu_percent: r.client.cpu_percent,
    simulator_cpu_percent: simCpu(),
    loop_delay_p99_ms: r.client.event_loop_delay_ms.p99,
    ttft_p50_ms: r.median_ttft_ms,
    ...split,
    load_average: load,
  };
  console.log(JSON.stringify(run));
  return run;
}

function sustained(run: ClientRun): boolean {
  return run.failed === 0 && run.send_p99_ms !== null && run.send_p99_ms <= 1 && run.achieved !== null && run.achieved >= 0.97 * run.rate;
}

function sustainedAfter1s(run: ClientRun): boolean {
  return sustained({ ...run, send_p99_ms: run.send_p99_after_1s_ms });
}

function hasChrt(): boolean {
  try {
    execFileSync('chrt', ['-f', '10', 'true']);
    return true;
  } catch {
    return false;
  }
}

const RAMP_RATES = [1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000];
/** The simulator's uncounted warm-up run. */
const SIM_WARMUP_RATE = 6000;
/** One ramp row per rate is one sample on a noisy machine: the goal rate is also run this many more times. */
const GOAL_RATE = 5000;
const GOAL_REPEATS = 5;

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kvsweep-bench-loadgen-'));
  const dataset = await writeSingleTurnTrace(dir);
  const sim = await startBenchSim(ENTRY, MODEL, UNLIMITED_SIM_ARGS);
  const results: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version },
    command: `npx tsx bench/loadgen-bench.ts${quick ? ' --quick' : ''}${withReference ? '' : ' --no-reference'}`,
  };
  try {
    // The simulator's first run at a high rate is slow for a second or so, whatever the client
    // (its heap and compiled code settle to that load; later runs at any rate are not, also after
    // idling: docs/loadgen.md). Measured rows are the client's, so that run happens here, uncounted.
    console.log(`# simulator warm-up at ${SIM_WARMUP_RATE} req/s (not counted)`);
    await measure(sim, dataset, SIM_WARMUP_RATE, 4, dir, 'default');
    results.simulator_warmup = { rate: SIM_WARMUP_RATE, seconds: 4, counted: false };
    const policies: Policy[] = hasChrt() ? ['default', 'fifo'] : ['default'];
    results.policies = policies;
    const at500: ClientRun[] = [];
    const ramp: ClientRun[] = [];
    const atGoal: ClientRun[] = [];
    const goalHeld: Record<string, number> = {};
    const maxSustained: Record<string, number> = {};
    const maxSustainedAfter1s: Record<string, number> = {};
    for (const policy of policies) {
      console.log(`# send-time error at 500 req/s (${policy})`);
      for (let i = 0; i < (quick ? 1 : 3); i++) at500.push(await measure(sim, dataset, 500, quick ? 10 : 20, dir, policy));
      console.log(`# highest sustained rate (${policy})`);
      // Every rate is run (no early stop), so the table also shows where the simulator falls behind.
      for (const rate of RAMP_RATES) {
        ramp.push(await measure(sim, dataset, rate, quick ? 4 : 6, dir, policy));
      }
      console.log(`# ${GOAL_RATE} req/s again, ${GOAL_REPEATS} times (${policy})`);
      for (let i = 0; i < (quick ? 1 : GOAL_REPEATS); i++) atGoal.push(await measure(sim, dataset, GOAL_RATE, quick ? 4 : 6, dir, policy));
      goalHeld[policy] = atGoal.filter((r) => r.policy === policy && sustained(r)).length;
      maxSustained[policy] = Math.max(0, ...ramp.filter((r) => r.policy === policy && sustained(r)).map((r) => r.rate));
      maxSustainedAfter1s[policy] = Math.max(0, ...ramp.filter((r) => r.policy === policy && sustainedAfter1s(r)).map((r) => r.rate));
    }
    results.at_500 = at500;
    results.ramp = ramp;
    results.max_sustained_rate = maxSustained;
    results.goal_rate = { rate: GOAL_RATE, runs: atGoal, held: goalHeld };
    // Secondary figure, the start-up excluded; the goal is judged on max_sustained_rate.
    results.max_sustained_rate_after_1s = maxSustainedAfter1s;
    // The client's throughput ceiling regardless of send precision, for the reference comparison.
    results.max_achieved_rate = Math.max(0, ...ramp.filter((r) => r.failed === 0).map((r) => r.achieved ?? 0));

    if (withReference) {
      console.log('# reference client: aiperf');
      if (!existsSync(AIPERF_BIN)) {
        results.reference = { client: 'aiperf', error: `not installed at ${AIPERF_BIN} (see docs/benchmarks.md for the install command)` };
      } else {
        const runs = [];
        for (const rate of [500, 1000, 2000, 4000]) {
          const run = await runAiperf({ baseUrl: sim.baseUrl, model: MODEL, rate, requests: Math.round(rate * (quick ? 4 : 8)), dir: join(dir, `aiperf-${rate}`) });
          console.log(JSON.stringify(run));
          runs.push(run);
        }
        const best = Math.max(...runs.map((r) => r.request_throughput ?? 0));
        results.reference = { client: 'aiperf', version: runs[0]?.version, runs, best_request_throughput: best };
        results.ratio_kvsweep_to_reference = best > 0 ? (results.max_achieved_rate as number) / best : null;
      }
    }

    console.log('# HTTP clients: kvsweep http1, undici dispatch, http, fetch (closed loop, 64 in flight)');
    results.http_vs_fetch = await httpVersusFetch(`${sim.baseUrl}/v1/chat/completions`, MODEL, quick ? 3 : 6, 64);
    console.log(JSON.stringify(results.http_vs_fetch));
  } finally {
    await sim.stop();
  }

  console.log('# loading a 1,000,000-row trace');
  const big = join(dir, 'million.csv');
  await writeSynthTrace(big, { ...DEFAULT_SYNTH_OPTIONS, conversations: 290_000, seed: 2, conversationRate: 50, turnsMean: 4, maxTurns: 8 });
  const rows = Number(execFileSync('wc', ['-l', big]).toString().trim().split(' ')[0]) - 1;
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  const trace = await loadTrace(big);
  results.trace_load = {
    rows,
    seconds: (performance.now() - started) / 1000,
    rss_growth_mb: (process.memoryUsage().rss - rssBefore) / 2 ** 20,
    turns: trace.turns.length,
  };
  console.log(JSON.stringify(results.trace_load));

  await mkdir(join(ROOT, 'bench/results'), { recursive: true });
  await writeFile(join(ROOT, 'bench/results/loadgen.json'), `${JSON.stringify(results, null, 2)}\n`);
  await updateDocsSection(join(ROOT, 'docs/benchmarks.md'), results);
  await rm(dir, { recursive: true, force: true });
  console.log('wrote bench/results/loadgen.json and the Load generator section of docs/benchmarks.md');
}

await main();
