// Starting a sweep workflow and following it to its end: shared by `run`, `resume` and the demo.
import type { Client, WorkflowHandle } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { ResolvedSweep } from '../domain/config/resolved.ts';
import { UserError } from '../domain/errors.ts';
import { SweepRecord } from '../domain/records.ts';
import { CONTROL_TASK_QUEUE, defaultSweepId, Queries, SearchAttributes, WorkflowTypes } from '../domain/names.ts';
import { searchAttributesRegistered } from '../platform/temporal.ts';
import type { SweepInput, SweepProgress, SweepResult } from '../workflows/sweep.ts';
import { dataDir } from '../platform/paths.ts';
import { ProgressDisplay } from './progress-display.ts';

export function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/** Where a sweep's folder is: `<log_base_dir>/<tag>_<YYYY-MM-DD>` for the day it first started. */
export function resultsDirFor(resolved: ResolvedSweep, date: string): string {
  return join(resolved.log_base_dir, `${resolved.tag}_${date}`);
}

/**
 * A new sweep of today that does not reuse an earlier one's id or folder: `sweep/<tag>/<date>`,
 * else `-2`, `-3`, ... (a sweep with a used id would resume, skipping what succeeded).
 */
export function freshSweep(resolved: ResolvedSweep): { sweepId: string; resultsDir: string } {
  const date = today();
  for (let n = 1; ; n++) {
    const suffix = n === 1 ? '' : `-${n}`;
    const sweepId = defaultSweepId(resolved.tag, `${date}${suffix}`);
    const resultsDir = resultsDirFor(resolved, `${date}${suffix}`);
    if (!existsSync(recordPath(sweepId)) && !existsSync(resultsDir)) return { sweepId, resultsDir };
  }
}

function recordPath(sweepId: string): string {
  return join(dataDir(), 'sweeps', `${encodeURIComponent(sweepId)}.json`);
}

/** Remembers how a sweep was started, so `resume` works after Temporal has forgotten it. */
export function saveSweepRecord(record: SweepRecord): void {
  mkdirSync(join(dataDir(), 'sweeps'), { recursive: true });
  writeFileSync(recordPath(record.sweep_id), JSON.stringify(record, null, 2) + '\n');
}

/** The record of a sweep this machine started; one that does not parse is an error naming it. */
export function loadSweepRecord(sweepId: string): SweepRecord | undefined {
  const path = recordPath(sweepId);
  if (!existsSync(path)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UserError(`${path} is not valid JSON (${(error as Error).message}); remove it to start the sweep afresh, or restore it`);
  }
  const parsed = SweepRecord.safeParse(raw);
  if (!parsed.success) throw new UserError(`${path} is not a sweep record: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/**
 * Starts the sweep, or attaches to it when a run with this id is going already. A closed sweep
 * with the same id gets a new run: it skips what succeeded and reruns the rest.
 */
export async function startSweep(client: Client, input: SweepInput & { resolved: ResolvedSweep; results_dir: string }, sweepId: string, experiments: number) {
  const useSearchAttributes = await searchAttributesRegistered(client).catch(() => false);
  const handle = await client.workflow.start(WorkflowTypes.sweep, {
    workflowId: sweepId,
    taskQueue: CONTROL_TASK_QUEUE,
    args: [{ ...input, use_search_attributes: useSearchAttributes } satisfies SweepInput],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    staticSummary: `kvsweep sweep '${input.resolved.tag}': ${experiments} experiments`,
    staticDetails: `Results: ${input.results_dir}\nEnvironment: ${input.resolved.environment.name}`,
    ...(useSearchAttributes
      ? { searchAttributes: { [SearchAttributes.tag]: [input.resolved.tag], [SearchAttributes.sweepId]: [sweepId], [SearchAttributes.status]: ['running'] } }
      : {}),
  });
  return handle as WorkflowHandle;
}

export function webUiLink(uiUrl: string, namespace: string, workflowId: string): string {
  return `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/**
 * Follows a sweep to its end: a live bar on a TTY, nothing but the end when piped. Undefined when
 * the signal stops the following first (the sweep goes on).
 */
export async function followSweep(handle: WorkflowHandle, options: { interactive: boolean; signal?: AbortSignal }): Promise<SweepResult | undefined> {
  const display = new ProgressDisplay(options.interactive);
  const signal = options.signal ?? new AbortController().signal;
  let stop = false;
  const poll = (async () => {
    while (!stop && !signal.aborted) {
      try {
        display.update(await handle.query<SweepProgress>(Queries.progress));
      } catch {
        // The workflow is between tasks or resolving its config; the next poll will see it.
      }
      await sleep(1_000, undefined, { signal }).catch(() => undefined);
    }
  })();
  // The signal also cancels the long poll for the result, so nothing is left retrying on a
  // connection the caller closes next.
  const finished = handle.client.withAbortSignal(signal, () => handle.result() as Promise<SweepResult>).catch((error: unknown) => {
    if (signal.aborted) return undefined;
    throw error;
  });
  let result: SweepResult | undefined;
  try {
    result = await finished;
    return result;
  } finally {
    stop = true;
    await poll;
    if (result) {
      const { counts } = result;
      display.complete(counts.total, counts.succeeded + counts.failed + counts.cancelled, counts.failed);
    }
    display.finish();
  }
}
