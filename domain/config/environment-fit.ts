// What a dataset entry's settings mean in the chosen environment: the offline simulator's keys
// (settings offline, notices for a server environment), the server-only keys in the offline
// environment, hbm_size, quantization, a dataset format only the offline simulator reads, and the
// limits of a GPU KV cache. Problems and notices as data; pure.
import type { DatasetFormat, OfflineSettings } from '../experiment.ts';
import { pick, type Layer, type Located } from './layers.ts';
import type { ConfigNotice, ConfigProblem, PathSegment } from './problems.ts';
import type { EnvironmentDefinition, ModelEntry } from './registry.ts';
import { placeholdersIn } from './templates.ts';
import { BYTES_PER_GB } from './templates.ts';

export interface FitInput {
  file: string;
  environmentName: string;
  environment: EnvironmentDefinition;
  layers: readonly Layer[];
  entryPath: PathSegment[];
}

export interface Fit {
  notices: ConfigNotice[];
  problems: ConfigProblem[];
}

/** The old simulation files' keys: settings of the offline simulator. */
const OFFLINE_KEYS = ['max_concurrent_requests', 'max_context_length', 'chunk_size', 'block_size', 'cache_model'] as const;
/** Keys about the server and the client, which the offline simulator does not start. */
const SERVER_KEYS = ['server_extra_args', 'server_env', 'ready_timeout', 'client'] as const;

/** The offline settings of an entry (null in a server environment), and notices for keys with no effect. */
export function offlineSettings(input: FitInput, fit: Fit): OfflineSettings | null {
  const { file, environmentName, environment, layers } = input;
  if (environment.kind === 'server') {
    for (const key of OFFLINE_KEYS) {
      const given = pick(layers, key);
      if (given) {
        fit.notices.push({
          file,
          path: given.path,
          message: `has no effect in environment '${environmentName}', which runs a server: it is a setting of the offline simulator (--env offline)`,
        });
      }
    }
    return null;
  }
  for (const key of SERVER_KEYS) {
    const given = pick(layers, key);
    if (given) fit.notices.push({ file, path: given.path, message: `has no effect in environment '${environmentName}': the offline simulator starts no server or client` });
  }
  const value = (key: Exclude<(typeof OFFLINE_KEYS)[number], 'cache_model'>) => pick(layers, key)?.value ?? null;
  return {
    cache_model: pick(layers, 'cache_model')?.value ?? 'kvsweep',
    max_concurrent_requests: value('max_concurrent_requests'),
    max_context_length: value('max_context_length'),
    chunk_size: value('chunk_size'),
    block_size: value('block_size'),
  };
}

/** Whether any template the server gets uses `{name}`. */
function templatesUse(name: string, environment: EnvironmentDefinition, layers: readonly Layer[]): boolean {
  const templates = [
    ...environment.wrapper,
    ...environment.command,
    ...Object.values(environment.env),
    ...Object.values(environment.strategy_env).flatMap((vars) => Object.values(vars ?? {})),
    ...(environment.quantization_args ?? []),
    ...(pick(layers, 'server_extra_args')?.value ?? []),
    ...Object.values(pick(layers, 'server_env')?.value ?? {}),
  ];
  return templates.some((template) => placeholdersIn(template).includes(name));
}

/** `hbm_size` (GB per GPU): its value, and a notice where nothing reads it. */
export function hbmSize(input: FitInput, fit: Fit): Located<number> | undefined {
  const { file, environmentName, environment, layers } = input;
  const hbm = pick(layers, 'hbm_size');
  if (!hbm) return undefined;
  const used = environment.kind === 'server' && (environment.gpu_kv_cache || templatesUse('hbm_size_gb', environment, layers));
  if (!used) {
    const why = environment.kind === 'offline' ? 'the offline simulator has no GPU' : 'its cache_sizes are not GPU memory and no template uses {hbm_size_gb}';
    fit.notices.push({ file, path: hbm.path, message: `has no effect in environment '${environmentName}' (${why}); it is kept with the results as the GPU memory size` });
  }
  return hbm;
}

/** A quantized model in a server environment that has no way to say so. */
export function quantizationNotice(input: FitInput, model: Located<string>, entry: ModelEntry, fit: Fit): void {
  const { file, environmentName, environment } = input;
  if (entry.quantization === undefined || environment.kind !== 'server' || environment.quantization_args !== undefined) return;
  fit.notices.push({
    file,
    path: model.path,
    message: `model '${model.value}' is quantized (${entry.quantization}), but environment '${environmentName}' has no quantization_args: its server is not told, and loads the weights as it sees fit`,
  });
}

const FORMAT_NAMES: Record<Exclude<DatasetFormat, 'trace_csv'>, string> = {
  server_log: "an LMCache server log (the old tool's simulator input)",
  requests_jsonl: "the requests.jsonl of an earlier kvsweep run",
};

/** A server log or a requests.jsonl cannot be replayed against a server. */
export function formatProblem(input: FitInput, format: DatasetFormat, fit: Fit): void {
  if (format === 'trace_csv' || input.environment.kind === 'offline') return;
  fit.problems.push({
    file: input.file,
    path: [...input.entryPath, 'path'],
    message: `is ${FORMAT_NAMES[format]}: an input of the offline simulator (--env offline or kvsweep simulate), not of environment '${input.environmentName}', which replays trace CSVs against a server`,
  });
}

/**
 * Where cache_sizes is the GPU KV cache (vLLM's --kv-cache-memory-bytes): each GPU's share must
 * fit in hbm_size, and the cache must hold one request of max_model_len tokens (vLLM refuses to
 * start otherwise, after loading the weights).
 */
export function gpuCacheProblems(
  input: FitInput,
  sizes: ReadonlyArray<Located<number>>,
  model: { name: string; entry: ModelEntry },
  hbm: Located<number> | undefined,
  fit: Fit,
): void {
  if (input.environment.kind !== 'server' || !input.environment.gpu_kv_cache) return;
  const gpus = model.entry.tensor_parallel_size * model.entry.pipeline_parallel_size;
  const perToken = model.entry.kv_bytes_per_token;
  for (const size of sizes) {
    const where = { file: input.file, path: size.path };
    if (size.value === 0) {
      fit.problems.push({ ...where, message: `environment '${input.environmentName}' holds its KV cache on the GPU: a cache of 0 GB serves no request` });
      continue;
    }
    const perGpu = size.value / gpus;
    if (hbm && perGpu >= hbm.value) {
      fit.problems.push({
        ...where,
        message: `the GPU KV cache of ${size.value} GB is ${perGpu} GB on each of ${gpus} GPU(s), which does not fit in hbm_size ${hbm.value} GB next to the weights`,
      });
    }
    const tokens = perToken === undefined ? undefined : Math.floor((size.value * BYTES_PER_GB) / perToken);
    if (tokens !== undefined && tokens < model.entry.max_model_len) {
      fit.problems.push({
        ...where,
        message: `${size.value} GB holds ${tokens} tokens of model '${model.name}' (${perToken} bytes each), fewer than its max_model_len ${model.entry.max_model_len}: vLLM refuses to start`,
      });
    }
  }
}
