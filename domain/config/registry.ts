// The model registry and the environments: their file formats (zod, the only definition) and the
// pure rule that picks an environment. Files: configs/models.yaml, configs/environments.yaml, and
// the user's own files of the same shape. Pure: workflow code reaches this through expand.ts.
import { z } from 'zod';
import { EvictionStrategy } from '../experiment.ts';

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

/**
 * How to start a server. `command` and `wrapper` are argv templates (never given to a shell);
 * `env` is added to the worker's environment; `strategy_env` adds variables only for experiments
 * of that eviction strategy. Placeholders: see domain/config/templates.ts.
 */
export const EnvironmentDefinition = z.strictObject({
  description: z.string().optional(),
  /** Prepended to the command, e.g. [conda, run, --no-capture-output, -n, lmcache]. */
  wrapper: z.array(z.string()).default([]),
  command: z.array(z.string()).min(1),
  env: EnvVars.default({}),
  strategy_env: z.partialRecord(EvictionStrategy, EnvVars).default({}),
  /** The eviction strategies this server can run; others are a config error, not a silent lru. */
  strategies: z.array(EvictionStrategy).min(1),
  ready_pattern: z.string().min(1).refine(isValidRegex, { error: 'is not a valid regular expression' }),
  /** Seconds the server may take to become ready. */
  ready_timeout: z.number().positive(),
  health_path: z.string().startsWith('/').default('/health'),
  /** Tokens per KV-cache block of this server: `{block_size}`, and the unit of `{cache_size_blocks}`. */
  block_size: z.number().int().positive().optional(),
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
