// What both load-generator benchmarks (loadgen-bench.ts, loadgen-compare.ts) measure against: the
// simulator process with a CPU meter read from /proc, the single-turn trace, and the split of a
// run's send-time errors into its first second and the rest.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { RequestRecord } from '../loadgen/result-schema.ts';
import { percentileSorted } from '../loadgen/stats.ts';
import { writeSynthTrace } from '../loadgen/trace-cli.ts';
import { DEFAULT_SYNTH_OPTIONS } from '../loadgen/trace-synth.ts';
import { processCpuSeconds } from './process-cpu.ts';

export const BENCH_MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';
/** The simulator at unlimited speed, with room for thousands of requests at once. */
export const UNLIMITED_SIM_ARGS = ['--speed', 'inf', '--max-num-seqs', '4096'];

/**
 * Writes the benchmarks' trace into dir: one turn per conversation, so every send is timer-driven
 * and none waits for a previous turn; 20 prompt and 16 output tokens.
 */
export async function writeSingleTurnTrace(dir: string): Promise<string> {
  const dataset = join(dir, 'single-turn.csv');
  await writeSynthTrace(dataset, {
    ...DEFAULT_SYNTH_OPTIONS, conversations: 200_000, seed: 1, conversationRate: 1000, turnsMean: 1, maxTurns: 1,
    firstQueryMedian: 20, querySigma: 0, replyMedian: 16, replySigma: 0,
  });
  return dataset;
}

export interface StartupSplit {
  /** Send-time error p99 of the turns scheduled after the first second (the start-up excluded). */
  send_p99_after_1s_ms: number | null;
  /** Turns sent more than 1 ms late in the first second / after it. */
  late_first_s: number;
  late_after_1s: number;
}

/** The first second of a run holds most late sends (start-up); the rest shows the steady state. */
export async function startupSplit(requestsFile: string): Promise<StartupSplit> {
  const after: number[] = [];
  let lateFirst = 0;
  for (const line of (await readFile(requestsFile, 'utf8')).split('\n')) {
    if (line === '') continue;
    const record = JSON.parse(line) as RequestRecord;
    if (record.send_error_ms === null) continue;
    if (record.scheduled_ms < 1000) lateFirst += record.send_error_ms > 1 ? 1 : 0;
    else after.push(record.send_error_ms);
  }
  after.sort((a, b) => a - b);
  return {
    send_p99_after_1s_ms: after.length > 0 ? percentileSorted(after, 99) : null,
    late_first_s: lateFirst,
    late_after_1s: after.filter((e) => e > 1).length,
  };
}

export interface BenchSim {
  baseUrl: string;
  /** Starts a measurement; the returned function gives the simulator's CPU use since, in % of a core. */
  cpuMeter(): () => number;
  stop(): Promise<void>;
}

export async function startBenchSim(entry: string, model: string, args: string[]): Promise<BenchSim> {
  const child = spawn(process.execPath, [entry, 'sim', 'serve', model, '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const m = /Starting vLLM API server \d+ on http:\/\/[^:]+:(\d+)/.exec(output);
      if (m && output.includes('Application startup complete.')) resolve(Number(m[1]));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`simulator exited ${code}: ${output}`)));
  });
  // Keep reading its log so a full pipe never blocks it.
  child.stdout.resume();
  child.stderr.resume();
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    cpuMeter() {
      const cpu0 = processCpuSeconds(child.pid!);
      const t0 = performance.now();
      return () => ((processCpuSeconds(child.pid!) - cpu0) / ((performance.now() - t0) / 1000)) * 100;
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
