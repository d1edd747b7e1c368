// From a validated sweep file to normalised dataset entries: layers applied (top level < defaults <
// experiment defaults < dataset entry), aliases folded, the two strategy keys combined, defaults
// filled (the old runner's, each with a notice), models and environment checked. Pure: file access
// comes in through `resolveDatasetPath`.
import type { DatasetFormat } from '../experiment.ts';
import { formatProblemsAsReasons, gatherEntry, type EntryContext } from './entry.ts';
import type { Layer } from './layers.ts';
import type { ConfigNotice, ConfigProblem, PathSegment } from './problems.ts';
import { dedupeProblems } from './problems.ts';
import type { ModelEntry } from './registry.ts';
import type { NormalisedDataset, ResolvedEnvironment } from './resolved.ts';
import type { SweepFile } from './schema.ts';

export { SETTING_DEFAULTS } from './defaults.ts';

export interface NormaliseInput {
  /** The sweep file's name as shown in messages. */
  file: string;
  sweep: SweepFile;
  /** Every known model: built-in, user files and the sweep's own `models:`. */
  registry: Record<string, ModelEntry>;
  environment: ResolvedEnvironment;
  /** Absolute path of a dataset and what it holds, or why it cannot be used. */
  resolveDatasetPath: (raw: string) => { path: string; format: DatasetFormat } | { problem: string };
}

export interface NormaliseResult {
  datasets: NormalisedDataset[];
  models: Record<string, ModelEntry>;
  problems: ConfigProblem[];
  notices: ConfigNotice[];
}

export function normaliseSweep(input: NormaliseInput): NormaliseResult {
  const { file, sweep, registry } = input;
  const problems: ConfigProblem[] = [];
  const notices: ConfigNotice[] = [];
  const topLayer: Layer = { path: [], values: { model_name: sweep.model_name } };
  const globalLayer: Layer = { path: ['defaults'], values: sweep.defaults ?? {} };
  const experiments = Array.isArray(sweep.experiments)
    ? sweep.experiments.map((experiment, i) => ({ experiment, path: ['experiments', i] as PathSegment[] }))
    : [{ experiment: sweep.experiments, path: ['experiments'] as PathSegment[] }];

  const datasets: NormalisedDataset[] = [];
  const models: Record<string, ModelEntry> = {};
  const context: EntryContext = { ...input, registryNames: Object.keys(registry).sort(), problems, notices, models };
  const skipped: ConfigNotice[] = [];

  for (const { experiment, path: experimentPath } of experiments) {
    const experimentLayer: Layer = { path: [...experimentPath, 'defaults'], values: experiment.defaults ?? {} };
    experiment.datasets.forEach((entry, index) => {
      const entryPath: PathSegment[] = [...experimentPath, 'datasets', index];
      const layers = [topLayer, globalLayer, experimentLayer, { path: entryPath, values: entry }];
      const gathered = gatherEntry(context, entry, entryPath, layers);
      if (gathered === undefined) return;
      if ('skipped' in gathered) skipped.push(gathered.skipped);
      else datasets.push(gathered);
    });
  }
  if (problems.length === 0 && datasets.length === 0) {
    problems.push({
      file,
      path: ['experiments'],
      message: `the sweep has no experiment to run: ${formatProblemsAsReasons(skipped)}`,
    });
  }
  return { datasets, models, problems: dedupeProblems(problems), notices: dedupeProblems(notices) };
}
