// The experiment workflow's path for an offline experiment (spec.server === null): no GPU lease, no
// server; one activity on the offline queue simulates it and writes its result folder, then the
// outcome is recorded as for any experiment. Offline specs never reached a recorded history past
// the old guard (which failed them before any command), so this path needs no patched().
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
} from '@temporalio/workflow';
import type { createControlActivities } from '../activities/control.ts';
import type { createOfflineActivities } from '../activities/offline.ts';
import type { ExperimentSpec } from '../domain/experiment.ts';
import { OFFLINE_TASK_QUEUE } from '../domain/names.ts';
import { configurationOf, type AttemptRecord, type ExperimentOutcome, type ExperimentStatus } from '../domain/outcome.ts';

const outcomes = proxyLocalActivities<ReturnType<typeof createControlActivities>>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

function simulation(spec: ExperimentSpec) {
  return proxyActivities<ReturnType<typeof createOfflineActivities>>({
    taskQueue: OFFLINE_TASK_QUEUE,
    summary: `simulate ${spec.dataset.name} offline (${spec.offline?.cache_model ?? 'kvsweep'} model, ${spec.eviction_strategy}, ${spec.cache_size_gb} GB, rate ${spec.request_rate})`,
    // The thread's worker heartbeats every second: silence means the worker is gone, and the
    // retry runs on another one. A bad setting (OfflineExperimentError) is not retried.
    heartbeatTimeout: '30 seconds',
    startToCloseTimeout: '6 hours',
    retry: { maximumAttempts: spec.max_attempts, initialInterval: '1 second', nonRetryableErrorTypes: ['OfflineExperimentError'] },
  }).simulateOffline;
}

function failureRecord(error: unknown): Pick<AttemptRecord, 'result' | 'error' | 'log_tail'> {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure) {
    const details = (cause.details?.[0] ?? {}) as { log_tail?: string[] };
    return { result: 'failed', error: cause.message, log_tail: details.log_tail ?? [] };
  }
  return { result: 'failed', error: cause instanceof Error ? cause.message : String(cause), log_tail: [] };
}

export interface OfflineExperimentHooks {
  setPhase: (text: string) => void;
  setStatus: (status: string) => void;
  /** Tells the sweep and returns the outcome. */
  finish: (status: ExperimentStatus, outcome: ExperimentOutcome) => Promise<ExperimentOutcome>;
}

export async function runOfflineExperiment(spec: ExperimentSpec, sweepId: string, resultsDir: string, hooks: OfflineExperimentHooks): Promise<ExperimentOutcome> {
  const startedMs = Date.now();
  hooks.setPhase('checking earlier results');
  const earlier = await outcomes.readExperimentOutcome({ results_dir: resultsDir, experiment_id: spec.id });
  if (earlier?.status === 'succeeded') return hooks.finish('succeeded', earlier);
  hooks.setStatus('running');
  hooks.setPhase(`simulating offline (queue ${OFFLINE_TASK_QUEUE})`);
  let record: Pick<AttemptRecord, 'result' | 'error' | 'log_tail'> = { result: 'succeeded', error: null, log_tail: [] };
  let results: Awaited<ReturnType<ReturnType<typeof simulation>>> | undefined;
  let cancellation: unknown;
  try {
    results = await simulation(spec)({ spec, results_dir: resultsDir });
  } catch (error) {
    if (isCancellation(error)) {
      cancellation = error;
      record = { result: 'cancelled', error: 'cancelled', log_tail: [] };
    } else {
      record = failureRecord(error);
    }
  }
  const status: ExperimentStatus = results ? 'succeeded' : cancellation ? 'cancelled' : 'failed';
  const endedAt = new Date(Date.now()).toISOString();
  const attempt: AttemptRecord = {
    attempt: 1,
    host_id: null,
    gpu_ids: [],
    port: null,
    started_at: new Date(startedMs).toISOString(),
    ended_at: endedAt,
    ...record,
    files: results?.result_dir ?? null,
    server_started_at: null,
    server_ready_after_ms: null,
    server_stopped_at: null,
  };
  const outcome: ExperimentOutcome = {
    experiment_id: spec.id,
    sweep_id: sweepId,
    timestamp: new Date(startedMs).toISOString(),
    status,
    execution_success: status === 'succeeded',
    execution_time_seconds: Math.round((Date.now() - startedMs) / 10) / 100,
    queued_seconds: 0,
    configuration: configurationOf(spec),
    benchmark_results: results?.benchmark_results ?? {},
    cache_statistics: results?.cache_statistics ?? {},
    attempts: [attempt],
    error: status === 'succeeded' ? null : record.error,
    results_path: `${resultsDir}/${spec.id}`,
  };
  hooks.setPhase(status);
  await CancellationScope.nonCancellable(() => outcomes.recordExperimentOutcome({ results_dir: resultsDir, outcome }));
  await CancellationScope.nonCancellable(() => hooks.finish(status, outcome));
  if (cancellation) throw cancellation;
  return outcome;
}
