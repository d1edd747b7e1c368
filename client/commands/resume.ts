// `kvsweep resume ID|RESULTS_DIR [--gpus N] [--detach]`: runs the failed and unfinished experiments
// of a sweep again, never one that succeeded. The sweep is found in this machine's record of the
// sweeps it started, else in Temporal (the input of its latest run), else in a results folder's
// sweep.json: so it works after Temporal's retention has removed the sweep.
import { Command } from 'commander';
import { defaultPayloadConverter } from '@temporalio/common';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readJsonIfExists } from '../../platform/files.ts';
import type { ResolvedSweep } from '../../domain/config/resolved.ts';
import { expandSweep } from '../../domain/config/expand.ts';
import { UserError } from '../../domain/errors.ts';
import type { SweepInput } from '../../workflows/sweep.ts';
import { parseCommand } from '../command-line.ts';
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
    const resolved = input.carried?.resolved ?? input.resolved;
    const resultsDir = input.carried?.results_dir ?? input.results_dir;
    if (!resolved || !resultsDir) return undefined;
    return { sweepId, resolved, resultsDir, source: 'the Temporal server' };
  } catch {
    return undefined;
  } finally {
    await client.connection.close();
  }
}

async function fromResultsDir(dir: string): Promise<FoundSweep | undefined> {
  const sweep = await readJsonIfExists<{ sweep_id: string; resolved: ResolvedSweep }>(join(dir, 'sweep.json'));
  return sweep && { sweepId: sweep.sweep_id, resolved: sweep.resolved, resultsDir: resolve(dir), source: join(dir, 'sweep.json') };
}

export async function findSweep(idOrDir: string): Promise<FoundSweep> {
  if (existsSync(join(idOrDir, 'sweep.json'))) return (await fromResultsDir(idOrDir))!;
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
    .option('--gpus <N|auto>', 'also run a worker for this host (and the embedded Temporal server if none answers)')
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
    detach: opts.detach ?? false,
    json: opts.json ?? false,
  });
}
