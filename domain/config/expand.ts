// The sweep expansion: per dataset entry, cache sizes x request rates x eviction strategies (x
// lightgbm modes for the lightgbm strategy), each an ExperimentSpec with its server command built
// (or, in an offline environment, its simulator settings).
// Pure and deterministic: workflow code runs it, so no Node APIs, no yaml, no clock, no randomness.
// No zod either: the sweep workflow gets a ResolvedSweep that planning already validated, and every
// module a workflow imports is evaluated again for each workflow run (zod's cost ~8% of the worker's
// workflow thread, bench/orchestration.ts). planSweep checks each spec against the schema.
// A ResolvedSweep recorded by an older kvsweep (a running sweep's history) lacks the newer fields:
// each is read with the value it had then (server environment, trace CSV, no offline settings).
import type { EvictionStrategy, ExperimentSpec, LightgbmMode, ServerCommand } from '../experiment.ts';
import { clashProblems, effectKey, type Clash } from './clashes.ts';
import { ConfigError, dedupeProblems, formatPath, type ConfigProblem } from './problems.ts';
import type { NormalisedDataset, ResolvedSweep } from './resolved.ts';
import { experimentId } from './ids.ts';
import { BYTES_PER_GB, fillTemplate, type PlanPlaceholder, type PlanValues } from './templates.ts';

/** Name used in messages for a config given as an object rather than a file. */
export const INLINE_SOURCE = '<inline config>';

interface Axis {
  cache_size_gb: number;
  request_rate: number;
  eviction_strategy: EvictionStrategy;
  lightgbm_mode: LightgbmMode | null;
}

function axes(entry: NormalisedDataset): Axis[] {
  const out: Axis[] = [];
  for (const cache_size_gb of entry.cache_sizes_gb) {
    for (const request_rate of entry.request_rates) {
      for (const eviction_strategy of entry.eviction_strategies) {
        const modes = eviction_strategy === 'lightgbm' ? entry.lightgbm_modes : [null];
        for (const lightgbm_mode of modes) out.push({ cache_size_gb, request_rate, eviction_strategy, lightgbm_mode });
      }
    }
  }
  return out;
}

/** Expands a resolved sweep into its experiments, in file order; throws ConfigError if any fails to build. */
export function expandSweep(resolved: ResolvedSweep): ExperimentSpec[] {
  const file = resolved.source_file ?? INLINE_SOURCE;
  const problems: ConfigProblem[] = [];
  const specs: ExperimentSpec[] = [];
  const origins = new Map<string, { spec: ExperimentSpec; path: ConfigProblem['path'] }>();
  const effects = new Map<string, { spec: ExperimentSpec; path: ConfigProblem['path'] }>();
  const clashes = new Map<string, Clash>();

  for (const entry of resolved.datasets) {
    const model = resolved.models[entry.model];
    if (!model) {
      problems.push({ file, path: entry.yaml_path, message: `model '${entry.model}' is missing from the resolved registry` });
      continue;
    }
    for (const axis of axes(entry)) {
      const spec = buildSpec(resolved, entry, axis, (message) => problems.push({ file, path: entry.yaml_path, message }));
      const sameId = origins.get(spec.id);
      const effect = effectKey(spec);
      const sameEffect = effects.get(effect);
      const earlier = sameId ?? sameEffect;
      if (earlier) {
        const kind: Clash['kind'] = sameId ? 'id' : 'effect';
        const key = `${kind} ${formatPath(entry.yaml_path)} ${formatPath(earlier.path)}`;
        const clash = clashes.get(key) ?? { kind, path: entry.yaml_path, earlier: earlier.path, pairs: [], differing: new Set() };
        clash.pairs.push([earlier.spec.id, spec.id]);
        for (const field of Object.keys(spec) as Array<keyof ExperimentSpec>) {
          if (field !== 'id' && JSON.stringify(spec[field]) !== JSON.stringify(earlier.spec[field])) clash.differing.add(field);
        }
        clashes.set(key, clash);
        continue;
      }
      origins.set(spec.id, { spec, path: entry.yaml_path });
      effects.set(effect, { spec, path: entry.yaml_path });
      specs.push(spec);
    }
  }
  problems.push(...clashProblems(file, [...clashes.values()]));
  if (problems.length > 0) throw new ConfigError(dedupeProblems(problems));
  return specs;
}

/** One experiment of an entry; `problem` is told what cannot be built. */
function buildSpec(resolved: ResolvedSweep, entry: NormalisedDataset, axis: Axis, problem: (message: string) => void): ExperimentSpec {
  const { name: environmentName, definition: environment } = resolved.environment;
  const model = resolved.models[entry.model]!;
  const modelPath = localModelPath(model.paths[environmentName], resolved, (name) =>
    problem(
      `placeholder {${name}} in model '${entry.model}' paths.${environmentName} has no value ${name === 'real_servers_dir' ? missingInstallation : '(a model path may hold only {real_servers_dir})'}`,
    ),
  ) ?? model.huggingface_path;
  const servedName = model.served_model_name ?? modelPath;
  const gpuCount = model.tensor_parallel_size * model.pipeline_parallel_size;
  const conversationAware = axis.eviction_strategy === 'conversation_aware';
  const conversationConfig = conversationAware ? entry.conversation_eviction_config : {};
  const offline = (environment.kind ?? 'server') === 'offline';
  const context = { resolved, entry, axis, modelPath, servedName, gpuCount, conversationConfig };
  return {
    id: experimentId({ model: entry.model, dataset: entry.dataset.name, mock_decoding: entry.mock_decoding, ...axis }),
    model: entry.model,
    huggingface_path: model.huggingface_path,
    model_path: modelPath,
    served_model_name: servedName,
    tensor_parallel_size: model.tensor_parallel_size,
    pipeline_parallel_size: model.pipeline_parallel_size,
    gpu_count: gpuCount,
    gpu_class: entry.gpu_class,
    max_model_len: model.max_model_len,
    dataset: { name: entry.dataset.name, path: entry.dataset.path, format: entry.dataset.format ?? 'trace_csv' },
    cache_size_gb: axis.cache_size_gb,
    request_rate: axis.request_rate,
    eviction_strategy: axis.eviction_strategy,
    lightgbm_mode: axis.lightgbm_mode,
    use_conversation_eviction: conversationAware,
    conversation_eviction_config: conversationConfig,
    num_prompts: entry.num_prompts,
    time_limit: entry.time_limit,
    mock_decoding: entry.mock_decoding,
    seed: entry.seed,
    environment: environmentName,
    hbm_size_gb: entry.hbm_size_gb ?? null,
    server: offline ? null : serverCommand(context, problem),
    offline: offline ? (entry.offline ?? null) : null,
    client: entry.client,
    max_attempts: entry.max_attempts,
  };
}

interface SpecContext {
  resolved: ResolvedSweep;
  entry: NormalisedDataset;
  axis: Axis;
  modelPath: string;
  servedName: string;
  gpuCount: number;
  conversationConfig: NormalisedDataset['conversation_eviction_config'];
}

/** The plan-time placeholder values of one experiment. */
function planValues({ resolved, entry, axis, modelPath, servedName, gpuCount, conversationConfig }: SpecContext): PlanValues {
  const model = resolved.models[entry.model]!;
  const blockSize = resolved.environment.definition.block_size;
  const blockBytes = blockSize !== undefined && model.kv_bytes_per_token !== undefined ? blockSize * model.kv_bytes_per_token : undefined;
  const cacheBytes = Math.round(axis.cache_size_gb * BYTES_PER_GB);
  const cacheBlocks = blockBytes === undefined ? 0 : Math.floor(cacheBytes / blockBytes);
  return {
    model: entry.model,
    model_path: modelPath,
    huggingface_path: model.huggingface_path,
    served_model_name: servedName,
    max_model_len: String(model.max_model_len),
    ...(model.quantization !== undefined ? { quantization: model.quantization } : {}),
    tensor_parallel_size: String(model.tensor_parallel_size),
    pipeline_parallel_size: String(model.pipeline_parallel_size),
    gpu_count: String(gpuCount),
    cache_size_gb: String(axis.cache_size_gb),
    cache_size_per_gpu_gb: String(axis.cache_size_gb / gpuCount),
    cache_size_bytes: String(cacheBytes),
    cache_size_per_gpu_bytes: String(Math.floor(cacheBytes / gpuCount)),
    ...(cacheBlocks > 0 ? { cache_size_blocks: String(cacheBlocks) } : {}),
    ...(blockSize !== undefined ? { block_size: String(blockSize) } : {}),
    ...(entry.hbm_size_gb != null ? { hbm_size_gb: String(entry.hbm_size_gb) } : {}),
    ...(resolved.installation ? { real_servers_dir: resolved.installation.real_servers_dir } : {}),
    eviction_strategy: axis.eviction_strategy,
    use_conversation_eviction: String(axis.eviction_strategy === 'conversation_aware'),
    conversation_eviction_config_json: JSON.stringify(conversationConfig),
    request_rate: String(axis.request_rate),
    num_prompts: String(entry.num_prompts),
    time_limit: String(entry.time_limit),
    seed: String(entry.seed),
    mock_decoding: String(entry.mock_decoding),
    ...(axis.lightgbm_mode ? { lightgbm_mode: axis.lightgbm_mode } : {}),
  };
}

/** Why a plan-time placeholder has no value in this experiment. */
function whyMissing(name: string, { resolved, entry, axis }: SpecContext): string {
  const environmentName = resolved.environment.name;
  const blockSize = resolved.environment.definition.block_size;
  const model = resolved.models[entry.model]!;
  switch (name as PlanPlaceholder) {
    case 'block_size':
      return `because environment '${environmentName}' sets no block_size`;
    case 'cache_size_blocks':
      if (blockSize === undefined) return `because environment '${environmentName}' sets no block_size`;
      if (model.kv_bytes_per_token === undefined) return `because model '${entry.model}' sets no kv_bytes_per_token`;
      return `because ${axis.cache_size_gb} GB holds no whole block of ${blockSize} tokens x ${model.kv_bytes_per_token} bytes`;
    case 'quantization':
      return `because model '${entry.model}' sets no quantization`;
    case 'hbm_size_gb':
      return 'because the sweep sets no hbm_size';
    case 'real_servers_dir':
      return missingInstallation;
    default:
      return `for eviction strategy ${axis.eviction_strategy}`;
  }
}

/** The server's argv and environment, every plan-time placeholder filled. */
function serverCommand(context: SpecContext, problem: (message: string) => void): ServerCommand {
  const { resolved, entry, axis } = context;
  const { name: environmentName, definition: environment } = resolved.environment;
  const values = planValues(context);
  const fill = (template: string, where: string): string => {
    const { text, missing } = fillTemplate(template, values);
    for (const name of missing) problem(`placeholder {${name}} in ${where} has no value ${whyMissing(name, context)}`);
    return text;
  };
  const quantizationArgs = resolved.models[entry.model]!.quantization !== undefined ? (environment.quantization_args ?? []) : [];
  const argv = [
    ...environment.wrapper.map((t, i) => fill(t, `environment '${environmentName}' wrapper[${i}]`)),
    ...environment.command.map((t, i) => fill(t, `environment '${environmentName}' command[${i}]`)),
    ...quantizationArgs.map((t, i) => fill(t, `environment '${environmentName}' quantization_args[${i}]`)),
    ...entry.server_extra_args.map((t, i) => fill(t, `server_extra_args[${i}]`)),
  ];
  const env: Record<string, string> = {};
  const envLayers: Array<[string, Record<string, string>]> = [
    [`environment '${environmentName}' env`, environment.env],
    [`environment '${environmentName}' strategy_env`, environment.strategy_env[axis.eviction_strategy] ?? {}],
    ['server_env', entry.server_env],
  ];
  for (const [where, vars] of envLayers) {
    for (const [name, template] of Object.entries(vars)) env[name] = fill(template, `${where}.${name}`);
  }
  return {
    argv,
    env,
    // A server environment always has both (registry.ts checks it); `?? ''` only satisfies the type.
    ready_pattern: environment.ready_pattern ?? '',
    ready_timeout_s: entry.ready_timeout_s ?? environment.ready_timeout ?? 0,
    health_path: environment.health_path ?? '/health',
    ...(environment.lmcache_stats_url === undefined ? {} : { lmcache_stats_url: fill(environment.lmcache_stats_url, `environment '${environmentName}' lmcache_stats_url`) }),
  };
}

const missingInstallation = "because the sweep was resolved without the installation's folders (by an older kvsweep): plan it again";

/** A model's local path in this environment, its installation placeholders filled; undefined when it has none. */
function localModelPath(template: string | undefined, resolved: ResolvedSweep, onMissing: (name: string) => void): string | undefined {
  if (template === undefined) return undefined;
  const { text, missing } = fillTemplate(template, resolved.installation ?? {});
  missing.forEach(onMissing);
  return text;
}
