// One kvsweep worker process per host. It first stops whatever an earlier worker on this host left
// running, then polls the control queue (workflows, sweep-level activities) and its host's own
// queue (servers and clients on its GPUs), and registers its GPUs with the pool. On SIGINT/SIGTERM
// it leaves the pool, stops its processes and exits.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { createControlActivities } from '../activities/control.ts';
import { createHostActivities, type HostDeps } from '../activities/host.ts';
import { OfflineThreadPool, createOfflineActivities, offlineConcurrency } from '../activities/offline.ts';
import { HostProcesses } from '../activities/host-processes.ts';
import { CONTROL_TASK_QUEUE, GPU_POOL_WORKFLOW_ID, OFFLINE_TASK_QUEUE, Queries, Signals, WorkflowTypes, hostTaskQueue } from '../domain/names.ts';
import type { HostRegistration } from '../domain/placement.ts';
import type { PoolSnapshot } from '../workflows/gpu-pool.ts';
import { kvsweepArgv } from '../platform/paths.ts';
import { lockHost } from './host-lock.ts';
import { workflowBundlePath } from './workflow-bundle.ts';

export interface HostWorkerOptions {
  address: string;
  namespace: string;
  hostId: string;
  gpuIds: string[];
  gpuClass: string;
  /** Poll the control queue too (workflows and sweep activities); off on GPU-only hosts. */
  control: boolean;
  portBase: number;
  portCount: number;
  heartbeatTimeoutS: number;
  teardownGraceMs: number;
  /** Directory relative config paths (Temporal CLI input) are resolved against. */
  cwd: string;
  log: (line: string) => void;
}

export interface RunningWorker {
  /** Resolves when the worker has stopped (after stop(), or a fatal error). */
  done: Promise<void>;
  stop: () => Promise<void>;
  registration: () => HostRegistration | undefined;
}

export async function startHostWorker(options: HostWorkerOptions): Promise<RunningWorker> {
  const unlockHost = lockHost(options.hostId);
  try {
    return await startLockedHostWorker(options, unlockHost);
  } catch (error) {
    unlockHost();
    throw error;
  }
}

async function startLockedHostWorker(options: HostWorkerOptions, unlockHost: () => void): Promise<RunningWorker> {
  const processes = new HostProcesses(options.hostId);
  const orphans = await processes.stopOrphans(options.teardownGraceMs);
  for (const orphan of orphans) options.log(`stopped process group ${orphan.pgid} (${orphan.key}) left by an earlier worker: ${orphan.ended}`);

  const connection = await NativeConnection.connect({ address: options.address });
  const client = new Client({ connection: await Connection.connect({ address: options.address }), namespace: options.namespace });
  const workers: Worker[] = [];
  const hasGpus = options.gpuIds.length > 0;
  const taskQueue = hostTaskQueue(options.hostId);

  const deps: HostDeps = {
    hostId: options.hostId,
    incarnation: randomUUID(),
    processes,
    portBase: options.portBase,
    portCount: options.portCount,
    kvsweepArgv,
    teardownGraceMs: options.teardownGraceMs,
    onWatchLost: (incarnation) => void reRegisterIfLost(incarnation),
  };
  const registration = (): HostRegistration => ({
    host_id: options.hostId,
    incarnation: deps.incarnation,
    gpu_class: options.gpuClass,
    gpu_ids: options.gpuIds,
    task_queue: taskQueue,
    heartbeat_timeout_s: options.heartbeatTimeoutS,
  });
  const register = () =>
    client.workflow.signalWithStart(WorkflowTypes.gpuPool, {
      workflowId: GPU_POOL_WORKFLOW_ID,
      taskQueue: CONTROL_TASK_QUEUE,
      args: [{}],
      signal: Signals.registerHost,
      signalArgs: [registration()],
    });

  // The pool stopped watching us while we live: either it continued as new (it watches again, all
  // is well) or it declared this host lost and revoked our leases. In that case our servers belong
  // to experiments that moved on: stop them and come back as a new incarnation.
  let reRegistering = false;
  async function reRegisterIfLost(incarnation: string) {
    if (reRegistering || incarnation !== deps.incarnation) return;
    reRegistering = true;
    try {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const snapshot = await client.workflow.getHandle(GPU_POOL_WORKFLOW_ID).query<PoolSnapshot>(Queries.pool);
      const me = snapshot.hosts.find((h) => h.host_id === options.hostId);
      if (me?.status === 'online' && me.incarnation === deps.incarnation) return;
      options.log(`the pool declared ${options.hostId} lost; stopping its processes and registering again`);
      // The new incarnation first: a start of an old lease still under way then sees it and
      // stops its own process, which stopAll may have missed (activities/host.ts).
      deps.incarnation = randomUUID();
      await processes.stopAll(options.teardownGraceMs);
      await register();
    } catch (error) {
      options.log(`could not re-register with the pool: ${(error as Error).message}`);
    } finally {
      reRegistering = false;
    }
  }

  const common = {
    connection,
    namespace: options.namespace,
    // Heartbeats reach the server at least every second, so a cancellation (a sweep cancelled
    // from the Web UI) reaches a running activity within about a second.
    maxHeartbeatThrottleInterval: '1 second',
    defaultHeartbeatThrottleInterval: '1 second',
    shutdownGraceTime: '5 seconds',
    // A workflow cached on a worker that died would wait this long on that worker's sticky queue
    // before another worker takes it: part of the recovery time after a host loss.
    stickyQueueScheduleToStartTimeout: '2 seconds',
  } as const;
  if (options.control) {
    workers.push(
      await Worker.create({
        ...common,
        taskQueue: CONTROL_TASK_QUEUE,
        workflowBundle: { codePath: await workflowBundlePath() },
        activities: createControlActivities({ cwd: options.cwd }),
        maxConcurrentWorkflowTaskExecutions: 100,
        maxConcurrentActivityTaskExecutions: 50,
      }),
    );
  }
  // Offline experiments: every control worker simulates them, one thread per core.
  const offlineThreads = options.control ? offlineConcurrency() : 0;
  const offlinePool = new OfflineThreadPool(offlineThreads);
  if (options.control) {
    workers.push(
      await Worker.create({
        ...common,
        taskQueue: OFFLINE_TASK_QUEUE,
        activities: createOfflineActivities(offlinePool),
        maxConcurrentActivityTaskExecutions: offlineThreads,
      }),
    );
  }
  if (hasGpus) {
    workers.push(
      await Worker.create({
        ...common,
        taskQueue,
        activities: createHostActivities(deps),
        // Each experiment holds a few activities at once (readiness, client) plus the watcher.
        maxConcurrentActivityTaskExecutions: 100,
      }),
    );
  }
  if (workers.length === 0) throw new Error('this worker has neither GPUs nor the control queue: nothing to do');

  const running = Promise.all(workers.map((w) => w.run()));
  if (hasGpus) await register();
  options.log(
    `worker ${options.hostId} ready: ${hasGpus ? `${options.gpuIds.length} GPU(s) [${options.gpuIds.join(',')}] class ${options.gpuClass}, queue ${taskQueue}` : 'no GPUs'}` +
      `${options.control ? `, control queue ${CONTROL_TASK_QUEUE}, offline queue ${OFFLINE_TASK_QUEUE} (${offlineThreads} threads)` : ''}`,
  );

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (hasGpus) {
        await client.workflow
          .getHandle(GPU_POOL_WORKFLOW_ID)
          .signal(Signals.unregisterHost, { host_id: options.hostId, incarnation: deps.incarnation })
          .catch(() => undefined);
      }
      for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      await offlinePool.close();
      await processes.stopAll(options.teardownGraceMs);
      await connection.close();
      await client.connection.close();
      unlockHost();
    })());
  const done = running.then(
    () => undefined,
    async (error) => {
      await offlinePool.close();
      await processes.stopAll(options.teardownGraceMs);
      unlockHost();
      throw error;
    },
  );
  return { done, stop, registration: () => (hasGpus ? registration() : undefined) };
}
