// `kvsweep run --yaml FILE [--gpus N] [--sweep-id ID] [--detach] [--env E]` (also the old runner's
// shape `kvsweep --yaml FILE --gpus N`): validates the sweep before anything starts, then starts
// it on Temporal and follows it. With --gpus it also runs this host's worker (and the embedded
// dev server when none answers), like the old runner did on one machine. An offline environment's
// sweep runs its experiments on this machine's cores (a local worker, no GPU lease).
import { Command } from 'commander';
import { displayPath, planSweep } from '../../config-files/load-sweep.ts';
import type { ResolvedSweep } from '../../domain/config/resolved.ts';
import { UserError } from '../../domain/errors.ts';
import { defaultSweepId } from '../../domain/names.ts';
import { gpusFlag, parseCommand } from '../command-line.ts';
import { noticeLines } from '../plan-notes.ts';
import { runSweepSession } from '../run-session.ts';
import { freshSweep, resultsDirFor, today } from '../sweep-session.ts';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command('run')
    .description('run a sweep from a YAML file; a sweep id that exists is resumed (finished experiments are not rerun)')
    .requiredOption('--yaml <file>', 'the sweep file')
    .option('--gpus <N|auto>', 'also run a worker for this host with N GPUs (simulated when nvidia-smi is absent), and the embedded Temporal server if none answers', gpusFlag)
    .option('--sweep-id <id>', 'workflow id of the sweep (default sweep/<tag>/<date>)')
    .option('--env <name>', 'environment (beats environment: in the file and KVSWEEP_ENV)')
    .option('--models <file>', 'extra model registry file (repeatable)', collect, [])
    .option('--environments <file>', 'extra environments file (repeatable)', collect, [])
    .option('--fresh', 'start a new sweep even if this one ran today: id sweep/<tag>/<date>-N, folder <tag>_<date>-N')
    .option('--detach', 'start the sweep and return; follow it with `kvsweep status ID`')
    .option('--json', 'print the result as JSON');
  const opts = parseCommand(program, argv).opts<{ yaml: string; gpus?: string; sweepId?: string; env?: string; models: string[]; environments: string[]; fresh?: boolean; detach?: boolean; json?: boolean }>();
  if (opts.detach && opts.gpus !== undefined) {
    throw new UserError('run: --detach and --gpus do not go together: the local worker ends with this command; start `kvsweep worker --gpus N` separately and run with --detach');
  }
  // Bad input stops here, before any server, worker or workflow starts.
  const { resolved, experiments, notices } = await planSweep(opts.yaml, { env: opts.env, modelsFiles: opts.models, environmentsFiles: opts.environments });
  // On stderr: with --json, stdout carries the result alone (the notices are in sweep.json too).
  for (const line of noticeLines(notices)) console.error(line);
  return startPlannedSweep('run', opts, { resolved, experiments: experiments.length });
}

export interface SweepSessionFlags {
  yaml: string;
  gpus?: string;
  sweepId?: string;
  fresh?: boolean;
  detach?: boolean;
  json?: boolean;
}

/**
 * Starts a planned sweep and follows it. An offline environment's experiments need no GPU: unless
 * detached (then workers elsewhere run them), this machine runs a worker for them on its cores,
 * and the embedded Temporal server when none answers, as --gpus does.
 */
export function startPlannedSweep(command: string, opts: SweepSessionFlags, planned: { resolved: ResolvedSweep; experiments: number }): Promise<number> {
  const { resolved } = planned;
  if (opts.fresh && opts.sweepId) throw new UserError(`${command}: --fresh picks a new sweep id itself; leave out --sweep-id`);
  const { sweepId, resultsDir } = opts.fresh ? freshSweep(resolved) : { sweepId: opts.sweepId ?? defaultSweepId(resolved.tag, today()), resultsDir: resultsDirFor(resolved, today()) };
  return runSweepSession({
    sweepId,
    resolved,
    experiments: planned.experiments,
    resultsDir,
    yamlPath: displayPath(opts.yaml, process.cwd()),
    gpus: opts.gpus ?? null,
    offline: resolved.environment.definition.kind === 'offline' && !opts.detach,
    detach: opts.detach ?? false,
    json: opts.json ?? false,
  });
}
