import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createControlActivities } from '../activities/control.ts';
import { expandSweep } from '../domain/config/expand.ts';
import type { ResolvedSweep } from '../domain/config/resolved.ts';
import type { ExperimentSpec } from '../domain/experiment.ts';
import { CONTROL_TASK_QUEUE, Queries, SearchAttributes, experimentWorkflowId, leaseRequestId } from '../domain/names.ts';
import type { LeaseRequest } from '../domain/placement.ts';
import { configurationOf, type ExperimentOutcome, type ExperimentStatus, type SweepCounts } from '../domain/outcome.ts';
import {
  describeProgress,
  isRunning,
  markFinished,
  markRunning,
  newSweepBook,
  progressOf,
  remainingCount,
  resumeSweepState,
  skipAlreadyDone,
  startableIds,
  stopRunning,
  type CarriedSweepState,
  type SweepPhase,
  type SweepProgress,
} from '../domain/sweep-state.ts';
import { ExperimentWorkflow, experimentFinishedSignal } from './experiment.ts';
import { requestLeasesSignal, signalGpuPool } from './gpu-pool.ts';

/** How a sweep is given: a YAML path on the workers' file system, a config object, or resolved. */
export interface SweepInput {
  yaml_path?: string;
  config?: unknown;
  resolved?: ResolvedSweep;
  /** Environment name (like `--env`); the config's or the default when absent. */
  env?: string;
  /** Defaults to `<log_base_dir>/<tag>_<date the sweep started>`. */
  results_dir?: string;
  /** Experiments running or waiting for GPUs at once (children in flight). */
  max_parallel?: number;
  use_search_attributes?: boolean;
  /** How often children an earlier run started are checked for having closed unreported (s). */
  reconcile_interval_s?: number;
  /** History events before the sweep continues as new (default 8,000); tests lower it. */
  continue_as_new_after_events?: number;
  /** Carried across continue-as-new; not for users. */
  carried?: CarriedSweepState;
}

export type { SweepProgress };
export const progressQuery = defineQuery<SweepProgress>(Queries.progress);

export interface SweepResult {
  sweep_id: string;
  results_dir: string;
  summary_path: string;
  report_path: string | null;
  counts: SweepCounts;
}

const DEFAULT_MAX_PARALLEL = 200;
const HISTORY_EVENTS_BEFORE_CONTINUE = 8_000;
/** At most one summary write per interval while experiments finish: each write is an activity. */
const SUMMARY_INTERVAL_MS = 15_000;
const SUMMARY_INTERVAL = '15 seconds';
const DEFAULT_RECONCILE_INTERVAL_S = 300;

const control = proxyActivities<ReturnType<typeof createControlActivities>>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', nonRetryableErrorTypes: ['ConfigError'] },
});

/** Resolves a config given by path or as JSON; bad input fails the sweep with the problem itself. */
async function resolveConfig(input: SweepInput): Promise<ResolvedSweep> {
  try {
    return await control.resolveSweepConfig({ yaml_path: input.yaml_path, config: input.config, env: input.env });
  } catch (error) {
    const cause = error instanceof ActivityFailure ? error.cause : undefined;
    if (cause instanceof ApplicationFailure && cause.type === 'ConfigError') throw ApplicationFailure.nonRetryable(cause.message, 'ConfigError');
    throw error;
  }
}

// Drawing the plots takes seconds; two tries, then the sweep ends without a report.
const reportActivity = proxyActivities<ReturnType<typeof createControlActivities>>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 2 },
});

function todayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * A sweep: expands one config into experiments and runs each as a child ExperimentWorkflow, at
 * most max_parallel in flight. Children are abandoned on close and report back by signal, so the
 * sweep can continue as new (bounding its history) and a resumed sweep with the same id hears
 * from children that an earlier run started. Experiments whose outcome on disk says they
 * succeeded are never started again: the results folder is the record.
 */
export async function SweepWorkflow(input: SweepInput): Promise<SweepResult> {
  const info = workflowInfo();
  const sweepId = info.workflowId;
  const carried = input.carried;
  let phase: SweepPhase = 'resolving';
  const book = carried ? resumeSweepState(carried) : newSweepBook(input.results_dir ?? '', Date.now());
  // Running children this run does not watch (an earlier run started them): they report by
  // signal, and are checked now and then in case one was terminated by hand and never will.
  const unwatched = new Set(book.running);
  let specs: ExperimentSpec[] = [];
  let tag = '';
  const ids = () => specs.map((s) => s.id);

  const counts = (): SweepProgress => progressOf(book, { sweep_id: sweepId, tag, total: specs.length, phase, now: Date.now() });
  setHandler(progressQuery, counts);
  let summaryDirty = false;
  setHandler(experimentFinishedSignal, ({ experiment_id, status, execution_time_seconds }) => {
    markFinished(book, experiment_id, { status, seconds: execution_time_seconds });
    summaryDirty = true;
  });

  const resolved = carried?.resolved ?? input.resolved ?? (await resolveConfig(input));
  tag = resolved.tag;
  specs = expandSweep(resolved);
  const useSearchAttributes = input.use_search_attributes ?? (await control.searchAttributesRegistered());
  if (useSearchAttributes && !carried) {
    upsertSearchAttributes({ [SearchAttributes.tag]: [resolved.tag], [SearchAttributes.sweepId]: [sweepId], [SearchAttributes.status]: ['running'] });
  }
  if (!book.results_dir) book.results_dir = `${resolved.log_base_dir}/${resolved.tag}_${todayOf(book.started_ms)}`;
  const resultsDir = book.results_dir;

  if (!carried) {
    const { completed_ids } = await control.prepareSweepResults({ results_dir: resultsDir, sweep_id: sweepId, resolved, experiment_ids: ids() });
    skipAlreadyDone(book, completed_ids);
  }
  phase = 'running';
  const maxParallel = input.max_parallel ?? DEFAULT_MAX_PARALLEL;

  // First-attempt lease requests of the children started in this batch, sent to the pool in one
  // signal once they exist (a grant to a child not yet started would be lost).
  const leaseRequests: Array<Omit<LeaseRequest, 'enqueued_ms'>> = [];
  const requestLeases = async () => {
    const requests = leaseRequests.splice(0);
    if (requests.length > 0) await signalGpuPool(requestLeasesSignal, requests, control.ensureGpuPool);
  };
  const startExperiment = async (spec: ExperimentSpec) => {
    markRunning(book, spec.id);
    try {
      const child = await startChild(ExperimentWorkflow, {
        workflowId: experimentWorkflowId(sweepId, spec.id),
        taskQueue: CONTROL_TASK_QUEUE,
        args: [{ spec, sweep_id: sweepId, results_dir: resultsDir, parent_workflow_id: sweepId, use_search_attributes: useSearchAttributes, first_lease_requested: true }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        staticSummary: `${spec.model} · ${spec.dataset.name} · ${spec.cache_size_gb} GB · rate ${spec.request_rate} · ${spec.eviction_strategy}`,
        ...(useSearchAttributes ? { searchAttributes: searchAttributesOf(spec, sweepId, resolved.tag) } : {}),
      });
      unwatched.delete(spec.id);
      const holder = experimentWorkflowId(sweepId, spec.id);
      // An offline experiment takes no GPU (and its workflow asks for none).
      if (spec.server !== null) leaseRequests.push({ request_id: leaseRequestId(holder, 1), holder, gpu_count: spec.gpu_count, gpu_class: spec.gpu_class, expected_duration_s: spec.time_limit });
      // A child that ends without reporting (terminated by hand, or failed in its own code)
      // must not leave the sweep waiting for it forever.
      child.result().then(
        (outcome) => {
          if (!stopRunning(book, spec.id)) return;
          markFinished(book, spec.id, { status: outcome.status, seconds: outcome.execution_time_seconds });
          summaryDirty = true;
        },
        (error: unknown) => {
          if (!stopRunning(book, spec.id)) return;
          markFinished(book, spec.id, { status: 'failed', seconds: 0 });
          void recordUnreported(spec, 'failed', `the experiment workflow ended without reporting: ${(error as Error).message}`);
        },
      );
    } catch (error) {
      // Already running: an earlier run of this sweep started it; it will report here by signal.
      if ((error as Error).name !== 'WorkflowExecutionAlreadyStartedError') throw error;
      unwatched.add(spec.id);
    }
  };

  // An experiment that ended without reporting gets an outcome on disk saying so (unless it
  // recorded one), so the summary counts it and a resume runs it again.
  const recordUnreported = async (spec: ExperimentSpec, status: ExperimentStatus, error: string) => {
    const now = new Date(Date.now()).toISOString();
    const outcome: ExperimentOutcome = {
      experiment_id: spec.id, sweep_id: sweepId, timestamp: now, status, execution_success: false,
      execution_time_seconds: 0, queued_seconds: 0, configuration: configurationOf(spec),
      benchmark_results: {}, cache_statistics: {}, attempts: [], error, results_path: `${resultsDir}/${spec.id}`,
    };
    const recorded = await control.recordUnreportedOutcome({ results_dir: resultsDir, outcome });
    markFinished(book, spec.id, { status: recorded, seconds: 0 });
    summaryDirty = true;
  };

  const cancelRunning = async () => {
    phase = 'cancelling';
    await CancellationScope.nonCancellable(async () => {
      await Promise.all(book.running.map((id) => getExternalWorkflowHandle(experimentWorkflowId(sweepId, id)).cancel().catch(() => undefined)));
      // Each child tears its server down, records its outcome and reports; wait a bounded time.
      await condition(() => book.running.length === 0, '2 minutes');
      await control.writeSweepSummary({ results_dir: resultsDir, sweep_id: sweepId, experiment_ids: ids() });
    });
  };

  let lastSummaryMs = Date.now();
  let lastReconcileMs = Date.now();
  const reconcileMs = (input.reconcile_interval_s ?? DEFAULT_RECONCILE_INTERVAL_S) * 1000;
  const historyBudget = input.continue_as_new_after_events ?? HISTORY_EVENTS_BEFORE_CONTINUE;
  const unwatchedRunning = () => [...unwatched].filter((id) => isRunning(book, id));
  try {
    for (;;) {
      const startable = startableIds(book, ids());
      if (startable.length > 0 && book.running.length < maxParallel) {
        // Start a window's worth at once: each start is a round trip to the server.
        const window = startable.slice(0, maxParallel - book.running.length);
        await Promise.all(window.map((id) => startExperiment(specs.find((s) => s.id === id)!)));
        await requestLeases();
        continue;
      }
      if (startable.length === 0 && book.running.length === 0) break;
      setCurrentDetails(describeProgress(counts()));
      const canStartMore = () => book.running.length < maxParallel && remainingCount(book, specs.length) - book.running.length > 0;
      const wake = () => book.running.length === 0 || canStartMore();
      // Wait for a free slot in the window; with unsaved outcomes, also for the summary interval;
      // with unwatched children, also for their next check.
      if (summaryDirty) await condition(wake, SUMMARY_INTERVAL);
      else if (unwatchedRunning().length > 0) await condition(() => wake() || summaryDirty, reconcileMs);
      else await condition(() => wake() || summaryDirty);
      if (unwatchedRunning().length > 0 && Date.now() - lastReconcileMs >= reconcileMs) {
        lastReconcileMs = Date.now();
        for (const { experiment_id, status, workflow_status } of await control.closedExperiments({ sweep_id: sweepId, results_dir: resultsDir, experiment_ids: unwatchedRunning() })) {
          if (!stopRunning(book, experiment_id)) continue;
          markFinished(book, experiment_id, { status, seconds: 0 });
          const spec = specs.find((s) => s.id === experiment_id)!;
          await recordUnreported(spec, status, `the experiment workflow ended without reporting (${workflow_status})`);
        }
      }
      if (summaryDirty && Date.now() - lastSummaryMs >= SUMMARY_INTERVAL_MS) {
        summaryDirty = false;
        lastSummaryMs = Date.now();
        await control.writeSweepSummary({ results_dir: resultsDir, sweep_id: sweepId, experiment_ids: ids() });
      }
      if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > historyBudget) {
        await condition(allHandlersFinished);
        await continueAsNew<typeof SweepWorkflow>({ ...input, resolved: undefined, use_search_attributes: useSearchAttributes, carried: { ...book, resolved } });
      }
    }
  } catch (error) {
    if (isCancellation(error)) {
      if (useSearchAttributes) upsertSearchAttributes({ [SearchAttributes.status]: ['cancelled'] });
      await cancelRunning();
    }
    throw error;
  }

  phase = 'summarising';
  if (useSearchAttributes) upsertSearchAttributes({ [SearchAttributes.status]: ['completed'] });
  const summary = await control.writeSweepSummary({ results_dir: resultsDir, sweep_id: sweepId, experiment_ids: ids() });
  // A report that cannot be drawn must not fail a sweep whose results are all on disk.
  const report = await reportActivity.writeSweepReport({ results_dir: resultsDir }).catch(() => null);
  phase = 'done';
  setCurrentDetails(describeProgress(counts()));
  return { sweep_id: sweepId, results_dir: resultsDir, summary_path: summary.summary_path, report_path: report?.report_path ?? null, counts: summary.counts };
}

function searchAttributesOf(spec: ExperimentSpec, sweepId: string, tag: string) {
  return {
    [SearchAttributes.tag]: [tag],
    [SearchAttributes.sweepId]: [sweepId],
    [SearchAttributes.model]: [spec.model],
    [SearchAttributes.dataset]: [spec.dataset.name],
    [SearchAttributes.cacheSizeGb]: [spec.cache_size_gb],
    [SearchAttributes.requestRate]: [spec.request_rate],
    [SearchAttributes.evictionStrategy]: [spec.eviction_strategy],
    [SearchAttributes.status]: ['pending'],
  };
}
