// The model registry and the environments: their file formats (zod, the only definition) and the
// pure rule that picks an environment. Files: configs/models.yaml, configs/environments.yaml, and
// the user's own files of the same shape. Pure: workflow code reaches this through expand.ts.
import { z } from 'zod';
import { EvictionStrategy } from '../experiment.ts';

/** Why `oracle` cannot run against a server: it needs to know the trace's future. */
export const OFFLINE_ONLY_ORACLE =
  "eviction strategy 'oracle' exists offline only (it evicts by when each conversation comes back, which only a replay of a recorded dataset knows): run it with --env offline (or kvsweep simulate)";

/** Registry and environment names end up in experiment ids and folder names. */
export const EntryName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: 'must be letters, digits, ".", "_" or "-" (starting with a letter or digit)' });

export const EnvVarName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'is not a valid environment variable name' });

/**
 * An environment variable value. Numbers are accepted (`PORT: 80`), booleans are not: YAML reads
 * `True` as a boolean, and `LMCACHE_LOCAL_CPU=True` would come out as `true`.
 */
export const EnvVarValue = z.union([z.string(), z.number().transform((n) => String(n))], {
  error: 'expected a string (quote it: YAML turns True/yes into a boolean and loses its spelling)',
});

export const EnvVars = z.record(EnvVarName, EnvVarValue);

export const ModelEntry = z.strictObject({
  /** The hub path; also the served name unless `served_model_name` says otherwise. */
  huggingface_path: z.string().min(1),
  tensor_parallel_size: z.number().int().positive().default(1),
  pipeline_parallel_size: z.number().int().positive().default(1),
  max_model_len: z.number().int().positive(),
  /** The name clients put in requests; defaults to the path the server is started with. */
  served_model_name: z.string().min(1).optional(),
  /**
   * A local path per environment name, used instead of the hub path in that environment. May hold
   * `{real_servers_dir}` (the folder scripts/provision-real-servers.sh installs into).
   */
  paths: z.record(EntryName, z.string().min(1)).default({}),
  /**
   * Bytes of KV cache one token takes (all layers, K and V, at the served dtype). Needed only by
   * environments that count their cache in blocks (`{cache_size_blocks}`).
   */
  kv_bytes_per_token: z.number().int().positive().optional(),
  /**
   * How the weights are quantized (`fp8`): given to servers whose environment has
   * `quantization_args` (vLLM's `--quantization`); `{quantization}` in templates.
   */
  quantization: z.string().min(1).optional(),
  description: z.string().optional(),
});
export type ModelEntry = z.infer<typeof ModelEntry>;

export const ModelsFile = z.strictObject({
  models: z.record(EntryName, ModelEntry),
});

function isValidRegex(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

/** `server`: kvsweep starts a server per experiment; `offline`: the offline simulator replays the dataset. */
export const EnvironmentKind = z.enum(['server', 'offline']);
export type EnvironmentKind = z.infer<typeof EnvironmentKind>;

/** The keys that only a server environment has (an offline one has no process to start). */
const SERVER_ONLY_KEYS = ['wrapper', 'command', 'env', 'strategy_env', 'ready_pattern', 'ready_timeout', 'health_path', 'quantization_args', 'lmcache_stats_url'] as const;

/**
 * How to start a server. `command` and `wrapper` are argv templates (never given to a shell);
 * `env` is added to the worker's environment; `strategy_env` adds variables only for experiments
 * of that eviction strategy. Placeholders: see domain/config/templates.ts. An environment of kind
 * `offline` has none of these: it names the strategies the offline simulator runs.
 */
export const EnvironmentDefinition = z
  .strictObject({
    description: z.string().optional(),
    /** Absent in definitions recorded before it existed: those are all `server`. */
    kind: EnvironmentKind.default('server'),
    /** Prepended to the command, e.g. [conda, run, --no-capture-output, -n, lmcache]. */
    wrapper: z.array(z.string()).default([]),
    command: z.array(z.string()).default([]),
    env: EnvVars.default({}),
    strategy_env: z.partialRecord(EvictionStrategy, EnvVars).default({}),
    /** The eviction strategies this environment can run; others are a config error, not a silent lru. */
    strategies: z.array(EvictionStrategy).min(1),
    ready_pattern: z.string().min(1).refine(isValidRegex, { error: 'is not a valid regular expression' }).optional(),
    /** Seconds the server may take to become ready. */
    ready_timeout: z.number().positive().optional(),
    health_path: z.string().startsWith('/').optional(),
    /** Tokens per KV-cache block of this server: `{block_size}`, and the unit of `{cache_size_blocks}`. */
    block_size: z.number().int().positive().optional(),
    /**
     * Appended to the command when the model sets `quantization` (e.g. [--quantization,
     * '{quantization}']); without it a quantized model is served as the server decides, with a notice.
     */
    quantization_args: z.array(z.string()).optional(),
    /**
     * `cache_sizes` is the server's GPU KV cache (split over the experiment's GPUs): a size must
     * hold one max_model_len request, and with `hbm_size` each GPU's share must fit in it.
     */
    gpu_kv_cache: z.boolean().default(false),
    /**
     * The LMCache fork's statistics endpoint (JSON with `lmcache_stats`, `conversation_stats`), read
     * by kvsweep's client before and after each run; host-time placeholders allowed, e.g.
     * `http://127.0.0.1:{first_gpu+9000}/lmcache/stats`. An endpoint that does not answer is a notice.
     */
    lmcache_stats_url: z.string().min(1).optional(),
  })
  .superRefine((definition, ctx) => {
    if (definition.kind === 'server') {
      if (definition.command.length === 0) ctx.addIssue({ code: 'custom', path: ['command'], message: 'a server environment needs a command' });
      if (definition.ready_pattern === undefined) ctx.addIssue({ code: 'custom', path: ['ready_pattern'], message: 'a server environment needs a ready_pattern' });
      if (definition.ready_timeout === undefined) ctx.addIssue({ code: 'custom', path: ['ready_timeout'], message: 'a server environment needs a ready_timeout (seconds)' });
      definition.strategies.forEach((strategy, i) => {
        if (strategy === 'oracle') ctx.addIssue({ code: 'custom', path: ['strategies', i], message: OFFLINE_ONLY_ORACLE });
      });
      return;
    }
    for (const key of SERVER_ONLY_KEYS) {
      const value = definition[key];
      const given = Array.isArray(value) ? value.length > 0 : typeof value === 'object' ? Object.keys(value).length > 0 : value !== undefined;
      if (given) ctx.addIssue({ code: 'custom', path: [key], message: 'an offline environment starts no server: remove it' });
    }
  });
export type EnvironmentDefinition = z.infer<typeof EnvironmentDefinition>;

/** Picks an environment when the user (login name) or home folder matches; `*` is a wildcard. */
export const EnvironmentRule = z
  .strictObject({
    user: z.string().min(1).optional(),
    home: z.string().min(1).optional(),
    environment: EntryName,
  })
  .refine((rule) => rule.user !== undefined || rule.home !== undefined, {
    error: 'a rule needs `user` or `home` (or both)',
  });
export type EnvironmentRule = z.infer<typeof EnvironmentRule>;

export const EnvironmentsFile = z.strictObject({
  /** Used when nothing else chooses. */
  default: EntryName.optional(),
  /** First match wins; rules of a user file come before the built-in ones. */
  select: z.array(EnvironmentRule).default([]),
  environments: z.record(EntryName, EnvironmentDefinition).default({}),
});
export type EnvironmentsFile = z.infer<typeof EnvironmentsFile>;

export const EnvironmentChoiceReason = z.enum(['--env', 'sweep file', 'KVSWEEP_ENV', 'rule', 'default']);
export type EnvironmentChoiceReason = z.infer<typeof EnvironmentChoiceReason>;

export interface EnvironmentChoiceInput {
  /** `--env` on the command line. */
  flag?: string | undefined;
  /** `environment:` in the sweep file. */
  sweep?: string | undefined;
  /** The KVSWEEP_ENV variable. */
  variable?: string | undefined;
  user?: string | undefined;
  home?: string | undefined;
  rules: readonly EnvironmentRule[];
  fallback?: string | undefined;
}

function globMatches(pattern: string, value: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`).test(value);
}

/**
 * Which environment a sweep runs in, and why. Order: `--env`, the sweep's `environment:` (a sweep
 * that pins one, like the demo on `sim`, must not be redirected by a shell variable), KVSWEEP_ENV,
 * the first matching user/home rule, the default. Returns undefined when nothing chooses.
 */
export function chooseEnvironment(input: EnvironmentChoiceInput): { name: string; reason: EnvironmentChoiceReason } | undefined {
  if (input.flag) return { name: input.flag, reason: '--env' };
  if (input.sweep) return { name: input.sweep, reason: 'sweep file' };
  if (input.variable) return { name: input.variable, reason: 'KVSWEEP_ENV' };
  for (const rule of input.rules) {
    const userOk = rule.user === undefined || (input.user !== undefined && globMatches(rule.user, input.user));
    const homeOk = rule.home === undefined || (input.home !== undefined && globMatches(rule.home, input.home));
    if (userOk && homeOk) return { name: rule.environment, reason: 'rule' };
  }
  if (input.fallback) return { name: input.fallback, reason: 'default' };
  return undefined;
}
