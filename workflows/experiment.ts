import {
  type ActivityOptions,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  TimeoutFailure,
  condition,
  defineQuery,
  defineSignal,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createControlActivities } from '../activities/control.ts';
import type { createHostActivities, ServerHandle } from '../activities/host.ts';
import type { ExperimentSpec, ServerCommand } from '../domain/experiment.ts';
import { GPU_POOL_WORKFLOW_ID, Queries, SearchAttributes, leaseRequestId } from '../domain/names.ts';
import { configurationOf, type AttemptRecord, type ExperimentOutcome, type ExperimentStatus } from '../domain/outcome.ts';
import type { Lease } from '../domain/placement.ts';
import { runOfflineExperiment } from './offline-experiment.ts';
import { leaseGrantedSignal, leaseRevokedSignal, releaseLeaseSignal, requestLeaseSignal, signalGpuPool } from './gpu-pool.ts';

export interface ExperimentInput {
  spec: ExperimentSpec;
  sweep_id: string;
  results_dir: string;
  /** The sweep to tell when this experiment ends (by id, so it reaches the sweep's latest run). */
  parent_workflow_id?: string;
  /** Whether kvsweep's search attributes are registered on the namespace. */
  use_search_attributes?: boolean;
  /** The parent already asked the pool for this experiment's first lease (in one signal for many
   * experiments, which saves each a signal and the workflow task that follows it). */
  first_lease_requested?: boolean;
}

export interface ExperimentFinished {
  experiment_id: string;
  status: ExperimentStatus;
  execution_time_seconds: number;
}
export const experimentFinishedSignal = defineSignal<[ExperimentFinished]>('experimentFinished');

export interface ExperimentState {
  experiment_id: string;
  phase: string;
  attempt: number;
  max_attempts: number;
  lease: Lease | null;
  attempts: AttemptRecord[];
}
export const experimentStateQuery = defineQuery<ExperimentState>(Queries.experimentState);

type HostActivities = ReturnType<typeof createHostActivities>;
/** The host activities an experiment runs, in order. */
type ExperimentSteps = Pick<HostActivities, 'startServer' | 'awaitServerReady' | 'runClient' | 'collectResults' | 'teardownServer'>;

// Reading and writing the outcome file are quick and local to the worker running this workflow:
// local activities, which save two task round trips per experiment. Retried until they succeed.
const outcomes = proxyLocalActivities<ReturnType<typeof createControlActivities>>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});
const control = proxyActivities<ReturnType<typeof createControlActivities>>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

/**
 * Host-bound activities of one lease. H is the host's heartbeat timeout: an activity that a host
 * does not pick up, or stops heartbeating, within H means the host is lost. Each timeout is the
 * longest a healthy step can take, so a slow step is never mistaken for a lost host.
 */
function hostActivities(lease: Lease, spec: ExperimentSpec, server: ServerCommand): ExperimentSteps {
  const h = `${lease.heartbeat_timeout_s}s`;
  const base = { taskQueue: lease.task_queue, scheduleToStartTimeout: h };
  const where = `on ${lease.host_id} GPU ${lease.gpu_ids.join(',')}`;
  // Each step says in the Web UI what it does and where.
  const proxy = (summary: string, options: Omit<ActivityOptions, 'summary'>) => proxyActivities<HostActivities>({ ...options, summary });
  // Starting is quick and idempotent per attempt (a retry finds the process it started).
  const start = { ...base, startToCloseTimeout: '1 minute', retry: { maximumAttempts: 3, nonRetryableErrorTypes: ['SpawnError'] } };
  // Waiting and replaying are bound to a server process: a retry could not resume them.
  const ready = { ...base, heartbeatTimeout: h, startToCloseTimeout: `${server.ready_timeout_s + 30}s`, retry: { maximumAttempts: 1 } };
  const client = { ...base, heartbeatTimeout: h, startToCloseTimeout: `${Math.ceil(spec.time_limit * 1.5) + 300}s`, retry: { maximumAttempts: 1 } };
  // Reading results and stopping processes are idempotent: retried.
  const after = { ...base, startToCloseTimeout: '1 minute', retry: { maximumAttempts: 3 } };
  return {
    startServer: proxy(`start ${spec.environment} server for ${spec.model} ${where}`, start).startServer,
    awaitServerReady: proxy(`await readiness (log /${server.ready_pattern}/ and ${server.health_path})`, ready).awaitServerReady,
    runClient: proxy(`replay ${spec.dataset.name} at rate ${spec.request_rate}`, client).runClient,
    collectResults: proxy('collect result.json and cache statistics', after).collectResults,
    teardownServer: proxy(`tear down the server ${where}`, after).teardownServer,
  };
}

/** Why an attempt ended, from the failure that ended it. */
function classifyFailure(error: unknown, revokedReason: string | undefined): Pick<AttemptRecord, 'result' | 'error' | 'log_tail'> {
  if (revokedReason !== undefined) return { result: 'host_lost', error: revokedReason, log_tail: [] };
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof TimeoutFailure && (cause.timeoutType === 'SCHEDULE_TO_START' || cause.timeoutType === 'HEARTBEAT')) {
    // Nobody picked the task up, or the worker stopped heartbeating: the host stopped answering.
    return { result: 'host_lost', error: `host stopped answering (${cause.message})`, log_tail: [] };
  }
  if (cause instanceof ApplicationFailure && cause.type === 'StaleIncarnation') {
    // The host's worker restarted since the lease was granted: the lease is void, not the experiment.
    return { result: 'host_lost', error: `host restarted: ${cause.message}`, log_tail: [] };
  }
  if (cause instanceof ApplicationFailure) {
    const details = (cause.details?.[0] ?? {}) as { log_tail?: string[] };
    return { result: 'failed', error: cause.message, log_tail: details.log_tail ?? [] };
  }
  return { result: 'failed', error: cause instanceof Error ? cause.message : String(cause), log_tail: [] };
}

/**
 * One experiment (an offline one: no lease, one simulation, see offline-experiment.ts): lease GPUs from the pool, then on the leased host start the server, await its
 * readiness, replay the trace, collect the figures, and always tear the server down. A lost host
 * or a failed attempt is retried on whatever host the pool grants next, up to max_attempts.
 */
export async function ExperimentWorkflow(input: ExperimentInput): Promise<ExperimentOutcome> {
  const { spec, sweep_id, results_dir } = input;
  const workflowId = workflowInfo().workflowId;
  const startedMs = Date.now();
  const attempts: AttemptRecord[] = [];
  const granted = new Map<string, Lease>();
  const revoked = new Map<string, string>();
  let phase = 'checking earlier results';
  let currentLease: Lease | null = null;
  let attemptScope: CancellationScope | undefined;

  setHandler(leaseGrantedSignal, (lease) => void granted.set(lease.request_id, lease));
  setHandler(leaseRevokedSignal, ({ lease_id, reason }) => {
    revoked.set(lease_id, reason);
    if (currentLease?.lease_id === lease_id) attemptScope?.cancel();
  });
  setHandler(experimentStateQuery, () => ({
    experiment_id: spec.id,
    phase,
    attempt: attempts.length + (currentLease ? 1 : 0),
    max_attempts: spec.max_attempts,
    lease: currentLease,
    attempts,
  }));
  const setPhase = (text: string) => {
    phase = text;
    setCurrentDetails(`${spec.id}: ${text}`);
  };
  const setStatus = (status: string) => {
    if (input.use_search_attributes) upsertSearchAttributes({ [SearchAttributes.status]: [status] });
  };

  const finish = async (status: ExperimentStatus, outcome: ExperimentOutcome) => {
    setStatus(status);
    if (input.parent_workflow_id) {
      const finished: ExperimentFinished = { experiment_id: spec.id, status, execution_time_seconds: outcome.execution_time_seconds };
      // Awaited: a signal command still pending when the workflow completes is not sent.
      await getExternalWorkflowHandle(input.parent_workflow_id).signal(experimentFinishedSignal, finished).catch(() => undefined);
    }
    return outcome;
  };

  // No server and no GPU: one simulation on the offline queue (workflows/offline-experiment.ts).
  if (spec.server === null) return runOfflineExperiment(spec, sweep_id, results_dir, { setPhase, setStatus, finish });
  const serverCommand = spec.server;

  // hostUnresponsive: this attempt stopped hearing from its host, which the pool has not seen die;
  // the pool then keeps the GPUs booked and has the host stop the lease's processes first.
  const releaseLease = (requestId: string, hostUnresponsive?: string) =>
    getExternalWorkflowHandle(GPU_POOL_WORKFLOW_ID)
      .signal(releaseLeaseSignal, { request_id: requestId, ...(hostUnresponsive === undefined ? {} : { host_unresponsive: hostUnresponsive }) })
      .catch(() => undefined);

  // A resumed sweep or a repeated start must never rerun an experiment that already succeeded.
  const earlier = await outcomes.readExperimentOutcome({ results_dir, experiment_id: spec.id });
  if (earlier?.status === 'succeeded') {
    // Withdraw the lease the parent asked for, or its GPUs would stay booked for nobody.
    if (input.first_lease_requested) await releaseLease(leaseRequestId(workflowId, 1));
    return finish('succeeded', earlier);
  }

  // Execution time counts from the first lease: waiting for GPUs is queueing, not execution.
  let firstLeaseMs: number | undefined;
  let results: Awaited<ReturnType<HostActivities['collectResults']>> | undefined;
  let cancelled = false;
  let cancellation: unknown;
  // The last lease release sent: awaited before the workflow completes, because the server drops a
  // signal whose sender has closed by the time it is delivered (the GPUs then stayed booked until
  // the pool's holder check, up to 30 s later).
  let lastRelease: Promise<unknown> = Promise.resolve();
  setStatus('running');

  const requestLease = (requestId: string) =>
    signalGpuPool(requestLeaseSignal, { request_id: requestId, holder: workflowId, gpu_count: spec.gpu_count, gpu_class: spec.gpu_class, expected_duration_s: spec.time_limit }, control.ensureGpuPool);
  for (let attempt = 1; attempt <= spec.max_attempts && !results && !cancelled; attempt++) {
    const requestId = leaseRequestId(workflowId, attempt);
    const attemptStarted = new Date(Date.now()).toISOString();
    let server: ServerHandle | undefined;
    let readyAfterMs: number | null = null;
    let stoppedAt: string | null = null;
    let record: Pick<AttemptRecord, 'result' | 'error' | 'log_tail'> = { result: 'succeeded', error: null, log_tail: [] };
    // Whether the server may have been started without this attempt learning of it: its start was
    // under way when the attempt ended otherwise than by the start's own answer (cancelled, timed out).
    let startUnknown = false;
    try {
      setPhase(`attempt ${attempt}/${spec.max_attempts}: waiting for ${spec.gpu_count} GPU(s) of class ${spec.gpu_class}`);
      if (attempt > 1 || !input.first_lease_requested) await requestLease(requestId);
      // Ask again now and then: a pool that was reset (or a parent's request that was lost)
      // would otherwise leave us waiting forever.
      while (!(await condition(() => granted.has(requestId), '5 minutes'))) await requestLease(requestId);
      const lease = granted.get(requestId)!;
      currentLease = lease;
      firstLeaseMs ??= Date.now();
      const host = hostActivities(lease, spec, serverCommand);
      attemptScope = new CancellationScope();
      if (revoked.has(lease.lease_id)) attemptScope.cancel();
      await attemptScope.run(async () => {
        const where = `on ${lease.host_id} GPUs ${lease.gpu_ids.join(',')}`;
        setPhase(`attempt ${attempt}: starting server ${where}`);
        startUnknown = true;
        server = await host.startServer({ spec, sweep_id, results_dir, attempt, gpu_ids: lease.gpu_ids, request_id: requestId, incarnation: lease.incarnation });
        startUnknown = false;
        setPhase(`attempt ${attempt}: awaiting readiness of ${server.base_url} ${where}`);
        ({ ready_after_ms: readyAfterMs } = await host.awaitServerReady({ server, ready_pattern: serverCommand.ready_pattern, ready_timeout_s: serverCommand.ready_timeout_s, health_path: serverCommand.health_path }));
        setPhase(`attempt ${attempt}: replaying ${spec.dataset.name} at rate ${spec.request_rate} ${where}`);
        await host.runClient({ spec, server });
        setPhase(`attempt ${attempt}: collecting results`);
        results = await host.collectResults({ spec, server });
      });
    } catch (error) {
      // The start's own failure (it could not spawn, or refused a stale lease) leaves nothing running.
      if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure) startUnknown = false;
      const revokedReason = currentLease ? revoked.get(currentLease.lease_id) : undefined;
      if (isCancellation(error) && revokedReason === undefined) {
        cancelled = true;
        cancellation = error;
        record = { result: 'cancelled', error: 'cancelled', log_tail: [] };
      } else {
        record = classifyFailure(error, revokedReason);
      }
    } finally {
      const lease = currentLease;
      await CancellationScope.nonCancellable(async () => {
        if (server && lease && record.result !== 'host_lost') {
          setPhase(`attempt ${attempt}: tearing down`);
          const { teardownServer } = hostActivities(lease, spec, serverCommand);
          await teardownServer({ server }).then(
            (teardown) => void (stoppedAt = teardown.stopped_at),
            (error: unknown) => {
              if (record.result === 'succeeded') record = classifyFailure(error, undefined);
            },
          );
        }
        // Not awaited here (waiting would cost a workflow task), only before the workflow
        // completes. A host that stopped answering (not revoked: the pool still sees it alive), or
        // a start whose answer never came, may still run the server on those GPUs: the pool holds them until
        // the host stops the lease's processes, while the next attempt goes on elsewhere.
        const mayRun = record.result === 'host_lost' || startUnknown;
        const silentHost = mayRun && lease !== null && !revoked.has(lease.lease_id);
        const why = record.result === 'host_lost' ? record.error ?? 'host stopped answering' : `given up while its server was starting (${record.error ?? record.result})`;
        lastRelease = releaseLease(requestId, silentHost ? why : undefined);
      });
      if (record.result !== 'succeeded') results = undefined;
      attempts.push({
        attempt,
        host_id: lease?.host_id ?? null,
        gpu_ids: lease?.gpu_ids ?? [],
        port: server?.port ?? null,
        started_at: attemptStarted,
        ended_at: new Date(Date.now()).toISOString(),
        ...record,
        files: server?.result_dir ?? null,
        server_started_at: server?.started_at ?? null,
        server_ready_after_ms: readyAfterMs,
        server_stopped_at: stoppedAt,
      });
      currentLease = null;
    }
  }

  const status: ExperimentStatus = results ? 'succeeded' : cancelled ? 'cancelled' : 'failed';
  const last = attempts[attempts.length - 1];
  const outcome: ExperimentOutcome = {
    experiment_id: spec.id,
    sweep_id,
    timestamp: new Date(startedMs).toISOString(),
    status,
    execution_success: status === 'succeeded',
    execution_time_seconds: Math.round((Date.now() - (firstLeaseMs ?? Date.now())) / 10) / 100,
    queued_seconds: Math.round(((firstLeaseMs ?? Date.now()) - startedMs) / 10) / 100,
    configuration: configurationOf(spec),
    benchmark_results: results?.benchmark_results ?? {},
    cache_statistics: results?.cache_statistics ?? {},
    attempts,
    error: status === 'succeeded' ? null : (last?.error ?? 'no attempt ran'),
    results_path: `${results_dir}/${spec.id}`,
  };
  setPhase(status);
  await CancellationScope.nonCancellable(() => outcomes.recordExperimentOutcome({ results_dir, outcome }));
  await CancellationScope.nonCancellable(() => finish(status, outcome));
  if (patched('await-last-lease-release')) await lastRelease;
  // Rethrowing the cancellation shows the experiment as Canceled in the Web UI.
  if (cancelled) throw cancellation;
  return outcome;
}
