// Benchmark of the simulator (issue 2, point 8): streaming chat requests of 16 output tokens per
// second at unlimited speed, the simulator pinned to one core, driven by a separate load process
// on the other core (wrk with a Lua POST script when installed, and kvsweep's own Node client).
// Also the start-up time: spawn to the first 200 from /health, and SIGTERM to exit.
// Run: npx tsx bench/simulator-throughput.ts [--duration 10] [--connections 64] [--startup-runs 10] [--clients wrk,node]
// Writes bench/results/simulator-throughput.json and prints a summary.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin/kvsweep.js');
const MODEL = 'kvsweep/sim-small';
const LMCACHE = '{"kv_connector":"LMCacheConnectorV1","kv_role":"kv_both"}';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '64' },
    'startup-runs': { type: 'string', default: '10' },
    clients: { type: 'string', default: 'wrk,node' },
  },
});
const duration = Number(args.duration);
const connections = Number(args.connections);
const startupRuns = Number(args['startup-runs']);

function has(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const TASKSET = has('taskset');
/** argv pinned to one core when taskset exists. */
const pinned = (core: number, argv: string[]): string[] => (TASKSET ? ['taskset', '-c', String(core), ...argv] : argv);

interface Sim {
  child: ChildProcess;
  url: string;
  exited: Promise<void>;
}

function startSim(extra: string[], env: Record<string, string> = {}): Promise<Sim> {
  const [cmd, ...rest] = pinned(0, [process.execPath, BIN, 'sim', 'serve', MODEL, '--port', '0', ...extra]);
  const child = spawn(cmd!, rest, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const port = /Starting vLLM API server 0 on http:\/\/[\d.]+:(\d+)/.exec(out)?.[1];
      if (port && out.includes('Application startup complete.')) {
        child.stdout!.removeAllListeners('data');
        child.stdout!.resume();
        resolve({ child, url: `http://127.0.0.1:${port}`, exited });
      }
    });
    void exited.then(() => reject(new Error(`simulator exited:\n${out}`)));
  });
}

async function stop(sim: Sim): Promise<void> {
  sim.child.kill('SIGTERM');
  await sim.exited;
}

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

function run(argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const [cmd, ...rest] = argv;
    const child = spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${argv.join(' ')} exited ${code}:\n${out}`))));
  });
}

interface ThroughputRow {
  client: string;
  connections: number;
  duration_s: number;
  completed: number;
  failed: number;
  requests_per_s: number;
  output_tokens_per_s: number;
  simulator_cpu_cores: number;
  /** Requests per CPU-second of the simulator: its one-core capacity, whatever else shares the core. */
  requests_per_simulator_cpu_second: number;
  generation_tokens_per_request: number;
  latency_ms?: { p50: number; p99: number };
  load_avg_1m: number;
}

async function throughput(client: 'wrk' | 'node'): Promise<ThroughputRow> {
  const sim = await startSim(['--speed', 'inf', '--max-model-len', '4096', '--kv-transfer-config', LMCACHE], { LMCACHE_MAX_LOCAL_CPU_SIZE: '1' });
  const load = loadavg()[0]!;
  try {
    const tokens0 = await metric(sim.url, 'vllm:generation_tokens_total');
    const done0 = await metric(sim.url, 'vllm:request_success_total');
    const cpu0 = cpuSeconds(sim.child.pid!);
    const t0 = performance.now();
    let completed: number;
    let failed = 0;
    let latency: { p50: number; p99: number } | undefined;
    if (client === 'wrk') {
      const dir = mkdtempSync(join(tmpdir(), 'kvsweep-bench-'));
      const script = join(dir, 'post.lua');
      const body = JSON.stringify({
        model: MODEL,
        messages: [{ role: 'user', content: 'Tell me about the key value cache of a transformer and how prefix caching saves work.' }],
        max_tokens: 16, ignore_eos: true, stream: true, stream_options: { include_usage: true },
      });
      writeFileSync(script, `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [[${body}]]\n`);
      const out = await run(pinned(1, ['wrk', '-t1', `-c${connections}`, `-d${duration}s`, '-s', script, `${sim.url}/v1/chat/completions`]));
      completed = Number(/(\d+) requests in/.exec(out)?.[1]);
      const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
      failed = non2xx ? Number(non2xx[1]) : 0;
    } else {
      const out = await run(pinned(1, [process.execPath, '--import', 'tsx', join(ROOT, 'bench/simulator-load.ts'), sim.url, MODEL, String(connections), String(duration)]));
      const r = JSON.parse(out) as { completed: number; failed: number; latency_ms: { p50: number; p99: number } };
      completed = r.completed;
      failed = r.failed;
      latency = r.latency_ms;
    }
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(sim.child.pid!) - cpu0;
    const tokens = (await metric(sim.url, 'vllm:generation_tokens_total')) - tokens0;
    const done = (await metric(sim.url, 'vllm:request_success_total')) - done0;
    return {
      client, connections, duration_s: duration, completed, failed,
      requests_per_s: completed / duration,
      output_tokens_per_s: tokens / duration,
      simulator_cpu_cores: cpu / elapsed,
      requests_per_simulator_cpu_second: completed / cpu,
      generation_tokens_per_request: tokens / done,
      ...(latency ? { latency_ms: latency } : {}),
      load_avg_1m: load,
    };
  } finally {
    await stop(sim);
  }
}

interface StartupRun {
  first_log_line_ms: number;
  health_200_ms: number;
  sigterm_exit_ms: number;
}

/** Spawn (with the orchestrator's vllm serve argv) to the first 200 from /health, then SIGTERM to exit. */
async function startup(model: string): Promise<StartupRun> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [
    BIN, 'sim', 'serve', model, '--dtype', 'half', '--gpu_memory_utilization', '0.8', '--max_num_seqs', '128', '--max-model-len', '8192',
    '--enable-chunked-prefill', '--enable-prefix-caching', '--port', '0', '--max-num-batched-tokens', '16384', '--kv-transfer-config', LMCACHE,
  ], { env: { ...process.env, LMCACHE_MAX_LOCAL_CPU_SIZE: '20', VLLM_SERVER_DEV_MODE: '1' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let out = '';
  let firstLine = 0;
  const url = await new Promise<string>((resolve) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const port = /Starting vLLM API server 0 on http:\/\/[\d.]+:(\d+)/.exec(out)?.[1];
      if (port && !firstLine) {
        firstLine = performance.now() - t0;
        resolve(`http://127.0.0.1:${port}`);
      }
    });
  });
  for (;;) {
    const ok = await fetch(`${url}/health`).then((r) => r.status === 200, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 2));
  }
  const ready = performance.now() - t0;
  const t1 = performance.now();
  child.kill('SIGTERM');
  await exited;
  return { first_log_line_ms: firstLine, health_200_ms: ready, sigterm_exit_ms: performance.now() - t1 };
}

/** Spawn to exit of `kvsweep --help`: what Node, tsx and the CLI entry cost before any simulator code. */
async function cliBaseline(): Promise<number> {
  const t0 = performance.now();
  await run([process.execPath, BIN, '--help']);
  return performance.now() - t0;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const clients = args.clients.split(',');
const rows: ThroughputRow[] = [];
if (clients.includes('wrk')) {
  if (has('wrk')) rows.push(await throughput('wrk'));
  else console.error('wrk not found (apt-get install wrk): Node client only');
}
if (clients.includes('node')) rows.push(await throughput('node'));

const baselineRuns: number[] = [];
for (let i = 0; i < startupRuns; i++) baselineRuns.push(await cliBaseline());
const startupFigures: Record<string, { runs: StartupRun[]; median_health_200_ms: number; median_sigterm_exit_ms: number }> = {};
for (const model of [MODEL, 'Qwen/Qwen3-8B-FP8']) {
  await startup(model); // warms the tsx transform cache, as every later start finds it
  const runs: StartupRun[] = [];
  for (let i = 0; i < startupRuns; i++) runs.push(await startup(model));
  startupFigures[model] = { runs, median_health_200_ms: median(runs.map((r) => r.health_200_ms)), median_sigterm_exit_ms: median(runs.map((r) => r.sigterm_exit_ms)) };
}

const result = {
  benchmark: 'simulator-throughput',
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, pinned_with_taskset: TASKSET },
  command: `npx tsx bench/simulator-throughput.ts --duration ${duration} --connections ${connections} --startup-runs ${startupRuns} --clients ${args.clients}`,
  throughput: rows,
  startup: startupFigures,
  cli_help_baseline_ms: { runs: baselineRuns, median: median(baselineRuns) },
  load_avg_1m_at_end: loadavg()[0],
};
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(join(ROOT, 'bench/results/simulator-throughput.json'), `${JSON.stringify(result, null, 2)}\n`);
for (const r of rows) {
  console.log(
    `${r.client.padEnd(4)} ${r.connections} connections: ${r.requests_per_s.toFixed(0)} req/s (${r.output_tokens_per_s.toFixed(0)} output tokens/s, ` +
      `${r.generation_tokens_per_request.toFixed(2)} tokens/request), ${r.failed} failed, simulator CPU ${r.simulator_cpu_cores.toFixed(2)} cores ` +
      `= ${r.requests_per_simulator_cpu_second.toFixed(0)} requests per CPU-second, load avg ${r.load_avg_1m.toFixed(1)}`,
  );
}
for (const [model, s] of Object.entries(startupFigures)) {
  console.log(`start-up ${model}: spawn to /health 200 median ${s.median_health_200_ms.toFixed(0)} ms; SIGTERM to exit median ${s.median_sigterm_exit_ms.toFixed(0)} ms (${s.runs.length} runs)`);
}
console.log(`baseline: \`kvsweep --help\` spawn to exit median ${median(baselineRuns).toFixed(0)} ms (Node + tsx + CLI entry)`);
console.log('wrote bench/results/simulator-throughput.json');
