// Sweep-level activities on the control queue: resolving a config, and the results folder, which
// is the durable record of a sweep (an experiment whose outcome.json says it succeeded is never
// run again, even after Temporal has forgotten the sweep). Files are written atomically.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../domain/config/problems.ts';
import { loadSweep, resolveSweepObject } from '../config-files/load-sweep.ts';
import type { ResolvedSweep } from '../domain/config/resolved.ts';
import { GPU_POOL_WORKFLOW_ID, CONTROL_TASK_QUEUE, WorkflowTypes, Signals, experimentWorkflowId } from '../domain/names.ts';
import { searchAttributesRegistered } from '../platform/temporal.ts';
import { countOutcomes } from '../domain/outcome.ts';
import { ExperimentOutcome, SweepFile, type ExperimentStatus, type SweepCounts, type SweepCountsFile } from '../domain/records.ts';
import { readRecord, writeJsonAtomic } from '../platform/files.ts';
import { writeSummaryFiles } from './summary-files.ts';

export interface ControlDeps {
  /** Base for relative paths in a config given as an object (Temporal CLI input). */
  cwd: string;
}

function outcomePath(resultsDir: string, experimentId: string): string {
  return join(resultsDir, experimentId, 'outcome.json');
}

/** Problems with files read back go to the worker's log (an activity's logger when there is one). */
function warn(message: string): void {
  try {
    Context.current().log.warn(message);
  } catch {
    console.warn(message);
  }
}

/**
 * The experiment's outcome.json, parsed. A file that is cut short, hand-edited into another shape
 * or about another experiment is reported (with its path) and counts as no outcome: the
 * experiment is not done and runs again. Only a whole record saying `succeeded` is a success.
 */
export async function readOutcome(resultsDir: string, experimentId: string): Promise<ExperimentOutcome | undefined> {
  const path = outcomePath(resultsDir, experimentId);
  const read = await readRecord(path, ExperimentOutcome);
  if (read.state === 'missing') return undefined;
  const problem = read.state === 'invalid' ? read.problem : read.value.experiment_id !== experimentId ? `${path} is the outcome of '${read.value.experiment_id}', not of '${experimentId}'` : null;
  if (problem === null && read.state === 'valid') return read.value;
  warn(`${problem}: experiment ${experimentId} counts as not done and will run again`);
  return undefined;
}

/** The sweep's tag from its sweep.json (summary.json's experiment_tag); null when unreadable. */
async function sweepTag(resultsDir: string): Promise<string | null> {
  const read = await readRecord(join(resultsDir, 'sweep.json'), SweepFile);
  if (read.state === 'invalid') warn(`${read.problem}: summary.json's experiment_tag is left empty`);
  return read.state === 'valid' ? read.value.resolved.tag : null;
}

/** An unreadable outcome.json is kept beside the new one, not overwritten: nothing is lost. */
async function setAsideUnreadable(path: string): Promise<void> {
  await rename(path, `${path}.unreadable`).catch(() => undefined);
}

/**
 * The status name of a workflow id's latest run (RUNNING, COMPLETED, TERMINATED, ...), NOT_FOUND
 * when the server knows no such workflow, undefined when it did not answer.
 */
async function workflowStatusOf(workflowId: string): Promise<string | undefined> {
  return Context.current()
    .client.workflow.getHandle(workflowId)
    .describe()
    .then(
      (description) => description.status.name,
      (error: Error) => (error.name === 'WorkflowNotFoundError' ? 'NOT_FOUND' : undefined),
    );
}

export function createControlActivities(deps: ControlDeps) {
  return {
    /** Reads and validates a sweep given by path or as an object; bad input fails for good. */
    async resolveSweepConfig(input: { yaml_path?: string; config?: unknown; env?: string }): Promise<ResolvedSweep> {
      try {
        if (input.yaml_path) return await loadSweep(input.yaml_path, { env: input.env, cwd: deps.cwd });
        if (input.config !== undefined) return await resolveSweepObject(input.config, { env: input.env, cwd: deps.cwd, sourceName: '<workflow input config>' });
      } catch (error) {
        if (error instanceof ConfigError) throw ApplicationFailure.create({ type: 'ConfigError', message: error.message, nonRetryable: true });
        throw error;
      }
      throw ApplicationFailure.create({ type: 'ConfigError', message: 'the sweep input needs "yaml_path" (a YAML file on the workers) or "config" (the sweep as JSON)', nonRetryable: true });
    },

    /** Records the sweep in its folder and returns the experiments that already succeeded there. */
    async prepareSweepResults(input: { results_dir: string; sweep_id: string; resolved: ResolvedSweep; experiment_ids: string[] }): Promise<{ completed_ids: string[] }> {
      await writeJsonAtomic(join(input.results_dir, 'sweep.json'), {
        sweep_id: input.sweep_id,
        experiment_ids: input.experiment_ids,
        resolved: input.resolved,
      } satisfies SweepFile);
      const completed: string[] = [];
      for (const id of input.experiment_ids) {
        if ((await readOutcome(input.results_dir, id))?.status === 'succeeded') completed.push(id);
      }
      return { completed_ids: completed };
    },

    async readExperimentOutcome(input: { results_dir: string; experiment_id: string }): Promise<ExperimentOutcome | null> {
      return (await readOutcome(input.results_dir, input.experiment_id)) ?? null;
    },

    /**
     * Writes an experiment's outcome.json. A succeeded outcome is never overwritten by a later
     * one: the first success is the result of record.
     */
    async recordExperimentOutcome(input: { results_dir: string; outcome: ExperimentOutcome }): Promise<void> {
      const path = outcomePath(input.results_dir, input.outcome.experiment_id);
      const existing = await readOutcome(input.results_dir, input.outcome.experiment_id);
      if (existing?.status === 'succeeded') return;
      if (existing === undefined) await setAsideUnreadable(path);
      await writeJsonAtomic(path, input.outcome);
    },

    /**
     * For an experiment whose workflow ended without recording anything (terminated by hand):
     * writes the given outcome unless one exists, so the record says it did not succeed and a
     * resume runs it again. Returns the status on disk.
     */
    async recordUnreportedOutcome(input: { results_dir: string; outcome: ExperimentOutcome }): Promise<ExperimentStatus> {
      const existing = await readOutcome(input.results_dir, input.outcome.experiment_id);
      if (existing) return existing.status;
      const path = outcomePath(input.results_dir, input.outcome.experiment_id);
      await setAsideUnreadable(path);
      await writeJsonAtomic(path, input.outcome);
      return input.outcome.status;
    },

    /** Writes summary.json (the old runner's shape) and summary.csv from every outcome so far. */
    async writeSweepSummary(input: { results_dir: string; sweep_id: string; experiment_ids: string[] }): Promise<{ summary_path: string; counts: SweepCounts }> {
      const outcomes: ExperimentOutcome[] = [];
      for (const id of input.experiment_ids) {
        const outcome = await readOutcome(input.results_dir, id);
        if (outcome) outcomes.push(outcome);
      }
      const counts = countOutcomes(outcomes, input.experiment_ids.length);
      const summary_path = await writeSummaryFiles(input.results_dir, outcomes, { experiment_tag: await sweepTag(input.results_dir) });
      await writeJsonAtomic(join(input.results_dir, 'counts.json'), { sweep_id: input.sweep_id, ...counts } satisfies SweepCountsFile);
      return { summary_path, counts };
    },

    /**
     * Of these experiments, those whose workflow is closed (a sweep's continued run cannot watch
     * children an earlier run started), with the status their outcome.json records, or `failed`
     * (`cancelled`) for one terminated (cancelled) before it could record anything.
     */
    async closedExperiments(input: { sweep_id: string; results_dir: string; experiment_ids: string[] }): Promise<Array<{ experiment_id: string; status: ExperimentStatus; workflow_status: string }>> {
      const closed: Array<{ experiment_id: string; status: ExperimentStatus; workflow_status: string }> = [];
      for (const id of input.experiment_ids) {
        const workflowStatus = await workflowStatusOf(experimentWorkflowId(input.sweep_id, id));
        if (workflowStatus === undefined || workflowStatus === 'NOT_FOUND' || workflowStatus === 'RUNNING') continue;
        const recorded = (await readOutcome(input.results_dir, id))?.status;
        closed.push({ experiment_id: id, status: recorded ?? (workflowStatus === 'CANCELLED' ? 'cancelled' : 'failed'), workflow_status: workflowStatus });
      }
      return closed;
    },

    /** Of these workflow ids, those with no running execution (closed, or unknown). */
    async closedWorkflows(input: { workflow_ids: string[] }): Promise<string[]> {
      const closed: string[] = [];
      for (const id of input.workflow_ids) {
        const workflowStatus = await workflowStatusOf(id);
        if (workflowStatus === undefined) continue; // the server did not answer: ask again next time
        if (workflowStatus !== 'RUNNING') closed.push(id);
      }
      return closed;
    },

    /** Writes report.html and its PNGs from summary.json: the last step of every sweep. */
    async writeSweepReport(input: { results_dir: string }): Promise<{ report_path: string; images: number }> {
      // Loaded on first use: the plotting libraries would slow every worker's start.
      const { writeReport } = await import('../report/index.ts');
      const { report_path, images } = await writeReport(input.results_dir);
      return { report_path, images: images.length };
    },

    /** Whether kvsweep's search attributes are registered on this namespace (a sweep started
     * from the Temporal CLI cannot know otherwise; upserting unknown ones would fail it). */
    async searchAttributesRegistered(): Promise<boolean> {
      return searchAttributesRegistered(Context.current().client);
    },

    /** Starts the GPU pool if it is not running (it is normally started by the first worker). */
    async ensureGpuPool(): Promise<void> {
      const client = Context.current().client;
      await client.workflow.signalWithStart(WorkflowTypes.gpuPool, {
        workflowId: GPU_POOL_WORKFLOW_ID,
        taskQueue: CONTROL_TASK_QUEUE,
        args: [{}],
        signal: Signals.releaseLease,
        signalArgs: [{ request_id: '' }],
      });
    },
  };
}

export type ControlActivities = ReturnType<typeof createControlActivities>;
