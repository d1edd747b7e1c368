// The processes (servers, clients) that one worker runs on its host, by key. A process writes its
// output straight to its log file (not through a pipe to the worker), so it neither blocks on a
// busy worker nor dies with it: a worker that restarts finds it by its marker and stops it.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { isLeaseProcessKey } from '../domain/names.ts';
import { HOST_MARKER, KEY_MARKER, listMarkedProcesses, stopGroup, type GroupStopReport } from './process-groups.ts';

export interface ExitInfo {
  exitCode: number | undefined;
  signal: string | undefined;
}

export interface HostProcess {
  key: string;
  /** What was started, for failure messages. */
  argv: readonly string[];
  pid: number;
  /** The process leads its own group: pgid === pid. */
  pgid: number;
  logPath: string;
  port: number | undefined;
  startedAtMs: number;
  /** Settles when the process exits, whatever the reason. */
  exit: Promise<ExitInfo>;
  /** Set once the process has exited. */
  exited: ExitInfo | undefined;
}

export interface StartOptions {
  env: Record<string, string>;
  /** Receives stderr, and stdout unless stdoutPath is given. */
  logPath: string;
  stdoutPath?: string;
  port?: number;
  cwd?: string;
}

export class HostProcesses {
  private readonly processes = new Map<string, HostProcess>();

  constructor(readonly hostId: string) {}

  /**
   * Starts argv in a new process group with output appended to logPath; never through a shell.
   * node:child_process rather than execa here: execa copies a file output through the parent in
   * async mode, and a server must keep its own descriptor to outlive a worker that is killed.
   */
  async start(key: string, argv: readonly string[], options: StartOptions): Promise<HostProcess> {
    const [file, ...args] = argv;
    if (!file) throw new Error('empty argv');
    mkdirSync(dirname(options.logPath), { recursive: true });
    const logFd = openSync(options.logPath, 'a');
    const stdoutFd = options.stdoutPath ? openSync(options.stdoutPath, 'a') : logFd;
    try {
      const child = spawn(file, args, {
        ...(options.cwd ? { cwd: options.cwd } : {}),
        env: { ...process.env, ...options.env, [HOST_MARKER]: this.hostId, [KEY_MARKER]: key },
        detached: true,
        stdio: ['ignore', stdoutFd, logFd],
      });
      const exit = new Promise<ExitInfo>((resolve) => {
        child.once('exit', (code, signal) => resolve({ exitCode: code ?? undefined, signal: signal ?? undefined }));
        child.once('error', () => resolve({ exitCode: undefined, signal: undefined }));
      });
      // A missing program or a permission problem surfaces as an 'error' event instead of 'spawn'.
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', (error) => reject(new SpawnError(file, error.message)));
      });
      const pid = child.pid!;
      const record: HostProcess = {
        key,
        argv,
        pid,
        pgid: pid,
        logPath: options.logPath,
        port: options.port,
        startedAtMs: Date.now(),
        exited: undefined,
        exit: exit.then((info) => {
          record.exited = info;
          return info;
        }),
      };
      this.processes.set(key, record);
      return record;
    } finally {
      closeSync(logFd);
      if (stdoutFd !== logFd) closeSync(stdoutFd);
    }
  }

  get(key: string): HostProcess | undefined {
    return this.processes.get(key);
  }

  /** Ports held by processes of this worker that have not exited. */
  portsInUse(): Set<number> {
    const ports = new Set<number>();
    for (const p of this.processes.values()) if (p.port !== undefined && !p.exited) ports.add(p.port);
    return ports;
  }

  /** Stops one process group (SIGTERM, SIGKILL after graceMs) and forgets it. */
  async stop(key: string, graceMs: number): Promise<GroupStopReport | undefined> {
    const p = this.processes.get(key);
    if (!p) return undefined;
    const report = await stopGroup(p.pgid, graceMs);
    this.processes.delete(key);
    return report;
  }

  /** Stops every process group of this host that this worker does not know: an earlier worker's. */
  async stopOrphans(graceMs: number): Promise<Array<GroupStopReport & { key: string }>> {
    const groups = new Map<number, string>();
    for (const p of await listMarkedProcesses(this.hostId)) {
      const own = this.processes.get(p.key);
      if (own && own.pgid === p.pgid) continue;
      groups.set(p.pgid, p.key);
    }
    return Promise.all([...groups].map(async ([pgid, key]) => ({ key, ...(await stopGroup(pgid, graceMs)) })));
  }

  /**
   * Stops the process groups of one lease (its server and client, matched by exact key), this
   * worker's or an earlier one's: what a lease left running when its experiment went away.
   */
  async stopLease(requestId: string, graceMs: number): Promise<number> {
    const groups = new Map<number, string>();
    for (const [key, p] of this.processes) if (isLeaseProcessKey(key, requestId)) groups.set(p.pgid, key);
    for (const p of await listMarkedProcesses(this.hostId)) if (isLeaseProcessKey(p.key, requestId)) groups.set(p.pgid, p.key);
    await Promise.all([...groups].map(async ([pgid, key]) => {
      await stopGroup(pgid, graceMs);
      this.processes.delete(key);
    }));
    return groups.size;
  }

  /** Stops everything this worker started (worker shutdown). */
  async stopAll(graceMs: number): Promise<void> {
    await Promise.all([...this.processes.keys()].map((key) => this.stop(key, graceMs)));
  }
}

/** A process that could not be started at all (missing program, no permission). */
export class SpawnError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`could not start ${file}: ${reason}`);
  }
}
