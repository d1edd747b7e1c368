// Activities bound to one host: they start, watch and stop the processes of experiments on the GPUs
// the pool leased there. Each is idempotent for its (experiment, attempt) key, and payloads carry
// paths and numbers, never logs (a failure carries at most a short log tail).
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExperimentSpec } from '../domain/experiment.ts';
import { experimentWorkflowId, leaseProcessKeys, leaseRequestId } from '../domain/names.ts';
import { OFFLINE_EXPERIMENT_MESSAGE, renderClientCommand, renderLmcacheStatsUrl, renderServerCommand, usesScratchDir } from '../domain/server-command.ts';
import { AttemptMarker } from '../domain/records.ts';
import { readRecord, tailLines, writeJsonAtomic } from '../platform/files.ts';
import { formatProcessFailure, type ProcessEnd } from '../platform/process-failure.ts';
import { SpawnError, type HostProcesses } from './host-processes.ts';
import { reservePort, waitPortFree } from './ports.ts';
import { waitUntilReady } from './readiness.ts';
import { collectFrom, type CollectedResults } from './collect.ts';
import { followClient } from './client-progress.ts';

export interface HostDeps {
  hostId: string;
  /** Identifies this worker process; a restarted worker has a new one. */
  incarnation: string;
  processes: HostProcesses;
  portBase: number;
  portCount: number;
  /** argv that runs this kvsweep installation (node + bin/kvsweep.js). */
  kvsweepArgv: string[];
  /** SIGTERM-to-SIGKILL grace at teardown. */
  teardownGraceMs: number;
  /** Called when the pool stopped watching this host while the worker still runs. */
  onWatchLost?: (incarnation: string) => void;
}

export interface ServerHandle {
  key: string;
  host_id: string;
  pid: number;
  port: number;
  base_url: string;
  log_path: string;
  log_offset: number;
  result_dir: string;
  /** When the process was spawned (ISO 8601, ms). */
  started_at: string;
  /** The LMCache fork's statistics URL on this host (absent in handles of older workers). */
  lmcache_stats_url?: string | null;
  /** `{scratch_dir}` of this server start, removed at teardown. */
  scratch_dir?: string | null;
}

/** An empty folder for this server start (e.g. Prometheus multiprocess files): whatever an earlier start left goes. */
async function freshScratchDir(resultDir: string): Promise<string> {
  const dir = join(resultDir, 'server-scratch');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  return dir;
}

function failure(type: string, message: string, logTail: string[] = [], nonRetryable = true): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable, details: [{ log_tail: logTail }] });
}

/** Moves an earlier attempt's files aside, so the experiment folder shows the latest attempt. */
async function setAsideEarlierAttempt(resultDir: string, attempt: number): Promise<void> {
  const marker = await readRecord(join(resultDir, 'attempt.json'), AttemptMarker);
  if (marker.state === 'missing' || (marker.state === 'valid' && marker.value.attempt === attempt)) return;
  // An unreadable marker still means the files are an earlier attempt's: kept, under a name that says so.
  const aside = join(resultDir, 'attempts', marker.state === 'valid' ? String(marker.value.attempt) : 'unknown');
  await mkdir(aside, { recursive: true });
  for (const name of await readdir(resultDir)) {
    if (name === 'attempts' || name === 'outcome.json') continue;
    await rename(join(resultDir, name), join(aside, name));
  }
}

export function createHostActivities(deps: HostDeps) {
  const handles = new Map<string, ServerHandle>();
  const reservedPorts = new Set<number>();
  // Leases this worker was told to stop: a start of theirs still on its way (its attempt already
  // given up) must not leave a server behind. Request ids are unique per attempt, so none comes back.
  const stoppedLeases = new Set<string>();

  // Why a server must not run for this lease now, if so: the lease is another incarnation's (a
  // restarted or re-registered host picked up a start its predecessor was leased), or was stopped.
  const refusal = (requestId: string, incarnation: string | undefined): string | undefined => {
    if (incarnation !== undefined && incarnation !== deps.incarnation) {
      return `lease ${requestId} was granted to an earlier worker on ${deps.hostId} (incarnation ${incarnation}); it restarted since`;
    }
    if (stoppedLeases.has(requestId)) return `lease ${requestId} on ${deps.hostId} was stopped: its attempt was given up`;
    return undefined;
  };

  return {
    /** Heartbeats while this worker lives; the pool learns the host is lost when it stops. */
    async watchHost(input: { host_id: string; incarnation: string }): Promise<void> {
      if (input.incarnation !== deps.incarnation) {
        throw ApplicationFailure.create({ type: 'StaleIncarnation', message: `watcher of an earlier worker on ${input.host_id}`, nonRetryable: true });
      }
      const context = Context.current();
      const beatMs = Math.max(200, Math.min(2_000, (context.info.heartbeatTimeoutMs ?? 10_000) / 4));
      try {
        for (;;) {
          context.heartbeat();
          await context.sleep(beatMs);
        }
      } catch (error) {
        if (error instanceof CancelledFailure && context.cancellationDetails?.workerShutdown !== true) deps.onWatchLost?.(input.incarnation);
        throw error;
      }
    },

    /** Starts the experiment's server on a free port, in its own process group. */
    async startServer(input: { spec: ExperimentSpec; sweep_id: string; results_dir: string; attempt: number; gpu_ids: string[]; request_id?: string; incarnation?: string }): Promise<ServerHandle> {
      const { spec, attempt } = input;
      if (spec.server === null) throw failure('OfflineExperiment', `${spec.id}: ${OFFLINE_EXPERIMENT_MESSAGE}`);
      // The lease's request id (sent by workflows since the lease fix); built the same way when an
      // older workflow did not send it. The lease's incarnation: sent since the stale-start fix.
      const requestId = input.request_id ?? leaseRequestId(experimentWorkflowId(input.sweep_id, spec.id), attempt);
      const key = leaseProcessKeys(requestId).server;
      const refused = refusal(requestId, input.incarnation);
      if (refused) throw failure('StaleIncarnation', refused);
      const known = handles.get(key);
      if (known && deps.processes.get(key) && !deps.processes.get(key)!.exited) return known;
      const resultDir = join(input.results_dir, spec.id);
      await mkdir(resultDir, { recursive: true });
      await setAsideEarlierAttempt(resultDir, attempt);
      await writeJsonAtomic(join(resultDir, 'attempt.json'), { attempt, host_id: deps.hostId, gpu_ids: input.gpu_ids, started_at: new Date().toISOString() } satisfies AttemptMarker);
      const port = await reservePort(deps.portBase, deps.portCount, reservedPorts);
      const scratchDir = usesScratchDir(spec) ? await freshScratchDir(resultDir) : undefined;
      const binding = { port, gpuIds: input.gpu_ids, kvsweepArgv: deps.kvsweepArgv, scratchDir };
      const { argv, env } = renderServerCommand(spec, binding);
      const logPath = join(resultDir, 'server.log');
      await writeJsonAtomic(join(resultDir, 'server-command.json'), { argv, env });
      // A retried start appends to the log: readiness looks only at what this process writes.
      const logOffset = await stat(logPath).then((s) => s.size, () => 0);
      try {
        const started = await deps.processes.start(key, argv, { env, logPath, port });
        const handle: ServerHandle = {
          key,
          host_id: deps.hostId,
          pid: started.pid,
          port,
          base_url: `http://127.0.0.1:${port}`,
          log_path: logPath,
          log_offset: logOffset,
          result_dir: resultDir,
          started_at: new Date(started.startedAtMs).toISOString(),
          lmcache_stats_url: renderLmcacheStatsUrl(spec, binding),
          scratch_dir: scratchDir ?? null,
        };
        void started.exit.then(() => reservedPorts.delete(port));
        // The lease may have been stopped, or this worker re-registered as a new incarnation, while
        // the process was spawned: whoever stopped the lease's processes may not have seen this one.
        const lateRefusal = refusal(requestId, input.incarnation);
        if (lateRefusal) {
          await deps.processes.stop(key, deps.teardownGraceMs);
          throw failure('StaleIncarnation', lateRefusal);
        }
        handles.set(key, handle);
        return handle;
      } catch (error) {
        reservedPorts.delete(port);
        if (error instanceof ApplicationFailure) throw error;
        const reason = error instanceof SpawnError ? error.reason : (error as Error).message;
        throw failure('SpawnError', formatProcessFailure({ what: 'server', end: { kind: 'not-started', reason }, argv, logPath }));
      }
    },

    /** Waits until the server's log matches the ready pattern and its health endpoint answers 200. */
    async awaitServerReady(input: { server: ServerHandle; ready_pattern: string; ready_timeout_s: number; health_path: string }): Promise<{ ready_after_ms: number; pattern_after_ms: number }> {
      const context = Context.current();
      const serverProcess = deps.processes.get(input.server.key);
      if (!serverProcess) throw failure('ServerGone', `server ${input.server.key} is not running on ${deps.hostId} (the worker restarted)`, [], true);
      const result = await waitUntilReady({
        logPath: input.server.log_path,
        logOffset: input.server.log_offset,
        pattern: new RegExp(input.ready_pattern, 'm'),
        healthUrl: `${input.server.base_url}${input.health_path}`,
        timeoutMs: input.ready_timeout_s * 1000,
        exited: () => serverProcess.exited,
        heartbeat: (phase) => context.heartbeat({ phase }),
        signal: context.cancellationSignal,
      });
      if (!result.ready) {
        const exited = result.reason === 'exited';
        const end: ProcessEnd = exited ? { kind: 'exited', ...result.exit } : { kind: 'timed-out', afterS: input.ready_timeout_s, awaited: result.awaited };
        const message = formatProcessFailure({ what: 'server', end, during: exited ? 'during start-up' : undefined, argv: serverProcess.argv, logPath: input.server.log_path });
        throw failure(exited ? 'ServerExited' : 'ServerNotReady', message, await tailLines(input.server.log_path));
      }
      return { ready_after_ms: Math.round(result.healthyAtMs), pattern_after_ms: Math.round(result.patternAtMs) };
    },

    /** Replays the trace with the configured client while watching that the server stays up. */
    async runClient(input: { spec: ExperimentSpec; server: ServerHandle }): Promise<{ exit_code: number; duration_s: number }> {
      const context = Context.current();
      const { spec, server } = input;
      const serverProcess = deps.processes.get(server.key);
      if (!serverProcess) throw failure('ServerGone', `server ${server.key} is not running on ${deps.hostId} (the worker restarted)`);
      const argv = renderClientCommand(spec, spec.client, {
        baseUrl: server.base_url,
        resultDir: server.result_dir,
        kvsweepArgv: deps.kvsweepArgv,
        lmcacheStatsUrl: server.lmcache_stats_url ?? null,
      });
      const clientKey = leaseProcessKeys(server.key).client;
      await deps.processes.stop(clientKey, 1_000); // a retried attempt's earlier client, if any
      const logPath = join(server.result_dir, 'client.log');
      const progressPath = join(server.result_dir, 'client-progress.jsonl');
      const started = performance.now();
      const client = await deps.processes.start(clientKey, argv, { env: {}, logPath, stdoutPath: progressPath });
      const ended = await followClient({ client, server: serverProcess, progressPath, context });
      const duration_s = Math.round((performance.now() - started) / 10) / 100;
      if (ended.kind === 'cancelled') {
        await deps.processes.stop(clientKey, 2_000);
        throw ended.error;
      }
      if (ended.kind === 'server-exited') {
        await deps.processes.stop(clientKey, 2_000);
        const message = formatProcessFailure({ what: 'server', end: { kind: 'exited', ...ended.exit }, during: 'during the run', argv: serverProcess.argv, logPath: server.log_path });
        throw failure('ServerExited', message, await tailLines(server.log_path));
      }
      if (ended.exit.exitCode !== 0) {
        const message = formatProcessFailure({ what: 'client', end: { kind: 'exited', ...ended.exit }, argv, logPath });
        throw failure('ClientFailed', message, await tailLines(logPath));
      }
      return { exit_code: 0, duration_s };
    },

    /** Reads the client's result files into the compact figures of the summary. */
    async collectResults(input: { spec: ExperimentSpec; server: ServerHandle }): Promise<CollectedResults> {
      try {
        return await collectFrom(input.server.result_dir, { path: input.server.log_path, offset: input.server.log_offset });
      } catch (error) {
        throw failure('ResultsUnreadable', (error as Error).message, await tailLines(join(input.server.result_dir, 'client.log')));
      }
    },

    /**
     * Stops whatever still runs for one lease (its server and client, by exact key), whichever
     * worker of this host started it: for a lease whose experiment is gone, or whose host stopped
     * answering the experiment. Returning means nothing of that lease runs here any more.
     */
    async stopLeaseProcesses(input: { request_id: string }): Promise<{ stopped: number }> {
      stoppedLeases.add(input.request_id);
      let stopped: number;
      try {
        stopped = await deps.processes.stopLease(input.request_id, deps.teardownGraceMs);
      } catch (error) {
        throw failure('TeardownFailed', formatProcessFailure({ what: `processes of lease ${input.request_id}`, end: { kind: 'not-stopped', reason: (error as Error).message } }), [], false);
      }
      const handle = handles.get(leaseProcessKeys(input.request_id).server);
      if (handle) {
        reservedPorts.delete(handle.port);
        handles.delete(handle.key);
      }
      return { stopped };
    },

    /** Stops the server's process group (SIGTERM, SIGKILL after a grace) and checks its port is free. */
    async teardownServer(input: { server: ServerHandle }): Promise<{ ended: string; duration_ms: number; port_free: boolean; stopped_at: string }> {
      const { server } = input;
      const argv = deps.processes.get(server.key)?.argv;
      let report;
      try {
        await deps.processes.stop(leaseProcessKeys(server.key).client, 1_000);
        report = (await deps.processes.stop(server.key, deps.teardownGraceMs)) ?? { ended: 'already-gone', durationMs: 0 };
      } catch (error) {
        // Retryable: a process stuck in the kernel may yet go; the workflow bounds the retries.
        throw failure('TeardownFailed', formatProcessFailure({ what: 'server', end: { kind: 'not-stopped', reason: (error as Error).message }, argv, logPath: server.log_path }), [], false);
      }
      const stoppedAt = new Date().toISOString();
      const portFree = await waitPortFree(server.port, 5_000);
      reservedPorts.delete(server.port);
      // Prometheus multiprocess files and the like: only this server start read them.
      if (server.scratch_dir) await rm(server.scratch_dir, { recursive: true, force: true });
      handles.delete(server.key);
      if (!portFree) throw failure('PortStillInUse', `port ${server.port} on ${deps.hostId} is still in use after the server stopped`, [], false);
      return { ended: report.ended, duration_ms: report.durationMs, port_free: portFree, stopped_at: stoppedAt };
    },
  };
}

export type HostActivities = ReturnType<typeof createHostActivities>;
