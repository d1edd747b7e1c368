// Starts a real simulator process (`node bin/kvsweep.js sim serve ...`) on a port the OS picks,
// waits for "Application startup complete.", and kills it when the test is done.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';

const ENTRY = fileURLToPath(new URL('../../bin/kvsweep.js', import.meta.url));
export const SIM_MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';

export interface SimProcess {
  baseUrl: string;
  port: number;
  log: () => string;
  stop: () => Promise<void>;
}

export async function startSim(args: string[] = [], env: Record<string, string> = {}, model = SIM_MODEL): Promise<SimProcess> {
  const child: ChildProcess = spawn(process.execPath, [ENTRY, 'sim', 'serve', model, '--port', '0', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await once(child, 'exit');
  };
  const port = await new Promise<number>((resolve, reject) => {
    let found: number | null = null;
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const m = /Starting vLLM API server \d+ on http:\/\/[^:]+:(\d+)/.exec(output);
      if (m) found = Number(m[1]);
      if (found !== null && output.includes('Application startup complete.')) resolve(found);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`simulator exited (${code}) during start-up:\n${output}`)));
    setTimeout(() => reject(new Error(`simulator did not start in 30 s:\n${output}`)), 30_000).unref();
  }).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  return { baseUrl: `http://127.0.0.1:${port}`, port, log: () => output, stop };
}

/** Counter values from the simulator's /metrics, by name (label sets summed). */
export async function scrapeCounters(baseUrl: string, names: string[]): Promise<Record<string, number>> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const name of names) {
    let sum = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith('#')) continue;
      const m = /^([^{\s]+)(\{[^}]*\})?\s+(\S+)/.exec(line);
      if (m && (m[1] === name || m[1] === `${name}_total`)) sum += Number(m[3]);
    }
    out[name] = sum;
  }
  return out;
}
