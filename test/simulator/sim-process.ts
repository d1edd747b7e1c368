// Starts a real simulator process (`node bin/kvsweep.js sim serve ...`) on a port the OS picks
// (--port 0; the port is read from the first log line), waits until it is ready, and kills it.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/kvsweep.js', import.meta.url));

export interface SimProcess {
  child: ChildProcess;
  baseUrl: string;
  port: number;
  /** Everything printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
  kill(): Promise<void>;
}

const running = new Set<ChildProcess>();

/** The parent's environment without the variables the simulator reads, plus the test's own. */
function simEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = { ...process.env };
  for (const key of Object.keys(base)) {
    if (key.startsWith('LMCACHE_') || key === 'CUDA_VISIBLE_DEVICES' || key === 'VLLM_SERVER_DEV_MODE') delete base[key];
  }
  return { ...base, ...env };
}

/** Spawns `kvsweep sim serve` with `args`; resolves once the first log line gives the port. */
export function spawnSim(args: string[], env: Record<string, string> = {}): Promise<SimProcess> {
  const child = spawn(process.execPath, [BIN, 'sim', 'serve', ...args], {
    env: simEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let text = '';
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve(code ?? signal ?? -1);
    });
  });
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      const m = /Starting vLLM API server 0 on http:\/\/([\d.]+):(\d+)/.exec(text);
      if (m) {
        child.stdout!.off('data', onData);
        child.stdout!.on('data', (c: Buffer) => (text += c.toString()));
        const port = Number(m[2]);
        resolve({
          child,
          port,
          baseUrl: `http://${m[1]}:${port}`,
          output: () => text,
          exited,
          kill: async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
            await exited;
          },
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => (text += c.toString()));
    void exited.then((code) => reject(new Error(`simulator exited (${code}) before starting:\n${text}`)));
  });
}

/** Polls /health until 200 (or fails after `timeoutMs`). */
export async function waitReady(sim: SimProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`${sim.baseUrl}/health`);
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`simulator not ready after ${timeoutMs} ms:\n${sim.output()}`);
}

/** Spawns and waits until /health answers 200. */
export async function startSim(args: string[], env: Record<string, string> = {}): Promise<SimProcess> {
  const sim = await spawnSim(args, env);
  await waitReady(sim);
  return sim;
}

/** Kills every simulator a test file started (for afterAll/afterEach). */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...running].map(async (child) => {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }),
  );
}

/** Runs `kvsweep sim ...` to completion (for flag errors): exit code and output. */
export function runSim(args: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<{ code: number | string; output: string }> {
  const child = spawn(process.execPath, [BIN, 'sim', ...args], { env: simEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code: code ?? signal ?? -1, output });
    });
  });
}

export interface ChatResult {
  text: string;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
}

/** One non-streaming chat completion over plain HTTP. */
export async function chat(baseUrl: string, body: Record<string, unknown>): Promise<ChatResult> {
  const r = await fetch(`${baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (r.status !== 200) throw new Error(`chat: HTTP ${r.status}: ${await r.text()}`);
  const j = (await r.json()) as {
    choices: { message: { content: string } }[];
    usage: { prompt_tokens: number; completion_tokens: number; prompt_tokens_details: { cached_tokens: number } };
  };
  return {
    text: j.choices[0]!.message.content,
    promptTokens: j.usage.prompt_tokens,
    completionTokens: j.usage.completion_tokens,
    cachedTokens: j.usage.prompt_tokens_details.cached_tokens,
  };
}

/** Parsed /metrics samples by name (labels ignored; first sample). */
export async function scrape(baseUrl: string): Promise<string> {
  const r = await fetch(`${baseUrl}/metrics`);
  return r.text();
}
