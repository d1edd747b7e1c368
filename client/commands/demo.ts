// Bare `kvsweep`: the demo. A real sweep of configs/demo.yaml (the simulator, 3 cache sizes x 2
// eviction strategies over a synthetic chat trace) on this machine: the embedded Temporal dev
// server when none answers, a local worker with simulated GPUs, then the summary and the report.
import { Command } from 'commander';
import { join } from 'node:path';
import { planSweep } from '../../config-files/load-sweep.ts';
import { gpusFlag, parseCommand } from '../command-line.ts';
import { projectRoot } from '../../platform/paths.ts';
import { runSweepSession } from '../run-session.ts';
import { freshSweep } from '../sweep-session.ts';

export const DEMO_YAML = join(projectRoot, 'configs', 'demo.yaml');

export async function main(argv: string[]): Promise<number> {
  const program = new Command('demo')
    .description('run the demo sweep (configs/demo.yaml) on the simulator, on this machine')
    .option('--gpus <N>', 'simulated GPUs of the local worker', gpusFlag, '2')
    .option('--json', 'print the result as JSON');
  const opts = parseCommand(program, argv).opts<{ gpus: string; json?: boolean }>();
  const { resolved, experiments } = await planSweep(DEMO_YAML);
  // Each demo is a new sweep: a reused id would skip what an earlier demo finished.
  const { sweepId, resultsDir } = freshSweep(resolved);
  return runSweepSession({ sweepId, resolved, experiments: experiments.length, resultsDir, yamlPath: DEMO_YAML, gpus: opts.gpus, detach: false, json: opts.json ?? false });
}
