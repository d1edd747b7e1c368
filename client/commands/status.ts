// `kvsweep status ID [--json]`: where a sweep stands. A running sweep answers its progress query;
// a closed one gives its result; the counts come from its results folder when Temporal no longer
// knows it.
import Table from 'cli-table3';
import { Command } from 'commander';
import { WorkflowNotFoundError } from '@temporalio/client';
import { join } from 'node:path';
import { readRecord } from '../../platform/files.ts';
import { SweepCountsFile } from '../../domain/records.ts';
import { UserError } from '../../domain/errors.ts';
import { Queries } from '../../domain/names.ts';
import type { SweepProgress, SweepResult } from '../../workflows/sweep.ts';
import { parseCommand } from '../command-line.ts';
import { loadSweepRecord } from '../sweep-session.ts';
import { connectClient } from '../../platform/temporal.ts';

export interface SweepStatus {
  sweep_id: string;
  state: string;
  progress: SweepProgress | null;
  result: SweepResult | null;
  failure: string | null;
  counts_on_disk: SweepCountsFile | null;
}

export async function sweepStatus(sweepId: string): Promise<SweepStatus> {
  const client = await connectClient();
  const handle = client.workflow.getHandle(sweepId);
  const record = loadSweepRecord(sweepId);
  const countsRead = record ? await readRecord(join(record.results_dir, 'counts.json'), SweepCountsFile) : null;
  if (countsRead?.state === 'invalid') console.error(`status: ${countsRead.problem}; counts from it are not shown`);
  const countsOnDisk = countsRead?.state === 'valid' ? countsRead.value : null;
  let description;
  try {
    description = await handle.describe();
  } catch (error) {
    if (!(error instanceof WorkflowNotFoundError)) throw error;
    if (!countsOnDisk) throw new UserError(`status: no sweep '${sweepId}' on the Temporal server, and no results of it on this machine`);
    return { sweep_id: sweepId, state: 'UNKNOWN (not on the server)', progress: null, result: null, failure: null, counts_on_disk: countsOnDisk };
  }
  const state = description.status.name;
  let progress: SweepProgress | null = null;
  let result: SweepResult | null = null;
  let failure: string | null = null;
  if (state === 'RUNNING') progress = await handle.query<SweepProgress>(Queries.progress);
  else if (state === 'COMPLETED') result = (await handle.result()) as SweepResult;
  else failure = await handle.result().then(() => null, (error: Error) => (error.cause instanceof Error ? error.cause.message : error.message));
  return { sweep_id: sweepId, state, progress, result, failure, counts_on_disk: countsOnDisk };
}

function table(status: SweepStatus): string {
  const t = new Table({ style: { head: [], border: [], compact: true } });
  t.push({ sweep: status.sweep_id }, { state: status.state });
  const p = status.progress;
  if (p) {
    t.push({ experiments: String(p.total) }, { succeeded: String(p.succeeded) }, { failed: String(p.failed) }, { cancelled: String(p.cancelled) });
    t.push({ running: String(p.running) }, { waiting: String(p.waiting) }, { 'already done': String(p.skipped_already_done) });
    t.push({ ETA: p.eta_seconds === null ? '--' : `${p.eta_seconds} s` }, { results: p.results_dir });
  }
  const r = status.result;
  if (r) {
    const c = r.counts;
    t.push({ experiments: String(c.total) }, { succeeded: String(c.succeeded) }, { failed: String(c.failed) }, { cancelled: String(c.cancelled) });
    t.push({ 'average execution time': c.average_execution_time_seconds === null ? '--' : `${c.average_execution_time_seconds} s` }, { results: r.results_dir });
  }
  if (status.failure) t.push({ failure: status.failure });
  if (!p && !r && status.counts_on_disk) for (const [k, v] of Object.entries(status.counts_on_disk)) t.push({ [k]: String(v) });
  return t.toString();
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command('status').description('show where a sweep stands').argument('<sweep-id>').option('--json', 'print JSON');
  parseCommand(program, argv);
  const [sweepId] = program.args as [string];
  const status = await sweepStatus(sweepId);
  console.log(program.opts<{ json?: boolean }>().json ? JSON.stringify(status, null, 2) : table(status));
  return 0;
}
