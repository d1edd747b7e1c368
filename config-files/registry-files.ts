// Reading the model registry and environment files: the built-in ones (configs/), the user's
// (~/.config/kvsweep/), then the ones named on the command line. A later file's entry replaces an
// earlier one of the same name whole; a later file's rules are tried before an earlier file's.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { didYouMean, type ConfigProblem, type PathSegment } from '../domain/config/problems.ts';
import { EnvironmentsFile, ModelsFile, type EnvironmentDefinition, type EnvironmentRule, type ModelEntry } from '../domain/config/registry.ts';
import { checkModelPath, checkTemplate } from '../domain/config/templates.ts';
import { parseYamlSource, type Position } from '../domain/config/yaml-source.ts';
import { parseWith } from '../domain/config/zod-issues.ts';

type Locator = (path: readonly PathSegment[]) => Position | undefined;

export interface Registries {
  models: Record<string, ModelEntry>;
  environments: {
    definitions: Record<string, EnvironmentDefinition>;
    select: Array<{ rule: EnvironmentRule; file: string; path: PathSegment[] }>;
    default?: { name: string; file: string };
  };
  problems: ConfigProblem[];
  /** Display name -> locator, to give problems a line and column. */
  locators: Map<string, Locator>;
}

export interface RegistryFiles {
  builtinDir: string;
  userDir: string | null;
  modelsFiles: readonly string[];
  environmentsFiles: readonly string[];
  display: (absolute: string) => string;
}

function readYaml(absolute: string, file: string, registries: Registries): unknown {
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    registries.problems.push({ file, path: [], message: code === 'ENOENT' ? 'file not found' : `cannot read it (${code})` });
    return undefined;
  }
  const source = parseYamlSource(text, file);
  registries.locators.set(file, source.locate);
  registries.problems.push(...source.problems);
  return source.problems.length > 0 ? undefined : source.data;
}

function checkEnvironmentTemplates(file: string, name: string, definition: EnvironmentDefinition): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const check = (template: string, path: PathSegment[]) => {
    for (const message of checkTemplate(template, 'server')) problems.push({ file, path, message });
  };
  const base: PathSegment[] = ['environments', name];
  definition.wrapper.forEach((t, i) => check(t, [...base, 'wrapper', i]));
  definition.command.forEach((t, i) => check(t, [...base, 'command', i]));
  definition.quantization_args?.forEach((t, i) => check(t, [...base, 'quantization_args', i]));
  for (const [key, value] of Object.entries(definition.env)) check(value, [...base, 'env', key]);
  for (const [strategy, vars] of Object.entries(definition.strategy_env)) {
    for (const [key, value] of Object.entries(vars ?? {})) check(value, [...base, 'strategy_env', strategy, key]);
  }
  if (definition.lmcache_stats_url !== undefined) check(definition.lmcache_stats_url, [...base, 'lmcache_stats_url']);
  return problems;
}

export function loadRegistries(files: RegistryFiles): Registries {
  const registries: Registries = {
    models: {},
    environments: { definitions: {}, select: [] },
    problems: [],
    locators: new Map(),
  };
  const optional = (name: string) => (files.userDir && existsSync(join(files.userDir, name)) ? [join(files.userDir, name)] : []);
  const modelFiles = [join(files.builtinDir, 'models.yaml'), ...optional('models.yaml'), ...files.modelsFiles];
  const environmentFiles = [join(files.builtinDir, 'environments.yaml'), ...optional('environments.yaml'), ...files.environmentsFiles];
  const modelOrigins: Record<string, { file: string }> = {};

  for (const absolute of modelFiles) {
    const file = files.display(absolute);
    const data = readYaml(absolute, file, registries);
    if (data === undefined) continue;
    const parsed = parseWith(ModelsFile, data, { file });
    if (!parsed.ok) {
      registries.problems.push(...parsed.problems);
      continue;
    }
    for (const [name, entry] of Object.entries(parsed.value.models)) {
      registries.models[name] = entry;
      modelOrigins[name] = { file };
    }
  }

  for (const absolute of environmentFiles) {
    const file = files.display(absolute);
    const data = readYaml(absolute, file, registries);
    if (data === undefined) continue;
    const parsed = parseWith(EnvironmentsFile, data, { file });
    if (!parsed.ok) {
      registries.problems.push(...parsed.problems);
      continue;
    }
    const { environments, select } = parsed.value;
    for (const [name, definition] of Object.entries(environments)) {
      registries.problems.push(...checkEnvironmentTemplates(file, name, definition));
      registries.environments.definitions[name] = definition;
    }
    registries.environments.select.unshift(...select.map((rule, i) => ({ rule, file, path: ['select', i] as PathSegment[] })));
    if (parsed.value.default) registries.environments.default = { name: parsed.value.default, file };
  }

  // References between the files, checked once everything is merged.
  const known = Object.keys(registries.environments.definitions).sort();
  for (const { rule, file, path } of registries.environments.select) {
    if (!registries.environments.definitions[rule.environment]) {
      registries.problems.push({
        file,
        path: [...path, 'environment'],
        message: `unknown environment '${rule.environment}'`,
        suggestions: didYouMean(rule.environment, known),
      });
    }
  }
  for (const [name, entry] of Object.entries(registries.models)) {
    for (const [environment, path] of Object.entries(entry.paths)) {
      const where = { file: modelOrigins[name]!.file, path: ['models', name, 'paths', environment] };
      if (!registries.environments.definitions[environment]) {
        registries.problems.push({ ...where, message: `unknown environment '${environment}'`, suggestions: didYouMean(environment, known) });
      }
      for (const message of checkModelPath(path)) registries.problems.push({ ...where, message });
    }
  }
  return registries;
}
