// `kvsweep search --yaml FILE [--target 0.95]`: for each dataset x rate x policy of a sweep file,
// the smallest cache size reaching target x the unbounded cache's hit rate, by bisection on a log
// scale over offline replays (offline/search.ts). Prints each probe and a table, writes
// search.json and the curves with the knees marked, and with --confirm ENV runs each knee and its
// two neighbours as a normal live sweep in that environment.
import Table from 'cli-table3';
import { writeFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { planSweep } from '../../config-files/load-sweep.ts';
import { kneeChartSpec } from '../../offline/knee-chart.ts';
import { searchSweep, type GroupKnee } from '../../offline/search.ts';
import { writeJsonAtomic } from '../../platform/files.ts';
import { renderSvg, svgToPng } from '../../report/render.ts';
import { parseCommand } from '../command-line.ts';
import { confirmSweep } from './search-confirm.ts';

function number(check: (n: number) => boolean, expected: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || !check(n)) throw new InvalidArgumentError(`expected ${expected}, got '${value}'`);
    return n;
  };
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];
const pct = (v: number): string => `${(100 * v).toFixed(2)}`;

function table(knees: readonly GroupKnee[]): string {
  const t = new Table({
    head: ['dataset, rate, policy', 'knee GB', 'hit % at knee', 'unbounded hit %', 'goal %', 'below GB', 'evaluations', 'CPU s'],
    style: { head: [], border: [], compact: true },
  });
  for (const k of knees) {
    t.push([k.label, k.below_gb === null ? `<= ${k.knee_gb}` : String(k.knee_gb), pct(k.knee_hit_rate), pct(k.ceiling_hit_rate), pct(k.goal_hit_rate), k.below_gb === null ? '-' : String(k.below_gb), String(k.evaluations), k.cpu_seconds.toFixed(2)]);
  }
  return t.toString();
}

interface Options {
  yaml: string;
  target: number;
  tolerance: number;
  minSize?: number;
  env: string;
  models: string[];
  environments: string[];
  out: string;
  confirm?: string;
  confirmFactor: number;
  gpus?: string;
  json?: boolean;
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command('search')
    .description("find each dataset x rate x policy's knee: the smallest cache size reaching --target x the unbounded cache's hit rate (bisection on a log scale over offline replays)")
    .requiredOption('--yaml <file>', 'the sweep file (its datasets, rates, policies and settings; its cache sizes are only drawn)')
    .option('--target <share>', "share of the unbounded cache's hit rate to reach, in (0, 1]", number((n) => n > 0 && n <= 1, 'a share in (0, 1]'), 0.95)
    .option('--tolerance <share>', 'stop when the bracket is this narrow: the knee found is at most (1 + tolerance) x the true one', number((n) => n > 0 && n < 1, 'a share in (0, 1)'), 0.05)
    .option('--min-size <gb>', 'the lowest size tried (default: the unbounded size / 4096)', number((n) => n > 0, 'a size in GB > 0'))
    .option('--env <name>', 'environment of the replays (an offline one)', 'offline')
    .option('--models <file>', 'extra model registry file (repeatable)', collect, [])
    .option('--environments <file>', 'extra environments file (repeatable)', collect, [])
    .option('--out <dir>', 'folder for search.json, knee.svg and knee.png', 'search-results')
    .option('--confirm <env>', 'then run each knee and its two neighbours as a live sweep in this environment')
    .option('--confirm-factor <f>', 'the neighbours are knee / f and knee x f', number((n) => n > 1, 'a factor > 1'), 2)
    .option('--gpus <N|auto>', 'with --confirm: run a worker for this host (as `kvsweep run --gpus`)')
    .option('--json', 'print the knees as JSON');
  parseCommand(program, argv);
  const o = program.opts<Options>();
  const plan = await planSweep(o.yaml, { env: o.env, modelsFiles: o.models, environmentsFiles: o.environments });
  const log = o.json ? () => {} : (line: string) => console.error(line);
  const { knees, skipped } = await searchSweep(plan.experiments, { target: o.target, tolerance: o.tolerance, lowGb: o.minSize }, (group, p) =>
    log(`${group.label}: ${p.role} ${p.cache_size_gb} GB -> hit ${pct(p.hit_rate)}%${p.role === 'ceiling' ? '' : p.reached ? ' (reaches the goal)' : ' (below the goal)'}`),
  );
  for (const line of skipped) log(`skipped: ${line}`);
  const out = resolve(o.out);
  await mkdir(out, { recursive: true });
  await writeJsonAtomic(join(out, 'search.json'), { sweep: resolve(o.yaml), target: o.target, tolerance: o.tolerance, knees, skipped });
  if (knees.length > 0) {
    const svg = await renderSvg(kneeChartSpec(knees, o.target, `Knee search: ${plan.resolved.tag}`));
    await writeFile(join(out, 'knee.svg'), svg);
    await writeFile(join(out, 'knee.png'), svgToPng(svg));
  }
  console.log(o.json ? JSON.stringify(knees, null, 2) : `${table(knees)}\nwrote ${join(out, 'search.json')}, knee.svg, knee.png`);
  if (o.confirm === undefined || knees.length === 0) return 0;
  const file = await confirmSweep(o.yaml, plan.resolved.tag, knees, o.confirmFactor, out);
  log(`confirming the knees live: ${file} in environment ${o.confirm}`);
  const run = await import('./run.ts');
  return run.main(['--yaml', file, '--env', o.confirm, ...(o.gpus ? ['--gpus', o.gpus] : [])]);
}
