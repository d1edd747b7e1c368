// One dataset entry of a sweep file, read through its layers: every check that can be made on it
// (problems), what kvsweep applies on the user's behalf (notices), and the normalised entry, or a
// reason it adds no experiment. Pure.
import type { ClientCommand, EvictionStrategy, LightgbmMode } from '../experiment.ts';
import { formatProblem, gpuCacheProblems, hbmSize, offlineSettings, quantizationNotice, type Fit, type FitInput } from './environment-fit.ts';
import { elements, pick, type Layer, type Located } from './layers.ts';
import { SETTING_DEFAULTS } from './defaults.ts';
import type { NormaliseInput } from './normalise.ts';
import type { ConfigNotice, ConfigProblem, PathSegment } from './problems.ts';
import { didYouMean, formatPath } from './problems.ts';
import { OFFLINE_ONLY_ORACLE, type ModelEntry } from './registry.ts';
import type { NormalisedDataset } from './resolved.ts';
import type { DatasetEntry } from './schema.ts';
import { checkTemplate } from './templates.ts';

export interface EntryContext extends NormaliseInput {
  registryNames: string[];
  problems: ConfigProblem[];
  notices: ConfigNotice[];
  /** The registry entries of the models used so far. */
  models: Record<string, ModelEntry>;
}

type Report = (path: PathSegment[], message: string, extra?: Partial<ConfigProblem>) => void;

function datasetNameFromPath(raw: string): string {
  const base = raw.split(/[\\/]/).pop() ?? raw;
  const stem = base.includes('.') ? base.slice(0, base.lastIndexOf('.')) : base;
  const safe = stem.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return safe === '' ? 'dataset' : safe;
}

/** A setting and its old alias: the innermost layer giving either wins; one layer giving both is an error. */
function pickAliased(
  layers: readonly Layer[],
  key: 'cache_sizes' | 'request_rates',
  alias: 'cache_size_gb' | 'request_rate_per_second',
  report: Report,
): Located<number | number[]> | undefined {
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
}

function noDuplicates<T>(items: Array<Located<T>>, what: string, report: Report): void {
  items.forEach((item, i) => {
    const first = items.findIndex((other) => other.value === item.value);
    if (first < i) report(item.path, `${what} ${String(item.value)} is listed twice (also at ${formatPath(items[first]!.path)})`);
  });
}

/** `use_conversation_evictions` and `cache_eviction_strategy` are two spellings of one setting. */
function pickStrategies(layers: readonly Layer[], entryPath: PathSegment[], report: Report): Array<Located<EvictionStrategy>> {
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
}

/**
 * Cache sizes or request rates: the list given (possibly empty), or the old runner's default with
 * a notice. Returns the items and, for an empty list, the key it was written as.
 */
function sweepAxis(
  context: EntryContext,
  layers: readonly Layer[],
  entryPath: PathSegment[],
  key: 'cache_sizes' | 'request_rates',
  report: Report,
): { items: Array<Located<number>>; emptyKey?: string } {
  const alias = key === 'cache_sizes' ? 'cache_size_gb' : 'request_rate_per_second';
  const given = pickAliased(layers, key, alias, report);
  if (!given) {
    const fallback = key === 'cache_sizes' ? SETTING_DEFAULTS.cache_sizes_gb : SETTING_DEFAULTS.request_rates;
    const unit = key === 'cache_sizes' ? ' GB' : '';
    context.notices.push({
      file: context.file,
      path: entryPath,
      message: `no ${key} given (nor ${alias}): the old runner's default ${fallback.join(', ')}${unit} is used`,
    });
    return { items: fallback.map((value) => ({ value, path: entryPath })) };
  }
  const items = elements(given);
  noDuplicates(items, key === 'cache_sizes' ? 'cache size' : 'request rate', report);
  return items.length > 0 ? { items } : { items, emptyKey: String(given.path[given.path.length - 1]) };
}

/** The strategies, each checked against the environment, and the lightgbm modes (default regression). */
function strategiesAndModes(context: EntryContext, layers: readonly Layer[], entryPath: PathSegment[], report: Report) {
  const { name, definition } = context.environment;
  const strategies = pickStrategies(layers, entryPath, report);
  noDuplicates(strategies, 'eviction strategy', report);
  for (const strategy of strategies) {
    if (strategy.value === 'oracle' && definition.kind === 'server') report(strategy.path, OFFLINE_ONLY_ORACLE);
    else if (!definition.strategies.includes(strategy.value)) {
      report(strategy.path, `environment '${name}' cannot run eviction strategy '${strategy.value}' (it supports ${definition.strategies.join(', ')})`);
    }
  }
  let modes: Array<Located<LightgbmMode>> = [];
  const lightgbm = strategies.find((s) => s.value === 'lightgbm');
  if (lightgbm) {
    const mode = pick(layers, 'lightgbm_mode');
    if (!mode) {
      context.notices.push({ file: context.file, path: lightgbm.path, message: `no lightgbm_mode given: the old runner's default ${SETTING_DEFAULTS.lightgbm_mode} is used` });
    }
    modes = mode ? elements(mode) : [{ value: SETTING_DEFAULTS.lightgbm_mode, path: lightgbm.path }];
    noDuplicates(modes, 'lightgbm mode', report);
  }
  return { strategies, modes };
}

/** server_env, server_extra_args and client: templates checked, the client command built. */
function serverAndClient(layers: readonly Layer[], report: Report) {
  const serverEnv = pick(layers, 'server_env');
  for (const [name, value] of Object.entries(serverEnv?.value ?? {})) {
    if (name === 'CUDA_VISIBLE_DEVICES') report([...serverEnv!.path, name], 'is set by the worker for the GPUs it assigns; it cannot be configured');
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
  return { serverEnv: serverEnv?.value ?? {}, extraArgs: extraArgs?.value ?? [], client };
}

/** The entry's model, checked against the registry. */
function modelOf(context: EntryContext, layers: readonly Layer[], entryPath: PathSegment[], report: Report) {
  const model = pick(layers, 'model_name');
  if (!model) {
    report(entryPath, 'no model: set model_name at the top level, in defaults, or in this entry');
    return undefined;
  }
  const entry = context.registry[model.value];
  if (!entry) {
    report(model.path, `unknown model '${model.value}'`, {
      suggestions: didYouMean(model.value, context.registryNames),
      hint: `registered: ${context.registryNames.join(', ')} (add one under models:, or with --models FILE)`,
    });
    return undefined;
  }
  context.models[model.value] = entry;
  return { located: model, entry };
}

/**
 * Reads one entry. Returns the normalised entry; `{skipped}` (a notice) when an empty list leaves
 * it no experiment; undefined when it has problems (in context.problems).
 */
export function gatherEntry(
  context: EntryContext,
  entry: DatasetEntry,
  entryPath: PathSegment[],
  layers: readonly Layer[],
): NormalisedDataset | { skipped: ConfigNotice } | undefined {
  const { file, environment } = context;
  const before = context.problems.length;
  const report: Report = (path, message, extra = {}) => context.problems.push({ file, path, message, ...extra });
  const fit: Fit = { notices: context.notices, problems: context.problems };
  const fitInput: FitInput = { file, environmentName: environment.name, environment: environment.definition, layers, entryPath };

  const model = modelOf(context, layers, entryPath, report);
  const sizes = sweepAxis(context, layers, entryPath, 'cache_sizes', report);
  const rates = sweepAxis(context, layers, entryPath, 'request_rates', report);
  const { strategies, modes } = strategiesAndModes(context, layers, entryPath, report);
  const { serverEnv, extraArgs, client } = serverAndClient(layers, report);
  const offline = offlineSettings(fitInput, fit);
  const hbm = hbmSize(fitInput, fit);
  if (model) {
    quantizationNotice(fitInput, model.located, model.entry, fit);
    gpuCacheProblems(fitInput, sizes.items, { name: model.located.value, entry: model.entry }, hbm, fit);
  }
  const resolved = context.resolveDatasetPath(entry.path);
  if ('problem' in resolved) report([...entryPath, 'path'], resolved.problem);
  else formatProblem(fitInput, resolved.format, fit);

  if (context.problems.length > before || !model || 'problem' in resolved) return undefined;
  const emptyKey = sizes.emptyKey ?? rates.emptyKey;
  if (emptyKey !== undefined) {
    const notice = { file, path: entryPath, message: `${emptyKey} is empty: no experiments from this entry` };
    context.notices.push(notice);
    return { skipped: notice };
  }
  return {
    yaml_path: entryPath,
    dataset: { name: entry.name ?? datasetNameFromPath(entry.path), path: resolved.path, format: resolved.format },
    model: model.located.value,
    cache_sizes_gb: sizes.items.map((s) => s.value),
    request_rates: rates.items.map((r) => r.value),
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
    server_extra_args: extraArgs,
    server_env: serverEnv,
    client,
    hbm_size_gb: hbm?.value ?? null,
    offline,
  };
}

/** `experiments.datasets[1]: request_rates is empty; ...`: why entries added nothing. */
export function formatProblemsAsReasons(notices: readonly ConfigNotice[]): string {
  if (notices.length === 0) return 'no dataset entry gives one';
  return notices.map((n) => `${formatPath(n.path)}: ${n.message}`).join('; ');
}
