// Shared by the config tests: hermetic load options (no user files, no KVSWEEP_ENV, a fixed user),
// sweeps given as objects or YAML text, and problems as the one-line texts users see.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, formatProblem } from '../../domain/config/index.ts';
import { planSweep, planSweepObject, type LoadOptions, type ObjectSourceOptions } from '../../config-files/load-sweep.ts';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const TRACE = 'traces/tiny-chat.csv';
export const TRACE_PATH = join(FIXTURES, TRACE);

export const hermetic: LoadOptions = {
  userConfigDir: null,
  variables: {},
  user: 'tester',
  home: '/home/tester',
  cwd: FIXTURES,
};

/** A one-dataset sweep on the fixture trace; `dataset` and `top` add or override keys. */
export function sweepWith(dataset: Record<string, unknown> = {}, top: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model_name: 'qwen-8b',
    experiments: { datasets: [{ path: TRACE, cache_sizes: [10], request_rates: [1], ...dataset }] },
    ...top,
  };
}

export function plan(config: unknown, options: ObjectSourceOptions = {}) {
  return planSweepObject(config, { ...hermetic, baseDir: FIXTURES, sourceName: 'sweep.yaml', ...options });
}

/** The formatted problems of a config that must fail (throws if it does not). */
export async function problemsOf(config: unknown, options: ObjectSourceOptions = {}): Promise<string[]> {
  try {
    await plan(config, options);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map(formatProblem);
    throw error;
  }
  throw new Error('expected a ConfigError');
}

/** A scratch folder, removed by the returned cleanup. */
export function scratchDir(): { dir: string; write: (name: string, text: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'kvsweep-config-'));
  return {
    dir,
    write: (name, text) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export { planSweep };
