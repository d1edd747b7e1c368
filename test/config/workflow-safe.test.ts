// expandSweep runs inside Temporal workflow code: it and everything it imports must bundle with
// Temporal's workflow bundler (which rejects Node built-ins), must not pull in the yaml package,
// and must not read the clock or draw random numbers.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { expandSweep, ResolvedSweep } from '../../domain/config/index.ts';
import { plan, sweepWith } from './support.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const CONFIG_DIR = fileURLToPath(new URL('../../domain/config/', import.meta.url));
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

/** The local modules reachable from `entry` through relative imports (type-only ones included). */
function localImports(entry: string, seen = new Set<string>()): Set<string> {
  if (seen.has(entry)) return seen;
  seen.add(entry);
  const source = readFileSync(entry, 'utf8');
  for (const match of source.matchAll(/from '(\.[^']+)'/g)) localImports(resolve(dirname(entry), match[1]!), seen);
  return seen;
}

describe('the pure side of domain/config', () => {
  it('bundles as Temporal workflow code, without the yaml package', async () => {
    const { code } = await bundleWorkflowCode({ workflowsPath: join(FIXTURES, 'workflow-entry.ts'), logger: quiet });
    expect(code).toContain('expandInWorkflow');
    expect(code).not.toMatch(/node_modules\/yaml\//);
  }, 120_000);

  it("kvsweep's workflows bundle without zod (each workflow run evaluates every bundled module again)", async () => {
    const workflows = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));
    const { code } = await bundleWorkflowCode({ workflowsPath: workflows, logger: quiet });
    expect(code).toContain('ExperimentWorkflow');
    expect(code).not.toMatch(/node_modules\/(zod|yaml)\//);
  }, 120_000);

  it('the IO side does not (so the check above can fail)', async () => {
    await expect(
      bundleWorkflowCode({ workflowsPath: join(FIXTURES, 'workflow-entry-with-io.ts'), logger: quiet }),
    ).rejects.toThrow();
  }, 120_000);

  it('reads no clock, no randomness, no process state', () => {
    const modules = [...localImports(join(CONFIG_DIR, 'index.ts'))];
    for (const module of modules) {
      const code = readFileSync(module, 'utf8').replace(/\/\/.*$/gm, '');
      expect(code, module).not.toMatch(/\bDate\b|Math\.random|\bprocess\.|\bBuffer\b|from 'yaml'|from 'node:/);
    }
  });

  it('expands a ResolvedSweep that went through JSON (a workflow input) to the same experiments', async () => {
    const { resolved, experiments } = await plan(sweepWith({ cache_sizes: [1, 2], cache_eviction_strategy: ['lru', 'conversation_aware'] }));
    const roundTripped = ResolvedSweep.parse(JSON.parse(JSON.stringify(resolved)));
    expect(expandSweep(roundTripped)).toEqual(experiments);
    expect(JSON.stringify(resolved).length).toBeLessThan(8_000);
  });
});
