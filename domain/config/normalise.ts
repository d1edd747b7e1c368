// From a validated sweep file to normalised dataset entries: layers applied (top level < defaults <
// experiment defaults < dataset entry), aliases folded, the two strategy keys combined, defaults
// filled, models and environment checked. Pure: file access comes in through `resolveDatasetPath`.
import type { ClientCommand, EvictionStrategy, LightgbmMode } from '../experiment.ts';
import type { ConfigProblem, PathSegment } from './problems.ts';
import { dedupeProblems, didYouMean, formatPath } from './problems.ts';
import type { ModelEntry } from './registry.ts';
import type { NormalisedDataset, ResolvedEnvironment } from './resolved.ts';
import type { Defaults, SweepFile } from './schema.ts';
import { checkTemplate } from './templates.ts';

/** The old runner's defaults, and kvsweep's for its own keys. */
export const SETTING_DEFAULTS = {
  num_prompts: 30000,
  time_limit: 1200,
  mock_decoding: false,
  seed: 0,
  gpu_class: 'any',
  max_attempts: 3,
  eviction_strategy: 'lru' as EvictionStrategy,
} as const;

export interface NormaliseInput {
  /** The sweep file's name as shown in messages. */
  file: string;
  sweep: SweepFile;
  /** Every known model: built-in, user files and the sweep's own `models:`. */
  registry: Record<string, ModelEntry>;
  environment: ResolvedEnvironment;
  /** Absolute path of a dataset, or why it cannot be used. */
  resolveDatasetPath: (raw: string) => { path: string } | { problem: string };
}

export interface NormaliseResult {
  datasets: NormalisedDataset[];
  models: Record<string, ModelEntry>;
  problems: ConfigProblem[];
}

type Settings = Defaults & { model_name?: string | undefined };
interface Layer {
  path: PathSegment[];
  values: Settings;
}
interface Located<T> {
  value: T;
  path: PathSegment[];
}

function pick<K extends keyof Settings>(layers: readonly Layer[], key: K): Located<NonNullable<Settings[K]>> | undefined {
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i]!;
    const value = layer.values[key];
    if (value !== undefined) return { value: value as NonNullable<Settings[K]>, path: [...layer.path, key] };
  }
  return undefined;
}

/** Elements of a one-or-list value, each with its own path. */
function elements<T>(located: Located<T | T[]>): Array<Located<T>> {
  if (!Array.isArray(located.value)) return [{ value: located.value, path: located.path }];
  return located.value.map((value, i) => ({ value, path: [...located.path, i] }));
}

function datasetNameFromPath(raw: string): string {
  const base = raw.split(/[\\/]/).pop() ?? raw;
  const stem = base.includes('.') ? base.slice(0, base.lastIndexOf('.')) : base;
  const safe = stem.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return safe === '' ? 'dataset' : safe;
}

export function normaliseSweep(input: NormaliseInput): NormaliseResult {
  const { file, sweep, registry, environment } = input;
  const problems: ConfigProblem[] = [];
  const report = (path: PathSegment[], message: string, extra: Partial<ConfigProblem> = {}) =>
    problems.push({ file, path, message, ...extra });

  /** A setting and its old alias: the innermost layer giving either wins; one layer giving both is an error. */
  const pickAliased = <K extends 'cache_sizes' | 'request_rates', A extends 'cache_size_gb' | 'request_rate_per_second'>(
    layers: readonly Layer[],
    key: K,
    alias: A,
  ): Located<number | number[]> | undefined => {
    for (let i = layers.length - 1; i >= 0; i--) {
      const { path, values } = layers[i]!;
      const main = values[key];
      const old = values[alias];
      if (main !== undefined && old !== undefined) {
        report([...path, alias], `'${alias}' is the old name of '${key}', which is also given here: keep one`);
      }
      if (main !== undefined) return { value: main, path: [...path, key] };
      if (old !== undefined) return { value: old, path: [...path, alias] };
    }
    return undefined;
  };

  const noDuplicates = <T>(items: Array<Located<T>>, what: string): void => {
    items.forEach((item, i) => {
      const first = items.findIndex((other) => other.value === item.value);
      if (first < i) report(item.path, `${what} ${String(item.value)} is listed twice (also at ${formatPath(items[first]!.path)})`);
    });
  };

  /** `use_conversation_evictions` and `cache_eviction_strategy` are two spellings of one setting. */
  const pickStrategies = (layers: readonly Layer[], entryPath: PathSegment[]): Array<Located<EvictionStrategy>> => {
    for (let i = layers.length - 1; i >= 0; i--) {
      const { path, values } = layers[i]!;
      const named = values.cache_eviction_strategy;
      const flags = values.use_conversation_evictions;
      if (named === undefined && flags === undefined) continue;
      const fromFlags =
        flags === undefined
          ? []
          : elements({ value: flags, path: [...path, 'use_conversation_evictions'] }).map((flag) => ({
              value: (flag.value ? 'conversation_aware' : 'lru') as EvictionStrategy,
              path: flag.path,
            }));
      if (named === undefined) return fromFlags;
      const fromNames = elements({ value: named, path: [...path, 'cache_eviction_strategy'] });
      if (flags !== undefined) {
        const a = new Set(fromFlags.map((s) => s.value));
        const b = new Set(fromNames.map((s) => s.value));
        if (a.size !== b.size || [...a].some((s) => !b.has(s))) {
          report(
            [...path, 'use_conversation_evictions'],
            `contradicts cache_eviction_strategy in the same mapping (false means lru, true means conversation_aware): ` +
              `[${[...a].join(', ')}] vs [${[...b].join(', ')}]`,
            { hint: 'keep only cache_eviction_strategy' },
          );
        }
      }
      return fromNames;
    }
    return [{ value: SETTING_DEFAULTS.eviction_strategy, path: entryPath }];
  };

  const topLayer: Layer = { path: [], values: { model_name: sweep.model_name } };
  const globalLayer: Layer = { path: ['defaults'], values: sweep.defaults ?? {} };
  const experiments = Array.isArray(sweep.experiments)
    ? sweep.experiments.map((experiment, i) => ({ experiment, path: ['experiments', i] as PathSegment[] }))
    : [{ experiment: sweep.experiments, path: ['experiments'] as PathSegment[] }];

  const datasets: NormalisedDataset[] = [];
  const models: Record<string, ModelEntry> = {};
  const registryNames = Object.keys(registry).sort();

  for (const { experiment, path: experimentPath } of experiments) {
    const experimentLayer: Layer = { path: [...experimentPath, 'defaults'], values: experiment.defaults ?? {} };
    experiment.datasets.forEach((entry, index) => {
      const entryPath: PathSegment[] = [...experimentPath, 'datasets', index];
      const layers = [topLayer, globalLayer, experimentLayer, { path: entryPath, values: entry }];
      const before = problems.length;

      const model = pick(layers, 'model_name');
      if (!model) {
        report(entryPath, 'no model: set model_name at the top level, in defaults, or in this entry');
      } else if (!registry[model.value]) {
        report(model.path, `unknown model '${model.value}'`, {
          suggestions: didYouMean(model.value, registryNames),
          hint: `registered: ${registryNames.join(', ')} (add one under models:, or with --models FILE)`,
        });
      } else {
        models[model.value] = registry[model.value]!;
      }

      const sizes = pickAliased(layers, 'cache_sizes', 'cache_size_gb');
      if (!sizes) report(entryPath, "missing 'cache_sizes' (GB; the old name cache_size_gb works too)");
      const sizeItems = sizes ? elements(sizes) : [];
      noDuplicates(sizeItems, 'cache size');

      const rates = pickAliased(layers, 'request_rates', 'request_rate_per_second');
      if (!rates) report(entryPath, "missing 'request_rates' (the old name request_rate_per_second works too)");
      const rateItems = rates ? elements(rates) : [];
      noDuplicates(rateItems, 'request rate');

      const strategies = pickStrategies(layers, entryPath);
      noDuplicates(strategies, 'eviction strategy');
      for (const strategy of strategies) {
        if (!environment.definition.strategies.includes(strategy.value)) {
          report(
            strategy.path,
            `environment '${environment.name}' cannot run eviction strategy '${strategy.value}' ` +
              `(it supports ${environment.definition.strategies.join(', ')})`,
          );
        }
      }

      let modes: Array<Located<LightgbmMode>> = [];
      const lightgbm = strategies.find((s) => s.value === 'lightgbm');
      if (lightgbm) {
        const mode = pick(layers, 'lightgbm_mode');
        if (!mode) report(lightgbm.path, 'strategy lightgbm needs lightgbm_mode (regression, ranking or classification)');
        modes = mode ? elements(mode) : [];
        noDuplicates(modes, 'lightgbm mode');
      }

      const serverEnv = pick(layers, 'server_env');
      for (const [name, value] of Object.entries(serverEnv?.value ?? {})) {
        if (name === 'CUDA_VISIBLE_DEVICES') {
          report([...serverEnv!.path, name], 'is set by the worker for the GPUs it assigns; it cannot be configured');
        }
        for (const message of checkTemplate(value, 'server')) report([...serverEnv!.path, name], message);
      }
      const extraArgs = pick(layers, 'server_extra_args');
      extraArgs?.value.forEach((arg, i) => {
        for (const message of checkTemplate(arg, 'server')) report([...extraArgs.path, i], message);
      });
      const clientSetting = pick(layers, 'client');
      clientSetting?.value.argv?.forEach((arg, i) => {
        for (const message of checkTemplate(arg, 'client')) report([...clientSetting.path, 'argv', i], message);
      });
      const client: ClientCommand = clientSetting?.value.argv
        ? { kind: 'external', argv: clientSetting.value.argv }
        : { kind: 'builtin', arrival: clientSetting?.value.arrival ?? 'trace' };

      const resolved = input.resolveDatasetPath(entry.path);
      if ('problem' in resolved) report([...entryPath, 'path'], resolved.problem);

      if (problems.length > before || !model || 'problem' in resolved) return;
      datasets.push({
        yaml_path: entryPath,
        dataset: { name: entry.name ?? datasetNameFromPath(entry.path), path: resolved.path },
        model: model.value,
        cache_sizes_gb: sizeItems.map((s) => s.value),
        request_rates: rateItems.map((r) => r.value),
        eviction_strategies: strategies.map((s) => s.value),
        lightgbm_modes: modes.map((m) => m.value),
        conversation_eviction_config: pick(layers, 'conversation_eviction_config')?.value ?? {},
        num_prompts: pick(layers, 'num_prompts')?.value ?? SETTING_DEFAULTS.num_prompts,
        time_limit: pick(layers, 'time_limit')?.value ?? SETTING_DEFAULTS.time_limit,
        mock_decoding: pick(layers, 'mock_decoding')?.value ?? SETTING_DEFAULTS.mock_decoding,
        seed: pick(layers, 'seed')?.value ?? SETTING_DEFAULTS.seed,
        gpu_class: pick(layers, 'gpu_class')?.value ?? SETTING_DEFAULTS.gpu_class,
        max_attempts: pick(layers, 'max_attempts')?.value ?? SETTING_DEFAULTS.max_attempts,
        ready_timeout_s: pick(layers, 'ready_timeout')?.value ?? null,
        server_extra_args: extraArgs?.value ?? [],
        server_env: serverEnv?.value ?? {},
        client,
      });
    });
  }
  return { datasets, models, problems: dedupeProblems(problems) };
}
