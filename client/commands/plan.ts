// `kvsweep plan --yaml FILE [--env E] [--json] [--models FILE] [--environments FILE] [--gpus N | --pool]`:
// validates a sweep and lists its experiments; with --gpus or --pool, also what it will cost
// (plan-estimate.ts). Reads files only (no server, no worker), except --pool, which asks the pool.
import Table from 'cli-table3';
import { Command } from 'commander';
import type { ExperimentSpec } from '../../domain/experiment.ts';
import type { ResolvedSweep } from '../../domain/config/index.ts';
import { displayPath, planSweep } from '../../config-files/load-sweep.ts';
import { UserError } from '../../domain/errors.ts';
import { parseCommand } from '../command-line.ts';
import { datasetLines, noticeLines } from '../plan-notes.ts';
import { estimatePlan, estimateText, poolHosts } from './plan-estimate.ts';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function summaryTable(experiments: readonly ExperimentSpec[]): string {
  const table = new Table({
    head: ['id', 'model', 'dataset', 'cache GB', 'rate', 'strategy', 'prompts', 'time limit s', 'GPUs'],
    style: { head: [], border: [], compact: true },
  });
  for (const e of experiments) {
    const strategy = e.lightgbm_mode ? `${e.eviction_strategy} (${e.lightgbm_mode})` : e.eviction_strategy;
    table.push([
      e.id,
      e.model,
      e.dataset.name,
      String(e.cache_size_gb),
      String(e.request_rate),
      strategy + (e.mock_decoding ? ', mock decoding' : ''),
      String(e.num_prompts),
      String(e.time_limit),
      String(e.gpu_count),
    ]);
  }
  return table.toString();
}

function footer(resolved: ResolvedSweep, count: number): string {
  const cwd = process.cwd();
  const { name, chosen_by, definition } = resolved.environment;
  const where = definition.kind === 'offline' ? ' (offline: no server, run by the offline simulator)' : '';
  return [
    `${count} experiment${count === 1 ? '' : 's'} in environment '${name}' (chosen by ${chosen_by})${where}.`,
    `Results will go to ${displayPath(resolved.log_base_dir, cwd)}/${resolved.tag}_<date the sweep starts>/.`,
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command('plan')
    .description('validate a sweep YAML and list its experiments, without side effects')
    .requiredOption('--yaml <file>', 'the sweep file')
    .option('--env <name>', 'environment to use (beats environment: in the file and KVSWEEP_ENV)')
    .option('--json', 'print {experiments, notices, datasets, environment} as JSON')
    .option('--models <file>', 'extra model registry file (repeatable)', collect, [])
    .option('--environments <file>', 'extra environments file (repeatable)', collect, [])
    .option('--gpus <N>', 'also estimate wall time and GPU-hours on one host of N GPUs')
    .option('--pool', 'also estimate wall time and GPU-hours on the online hosts of the GPU pool at TEMPORAL_ADDRESS');
  parseCommand(program, argv);
  const options = program.opts<{ yaml: string; env?: string; json?: boolean; models: string[]; environments: string[]; gpus?: string; pool?: boolean }>();
  const gpus = options.gpus === undefined ? undefined : Number(options.gpus);
  if (gpus !== undefined && !(Number.isInteger(gpus) && gpus > 0)) throw new UserError(`plan: --gpus must be a whole number of GPUs above 0, got '${options.gpus}'`, 2);
  if (gpus !== undefined && options.pool) throw new UserError('plan: --gpus and --pool do not go together: estimate on N GPUs or on the pool\'s hosts', 2);
  const { resolved, experiments, notices, datasets } = await planSweep(options.yaml, {
    env: options.env,
    modelsFiles: options.models,
    environmentsFiles: options.environments,
  });
  if ((gpus !== undefined || options.pool) && resolved.environment.definition.kind === 'offline') {
    throw new UserError(`plan: --gpus and --pool estimate GPU time; environment '${resolved.environment.name}' is offline and uses no GPUs`, 2);
  }
  const capacity = options.pool ? await poolHosts().catch((error: Error) => { throw new UserError(error.message, 1); }) : gpus;
  const estimate = capacity === undefined ? undefined : await estimatePlan(resolved, experiments, capacity);
  if (options.json) {
    const environment = { name: resolved.environment.name, chosen_by: resolved.environment.chosen_by, kind: resolved.environment.definition.kind };
    process.stdout.write(`${JSON.stringify({ experiments, notices, datasets, environment, ...(estimate ? { estimate } : {}) }, null, 2)}\n`);
    return 0;
  }
  const lines = [...datasetLines(datasets, process.cwd()), ...noticeLines(notices)];
  process.stdout.write(`${summaryTable(experiments)}\n${lines.map((line) => `${line}\n`).join('')}${footer(resolved, experiments.length)}\n${estimate ? `${estimateText(estimate)}\n` : ''}`);
  return 0;
}
