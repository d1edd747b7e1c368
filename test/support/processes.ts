// Real kvsweep processes for tests (workers, CLI commands), started by argv, with their output
// kept for assertions and failure messages.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../platform/paths.ts';

export const KVSWEEP_BIN = join(projectRoot, 'bin', 'kvsweep.js');

export interface TestProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  kill: (signal?: NodeJS.Signals) => Promise<void>;
}

/**
 * Local workers (`run --gpus`, the demo) of tests running at once would all take ports from 8000
 * and race for them between the free-port check and the server's bind: each command gets a
 * port range of its own unless the test sets one.
 */
function portBaseForTest(): string {
  return String(10_000 + 50 * Math.floor(Math.random() * 400));
}

/** prefix: an argv that runs the command elsewhere (`ip netns exec NS`: another test host). */
export function startKvsweep(args: string[], env: Record<string, string>, cwd?: string, prefix: string[] = []): TestProcess {
  const argv = [...prefix, process.execPath, KVSWEEP_BIN, ...args];
  const child = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, KVSWEEP_PORT_BASE: portBaseForTest(), ...env }, stdio: ['ignore', 'pipe', 'pipe'], ...(cwd ? { cwd } : {}) });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    exited,
    kill: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** Runs a kvsweep command to its end. */
export async function runKvsweep(args: string[], env: Record<string, string>, timeoutMs = 300_000, cwd?: string): Promise<{ code: number | null; output: string }> {
  const p = startKvsweep(args, env, cwd);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const code = await p.exited;
  clearTimeout(timer);
  return { code, output: p.output() };
}

export async function waitForOutput(p: TestProcess, pattern: RegExp, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(p.output())) {
    if (p.child.exitCode !== null) throw new Error(`process exited (${p.child.exitCode}) before printing ${pattern}:\n${p.output()}`);
    if (Date.now() > deadline) throw new Error(`no ${pattern} after ${timeoutMs} ms:\n${p.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** SIGKILLs every live process whose kvsweep host id ends with suffix (a test's cleanup net). */
export function killMarkedProcesses(hostIdSuffix: string): void {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const hostVar = readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').find((v) => v.startsWith('KVSWEEP_HOST_ID='));
      if (hostVar?.endsWith(hostIdSuffix)) process.kill(Number(entry), 'SIGKILL');
    } catch {
      // gone, or not ours
    }
  }
}

/** Process keys (sweep/experiment#attempt[/client]) of the live marked processes of a host. */
export function markedKeys(hostId: string): string[] {
  const keys = new Set<string>();
  for (const pid of markedProcesses(hostId)) {
    try {
      const key = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').find((v) => v.startsWith('KVSWEEP_PROCESS_KEY='));
      if (key) keys.add(key.slice('KVSWEEP_PROCESS_KEY='.length));
    } catch {
      // gone
    }
  }
  return [...keys];
}

/** Pids of live processes whose environment carries a kvsweep marker for this host id. */
export function markedProcesses(hostId: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0');
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state !== 'Z' && environ.includes(`KVSWEEP_HOST_ID=${hostId}`)) pids.push(Number(entry));
    } catch {
      // gone, or not readable
    }
  }
  return pids;
}

/** Starts `kvsweep worker` and waits until it is polling. */
export async function startWorker(options: { address: string; hostId: string; gpus: number; gpuClass: string; portBase: number; heartbeatTimeoutS?: number; control?: boolean; env?: Record<string, string>; readyTimeoutMs?: number; prefix?: string[] }): Promise<TestProcess> {
  const args = ['worker', '--gpus', String(options.gpus), '--host-id', options.hostId, '--gpu-class', options.gpuClass, '--port-base', String(options.portBase), '--port-count', '200'];
  if (options.heartbeatTimeoutS) args.push('--heartbeat-timeout', String(options.heartbeatTimeoutS));
  if (options.control === false) args.push('--no-control');
  const p = startKvsweep(args, { TEMPORAL_ADDRESS: options.address, ...options.env }, undefined, options.prefix);
  await waitForOutput(p, /worker .* ready/, options.readyTimeoutMs ?? 90_000);
  return p;
}
