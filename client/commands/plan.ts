// `kvsweep plan --yaml FILE [--env E] [--json] [--models FILE] [--environments FILE]`: validates a
// sweep and lists its experiments. Reads files only: no server, no worker, no Temporal.
import Table from 'cli-table3';
import { Command } from 'commander';
import type { ExperimentSpec } from '../../domain/experiment.ts';
import type { ResolvedSweep } from '../../domain/config/index.ts';
import { displayPath, planSweep } from '../../config-files/load-sweep.ts';
import { parseCommand } from '../command-line.ts';
import { datasetLines, noticeLines } from '../plan-notes.ts';

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
    .option('--environments <file>', 'extra environments file (repeatable)', collect, []);
  parseCommand(program, argv);
  const options = program.opts<{ yaml: string; env?: string; json?: boolean; models: string[]; environments: string[] }>();
  const { resolved, experiments, notices, datasets } = await planSweep(options.yaml, {
    env: options.env,
    modelsFiles: options.models,
    environmentsFiles: options.environments,
  });
  if (options.json) {
    const environment = { name: resolved.environment.name, chosen_by: resolved.environment.chosen_by, kind: resolved.environment.definition.kind };
    process.stdout.write(`${JSON.stringify({ experiments, notices, datasets, environment }, null, 2)}\n`);
    return 0;
  }
  const lines = [...datasetLines(datasets, process.cwd()), ...noticeLines(notices)];
  process.stdout.write(`${summaryTable(experiments)}\n${lines.map((line) => `${line}\n`).join('')}${footer(resolved, experiments.length)}\n`);
  return 0;
}
