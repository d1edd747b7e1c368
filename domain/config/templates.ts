// Placeholders in argv and environment templates. `{name}` (lower-case letters and `_`) inside an
// element is replaced by a plan-time value; `{port}` and `{gpus}` stay for the worker; an element
// that is exactly `{kvsweep}` is replaced by the worker with the argv that runs kvsweep. Values are
// inserted once and never rescanned, and nothing here ever reaches a shell: a value such as
// `$(touch /tmp/x)` stays literal text in one argv element. Model `paths` may hold the
// installation placeholders only (they name folders, not per-experiment values).

/** Filled in by `expandSweep`, per experiment. */
export const PLAN_PLACEHOLDERS = [
  'model',
  'model_path',
  'huggingface_path',
  'served_model_name',
  'max_model_len',
  'quantization',
  'tensor_parallel_size',
  'pipeline_parallel_size',
  'gpu_count',
  'cache_size_gb',
  'cache_size_per_gpu_gb',
  'cache_size_bytes',
  'cache_size_per_gpu_bytes',
  'cache_size_blocks',
  'block_size',
  'hbm_size_gb',
  'eviction_strategy',
  'use_conversation_eviction',
  'conversation_eviction_config_json',
  'lightgbm_mode',
  'request_rate',
  'num_prompts',
  'time_limit',
  'seed',
  'mock_decoding',
  'real_servers_dir',
] as const;
export type PlanPlaceholder = (typeof PLAN_PLACEHOLDERS)[number];

/** Plan-time values that name folders of the installation; also allowed in model `paths`. */
export const INSTALLATION_PLACEHOLDERS = ['real_servers_dir'] as const satisfies readonly PlanPlaceholder[];

/** Bytes in a GB of `cache_sizes`: decimal, as vLLM's `--kv-cache-memory-bytes 2g` reads it. */
export const BYTES_PER_GB = 1e9;

/**
 * Filled in by the worker that runs the experiment (see ServerCommand in domain/experiment.ts):
 * `{port}`, `{gpus}` (comma-separated ids), `{first_gpu}` (the first id), `{scratch_dir}` (an
 * empty folder made for this server start, removed at teardown). The numeric ones take an offset:
 * `{first_gpu+9000}` is 9000 + the first GPU's id (the LMCache fork's statistics port).
 */
export const HOST_PLACEHOLDERS = ['port', 'gpus', 'first_gpu', 'scratch_dir'] as const;
/** Host placeholders that take an offset (`{port+1}`). */
export const NUMERIC_HOST_PLACEHOLDERS = ['port', 'first_gpu'] as const;
export const KVSWEEP_ELEMENT = '{kvsweep}';

/** Filled in by the client activity (see ClientCommand in domain/experiment.ts). */
export const CLIENT_PLACEHOLDERS = [
  'base_url',
  'model',
  'dataset',
  'result_dir',
  'request_rate',
  'num_prompts',
  'time_limit',
  'seed',
] as const;

const PLACEHOLDER = /\{([a-z_]+)(\+\d+)?\}/g;

export function placeholdersIn(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((match) => match[1]!);
}

/** Problems with one template element (unknown names, a misplaced `{kvsweep}`), as messages. */
export function checkTemplate(template: string, kind: 'server' | 'client'): string[] {
  const allowed: readonly string[] =
    kind === 'server' ? [...PLAN_PLACEHOLDERS, ...HOST_PLACEHOLDERS] : CLIENT_PLACEHOLDERS;
  const problems: string[] = [];
  for (const match of template.matchAll(PLACEHOLDER)) {
    if (match[2] !== undefined && !(kind === 'server' && (NUMERIC_HOST_PLACEHOLDERS as readonly string[]).includes(match[1]!))) {
      problems.push(`${match[0]}: only ${NUMERIC_HOST_PLACEHOLDERS.map((n) => `{${n}}`).join(' and ')} take an offset`);
    }
  }
  for (const name of placeholdersIn(template)) {
    if (name === 'kvsweep' && kind === 'server') {
      if (template !== KVSWEEP_ELEMENT) problems.push('{kvsweep} must be a whole argv element');
    } else if (!allowed.includes(name)) {
      problems.push(`unknown placeholder {${name}} (known: ${allowed.map((a) => `{${a}}`).join(' ')})`);
    }
  }
  return problems;
}

/** Problems with a model's local path template: only the installation placeholders may appear. */
export function checkModelPath(template: string): string[] {
  const allowed: readonly string[] = INSTALLATION_PLACEHOLDERS;
  return placeholdersIn(template)
    .filter((name) => !allowed.includes(name))
    .map((name) => `unknown placeholder {${name}} in a model path (allowed: ${allowed.map((a) => `{${a}}`).join(' ')})`);
}

export type PlanValues = Partial<Record<PlanPlaceholder, string>>;

/**
 * Replaces the plan-time placeholders of one element. Returns the placeholder names that have no
 * value for this experiment (e.g. {lightgbm_mode} in an lru experiment) instead of guessing.
 */
export function fillTemplate(template: string, values: PlanValues): { text: string; missing: string[] } {
  const missing: string[] = [];
  const text = template.replace(PLACEHOLDER, (whole, name: string) => {
    if (name === 'kvsweep' || (HOST_PLACEHOLDERS as readonly string[]).includes(name)) return whole;
    const value = values[name as PlanPlaceholder];
    if (value === undefined) {
      missing.push(name);
      return whole;
    }
    return value;
  });
  return { text, missing };
}
