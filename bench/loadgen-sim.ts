// The simulator process for the load-generator benchmark, with a CPU meter read from /proc.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { processCpuSeconds } from './process-cpu.ts';

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
