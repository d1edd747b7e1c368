// Reading a sweep (IO side of the config layer): the sweep YAML or object, the model registry and
// the environments (built-in files, the user's files, command-line files), the environment choice,
// dataset files. Returns a ResolvedSweep that expandSweep turns into experiments with no more IO.
// Every problem found, in any file, is reported at once in one ConfigError.
import { readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExperimentSpec } from '../domain/experiment.ts';
import { expandSweep } from '../domain/config/expand.ts';
import { normaliseSweep } from '../domain/config/normalise.ts';
import { ConfigError, dedupeProblems, didYouMean, type ConfigNotice, type ConfigProblem, type PathSegment } from '../domain/config/problems.ts';
import { chooseEnvironment, type ModelEntry } from '../domain/config/registry.ts';
import { displayPath, resolveDatasetPath, summariseDatasets, type DatasetSummary } from './datasets.ts';
import { loadRegistries, type Registries } from './registry-files.ts';
import type { ResolvedSweep } from '../domain/config/resolved.ts';
import { KeyPlaces, SweepFile } from '../domain/config/schema.ts';
import { checkModelPath } from '../domain/config/templates.ts';
import { parseYamlSource, type Position } from '../domain/config/yaml-source.ts';
import { parseWith } from '../domain/config/zod-issues.ts';

export const BUILTIN_CONFIG_DIR = fileURLToPath(new URL('../configs/', import.meta.url));
/** The kvsweep installation (the folder of package.json). */
export const INSTALLATION_DIR = fileURLToPath(new URL('../', import.meta.url));

/**
 * `{real_servers_dir}`: where scripts/provision-real-servers.sh installs vLLM CPU and
 * llm-d-inference-sim. The script's own rule: KVSWEEP_REAL_SERVERS_DIR, else
 * <installation>/.kvsweep/real-servers (not KVSWEEP_HOME, which the script does not read).
 */
export function realServersDir(variables: Readonly<Record<string, string | undefined>>, cwd: string): string {
  const configured = variables.KVSWEEP_REAL_SERVERS_DIR;
  return configured ? resolve(cwd, configured) : join(INSTALLATION_DIR, '.kvsweep', 'real-servers');
}

export interface LoadOptions {
  /** `--env`: beats every other way of choosing the environment. */
  env?: string | undefined;
  /** `--models FILE`: registry files laid over the built-in and user ones, in order. */
  modelsFiles?: readonly string[] | undefined;
  /** `--environments FILE`: environment files laid over the built-in and user ones, in order. */
  environmentsFiles?: readonly string[] | undefined;
  /** Default process.cwd(): base of log_base_dir and of files given on the command line. */
  cwd?: string | undefined;
  /** Default process.env: KVSWEEP_ENV, XDG_CONFIG_HOME, KVSWEEP_REAL_SERVERS_DIR. */
  variables?: Readonly<Record<string, string | undefined>> | undefined;
  /** Login name and home folder for the environment rules; default: this process's user. */
  user?: string | undefined;
  home?: string | undefined;
  /** Folder of the built-in models.yaml / environments.yaml. */
  builtinConfigDir?: string | undefined;
  /**
   * The user's folder of models.yaml / environments.yaml (each optional). Default
   * $XDG_CONFIG_HOME/kvsweep or ~/.config/kvsweep; null to read none.
   */
  userConfigDir?: string | null | undefined;
}

export interface ObjectSourceOptions extends LoadOptions {
  /** Name used for the config in messages. */
  sourceName?: string | undefined;
  /** Base of relative dataset paths; default cwd. */
  baseDir?: string | undefined;
}

export { displayPath } from './datasets.ts';

type Locator = (path: readonly PathSegment[]) => Position | undefined;

/** Adds line:column where the source text is known, and puts problems (or notices) in file and line order. */
function withPositions<T extends ConfigNotice>(problems: readonly T[], locators: ReadonlyMap<string, Locator>): T[] {
  const located = dedupeProblems(problems).map((problem) => {
    // The whole file (path []) has no useful position: "file not found", "unknown --env".
    if (problem.line !== undefined || problem.path.length === 0) return problem;
    const position = locators.get(problem.file)?.(problem.path);
    return position ? { ...problem, ...position } : problem;
  });
  const files = [...new Set(located.map((p) => p.file))];
  return located
    .map((problem, order) => ({ problem, order }))
    .sort(
      (a, b) =>
        files.indexOf(a.problem.file) - files.indexOf(b.problem.file) ||
        (a.problem.line ?? 0) - (b.problem.line ?? 0) ||
        (a.problem.column ?? 0) - (b.problem.column ?? 0) ||
        a.order - b.order,
    )
    .map(({ problem }) => problem);
}

interface Source {
  /** Name in messages. */
  file: string;
  /** Absolute path, null for an object. */
  absolute: string | null;
  data: unknown;
  baseDir: string;
  locate?: Locator;
}

/** What planning a sweep gives: the resolved sweep, its experiments, notices, and its dataset files. */
export interface SweepPlan {
  resolved: ResolvedSweep;
  experiments: ExperimentSpec[];
  /** Also in resolved.notices (sweep.json keeps them). */
  notices: ConfigNotice[];
  datasets: DatasetSummary[];
}

/** Reads, validates and resolves a sweep YAML file. Throws ConfigError listing every problem. */
export async function loadSweep(yamlPath: string, options: LoadOptions = {}): Promise<ResolvedSweep> {
  return (await planSweep(yamlPath, options)).resolved;
}

/** loadSweep, plus the expanded experiments, notices and datasets (what `plan` and `run` show). */
export async function planSweep(yamlPath: string, options: LoadOptions = {}): Promise<SweepPlan> {
  const cwd = options.cwd ?? process.cwd();
  const absolute = resolve(cwd, yamlPath);
  const file = displayPath(absolute, cwd);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory' : `cannot read it (${code})`;
    throw new ConfigError([{ file, path: [], message: why }]);
  }
  const source = parseYamlSource(text, file);
  if (source.problems.length > 0) throw new ConfigError(withPositions(source.problems, new Map()));
  const baseDir = resolve(absolute, '..');
  return resolveSource({ file, absolute, data: source.data, baseDir, locate: source.locate }, options);
}

/**
 * Resolves a sweep given as an object (e.g. JSON passed to `temporal workflow start`). Relative
 * dataset paths are taken from `baseDir` (default: the current directory).
 */
export async function resolveSweepObject(config: unknown, options: ObjectSourceOptions = {}): Promise<ResolvedSweep> {
  return (await planSweepObject(config, options)).resolved;
}

export async function planSweepObject(config: unknown, options: ObjectSourceOptions = {}): Promise<SweepPlan> {
  const cwd = options.cwd ?? process.cwd();
  const file = options.sourceName ?? '<sweep config>';
  return resolveSource({ file, absolute: null, data: config, baseDir: resolve(cwd, options.baseDir ?? '.') }, options);
}

function defaultUserConfigDir(variables: Readonly<Record<string, string | undefined>>, home: string): string {
  return join(variables.XDG_CONFIG_HOME || join(home, '.config'), 'kvsweep');
}

async function resolveSource(source: Source, options: LoadOptions): Promise<SweepPlan> {
  const cwd = options.cwd ?? process.cwd();
  const variables = options.variables ?? process.env;
  const home = options.home ?? variables.HOME ?? homedir();
  const user = options.user ?? variables.USER ?? safeUserName();
  const locators = new Map<string, Locator>();
  if (source.locate) locators.set(source.file, source.locate);
  const fail = (problems: ConfigProblem[]): never => {
    throw new ConfigError(withPositions(problems, locators));
  };

  const userDir = options.userConfigDir === undefined ? defaultUserConfigDir(variables, home) : options.userConfigDir;
  const registries: Registries = loadRegistries({
    builtinDir: options.builtinConfigDir ?? BUILTIN_CONFIG_DIR,
    userDir,
    modelsFiles: (options.modelsFiles ?? []).map((f) => resolve(cwd, f)),
    environmentsFiles: (options.environmentsFiles ?? []).map((f) => resolve(cwd, f)),
    display: (absolute) => displayPath(absolute, cwd),
  });
  for (const [file, locate] of registries.locators) locators.set(file, locate);

  const parsed = parseWith(SweepFile, withoutAnchorKeys(source.data), { file: source.file, keyPlaces: KeyPlaces });
  const problems = [...registries.problems, ...(parsed.ok ? [] : parsed.problems)];
  if (!parsed.ok) return fail(problems);
  const sweep = parsed.value;

  const choice = chooseEnvironment({
    flag: options.env,
    sweep: sweep.environment,
    variable: variables.KVSWEEP_ENV,
    user,
    home,
    rules: registries.environments.select.map((r) => r.rule),
    fallback: registries.environments.default?.name,
  });
  const known = Object.keys(registries.environments.definitions).sort();
  const definition = choice ? registries.environments.definitions[choice.name] : undefined;
  if (!choice || !definition) {
    problems.push(environmentProblem(source.file, choice, registries, known));
    return fail(problems);
  }
  if (problems.length > 0) return fail(problems);

  for (const [name, entry] of Object.entries(sweep.models ?? {})) {
    for (const [environment, path] of Object.entries(entry.paths)) {
      if (!registries.environments.definitions[environment]) {
        problems.push({
          file: source.file,
          path: ['models', name, 'paths', environment],
          message: `unknown environment '${environment}'`,
          suggestions: didYouMean(environment, known),
        });
      }
      for (const message of checkModelPath(path)) problems.push({ file: source.file, path: ['models', name, 'paths', environment], message });
    }
  }
  if (problems.length > 0) return fail(problems);
  const registry: Record<string, ModelEntry> = { ...registries.models, ...(sweep.models ?? {}) };
  const normalised = normaliseSweep({
    file: source.file,
    sweep,
    registry,
    environment: { name: choice.name, chosen_by: choice.reason, definition },
    resolveDatasetPath: (raw) => resolveDatasetPath(raw, source.baseDir, cwd),
  });
  if (normalised.problems.length > 0) return fail(normalised.problems);
  const datasets = await summariseDatasets(source.file, normalised.datasets, (absolute) => displayPath(absolute, cwd));
  if (datasets.problems.length > 0) return fail(datasets.problems);
  const notices = withPositions(normalised.notices, locators);

  const resolved: ResolvedSweep = {
    tag: sweep.tag,
    log_base_dir: resolve(cwd, sweep.log_base_dir),
    source_file: source.absolute,
    environment: { name: choice.name, chosen_by: choice.reason, definition },
    models: normalised.models,
    datasets: normalised.datasets,
    installation: { real_servers_dir: realServersDir(variables, cwd) },
    ...(notices.length > 0 ? { notices } : {}),
  };
  try {
    // The schema check the workflow-side expansion leaves out (it sees only what passed here).
    const experiments = expandSweep(resolved).map((spec) => ExperimentSpec.parse(spec));
    return { resolved, experiments, notices, datasets: datasets.summaries };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // expandSweep names the file by its absolute path (or a pseudo name): show the user's name.
    return fail(error.problems.map((p) => ({ ...p, file: source.file })));
  }
}

/**
 * Top-level keys starting with `x-` hold YAML anchors to reuse (`x-common: &common {...}`, then
 * `<<: *common`), as in Compose files; they are not settings, so they are left out of validation.
 */
function withoutAnchorKeys(data: unknown): unknown {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return data;
  return Object.fromEntries(Object.entries(data).filter(([key]) => !key.startsWith('x-')));
}

function safeUserName(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

function environmentProblem(
  sweepFile: string,
  choice: ReturnType<typeof chooseEnvironment>,
  registries: Registries,
  known: string[],
): ConfigProblem {
  const listing = `known environments: ${known.join(', ')}`;
  if (!choice) {
    return { file: sweepFile, path: [], message: 'no environment chosen: use --env, environment:, KVSWEEP_ENV or a default', hint: listing };
  }
  const suggestions = didYouMean(choice.name, known);
  const base = { message: `unknown environment '${choice.name}'`, suggestions, hint: listing };
  switch (choice.reason) {
    case 'sweep file':
      return { file: sweepFile, path: ['environment'], ...base };
    case 'rule': {
      const rule = registries.environments.select.find((r) => r.rule.environment === choice.name);
      return { file: rule?.file ?? sweepFile, path: rule?.path ?? [], ...base };
    }
    case 'default': {
      const fallback = registries.environments.default;
      return { file: fallback?.file ?? sweepFile, path: ['default'], ...base };
    }
    default:
      return { file: sweepFile, path: [], ...base, message: `unknown environment '${choice.name}' (given by ${choice.reason})` };
  }
}
