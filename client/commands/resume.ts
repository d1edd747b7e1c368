// `kvsweep resume ID|RESULTS_DIR [--gpus N] [--detach]`: runs the failed and unfinished experiments
// of a sweep again, never one that succeeded. The sweep is found in this machine's record of the
// sweeps it started, else in Temporal (the input of its latest run), else in a results folder's
// sweep.json: so it works after Temporal's retention has removed the sweep.
import { Command } from 'commander';
import { defaultPayloadConverter } from '@temporalio/common';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readRecord } from '../../platform/files.ts';
import { ResolvedSweep } from '../../domain/config/resolved.ts';
import { SweepFile } from '../../domain/records.ts';
import { expandSweep } from '../../domain/config/expand.ts';
import { UserError } from '../../domain/errors.ts';
import type { SweepInput } from '../../workflows/sweep.ts';
import { gpusFlag, parseCommand } from '../command-line.ts';
import { runSweepSession } from '../run-session.ts';
import { loadSweepRecord } from '../sweep-session.ts';
import { connectClient, isListening, temporalAddress } from '../../platform/temporal.ts';

interface FoundSweep {
  sweepId: string;
  resolved: ResolvedSweep;
  resultsDir: string;
  source: string;
}

async function fromTemporal(sweepId: string): Promise<FoundSweep | undefined> {
  if (!(await isListening(temporalAddress()))) return undefined;
  const client = await connectClient();
  try {
    const history = await client.workflow.getHandle(sweepId).fetchHistory();
    const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    if (!payload) return undefined;
    const input = defaultPayloadConverter.fromPayload<SweepInput>(payload);
    const resultsDir = input.carried?.results_dir ?? input.results_dir;
    // Parsed again: a sweep started from the Temporal CLI may carry anything.
    const resolved = ResolvedSweep.safeParse(input.carried?.resolved ?? input.resolved);
    if (!resolved.success || !resultsDir) return undefined;
    return { sweepId, resolved: resolved.data, resultsDir, source: 'the Temporal server' };
  } catch {
    return undefined;
  } finally {
    await client.connection.close();
  }
}

/** The sweep a results folder's sweep.json records; a file that does not parse is the user's to fix. */
async function fromResultsDir(dir: string): Promise<FoundSweep> {
  const path = join(dir, 'sweep.json');
  const read = await readRecord(path, SweepFile);
  if (read.state === 'missing') throw new UserError(`resume: ${path} is gone`);
  if (read.state === 'invalid') throw new UserError(`resume: ${read.problem}; it says which sweep the folder holds, so nothing can be resumed from it until it is restored`);
  return { sweepId: read.value.sweep_id, resolved: read.value.resolved, resultsDir: resolve(dir), source: path };
}

export async function findSweep(idOrDir: string): Promise<FoundSweep> {
  if (existsSync(join(idOrDir, 'sweep.json'))) return fromResultsDir(idOrDir);
  const record = loadSweepRecord(idOrDir);
  if (record) return { sweepId: idOrDir, resolved: record.resolved, resultsDir: record.results_dir, source: 'this machine\'s sweep record' };
  const found = await fromTemporal(idOrDir);
  if (found) return found;
  throw new UserError(`resume: no sweep '${idOrDir}': not started from this machine, unknown to the Temporal server at ${temporalAddress()}, and not a results folder with a sweep.json`);
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command('resume')
    .description('rerun the failed and unfinished experiments of a sweep (never one that succeeded)')
    .argument('<sweep-id-or-results-dir>')
    .option('--gpus <N|auto>', 'also run a worker for this host (and the embedded Temporal server if none answers)', gpusFlag)
    .option('--detach', 'start and return')
    .option('--json', 'print the result as JSON');
  parseCommand(program, argv);
  const opts = program.opts<{ gpus?: string; detach?: boolean; json?: boolean }>();
  const found = await findSweep(program.args[0]!);
  console.error(`Resuming ${found.sweepId} (found in ${found.source}); results in ${found.resultsDir}.`);
  return runSweepSession({
    sweepId: found.sweepId,
    resolved: found.resolved,
    experiments: expandSweep(found.resolved).length,
    resultsDir: found.resultsDir,
    yamlPath: null,
    gpus: opts.gpus ?? null,
    // An offline sweep's experiments run on this machine's cores unless it is only restarted.
    offline: found.resolved.environment.definition.kind === 'offline' && !opts.detach,
    detach: opts.detach ?? false,
    json: opts.json ?? false,
  });
}
