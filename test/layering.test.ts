// The layers, checked on the sources: the CLI (client/) sits on top and nothing below imports it;
// domain/ is pure (no Node API, no file access) so workflows and tests use it without processes;
// workflow code imports only Temporal's workflow API and domain/.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../platform/paths.ts';

function sources(folder: string): string[] {
  const dir = join(projectRoot, folder);
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Every import of a file: the specifier and, for a relative one, the top-level folder it reaches. */
function importsOf(file: string): Array<{ specifier: string; folder: string | null }> {
  const code = readFileSync(file, 'utf8');
  return [...code.matchAll(/(?:^|\n)\s*(?:import|export)[^'";]*?from\s*'([^']+)'|import\(\s*'([^']+)'\s*\)/g)].map((m) => {
    const specifier = (m[1] ?? m[2])!;
    if (!specifier.startsWith('.')) return { specifier, folder: null };
    const target = relative(projectRoot, resolve(dirname(file), specifier));
    return { specifier, folder: target.split('/')[0]! };
  });
}

const BELOW_THE_CLI = ['activities', 'workers', 'workflows', 'domain', 'platform', 'config-files', 'simulator', 'loadgen', 'offline', 'report'];

describe('layers', () => {
  it.each(BELOW_THE_CLI)('%s/ imports nothing from client/', (folder) => {
    const offending = sources(folder).flatMap((file) =>
      importsOf(file).filter((i) => i.folder === 'client').map((i) => `${relative(projectRoot, file)} imports ${i.specifier}`),
    );
    expect(offending).toEqual([]);
  });

  it('domain/ uses no Node API and reads no file', () => {
    const offending = sources('domain').flatMap((file) =>
      importsOf(file)
        .filter((i) => i.specifier.startsWith('node:') || (i.folder !== null && i.folder !== 'domain'))
        .map((i) => `${relative(projectRoot, file)} imports ${i.specifier}`),
    );
    expect(offending).toEqual([]);
  });

  it("domain/ reaches no IO through globals either (process, fetch, require, Buffer)", () => {
    const offending = sources('domain').flatMap((file) => {
      const code = readFileSync(file, 'utf8').replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, '');
      return [...code.matchAll(/\b(process\.|fetch\(|require\(|Buffer\.)/g)].map((m) => `${relative(projectRoot, file)} uses ${m[1]}`);
    });
    expect(offending).toEqual([]);
  });

  it("workflows/ import only Temporal's workflow API, domain/ and each other (activities as types)", () => {
    const offending = sources('workflows').flatMap((file) => {
      const code = readFileSync(file, 'utf8');
      return importsOf(file)
        .filter((i) => {
          if (i.specifier === '@temporalio/workflow' || i.folder === 'domain' || i.folder === 'workflows') return false;
          // Activity signatures are imported as types only: erased, never bundled.
          const typeOnly = new RegExp(`import type [^;]*from '${i.specifier.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}'`).test(code);
          return !(typeOnly && i.folder === 'activities');
        })
        .map((i) => `${relative(projectRoot, file)} imports ${i.specifier}`);
    });
    expect(offending).toEqual([]);
  });

  it('platform/ is plumbing: it imports none of the layers above it', () => {
    const above = new Set(['activities', 'workers', 'workflows', 'client', 'report', 'simulator', 'loadgen', 'config-files']);
    const offending = sources('platform').flatMap((file) =>
      importsOf(file).filter((i) => i.folder !== null && above.has(i.folder)).map((i) => `${relative(projectRoot, file)} imports ${i.specifier}`),
    );
    expect(offending).toEqual([]);
  });

  it('only the entry (bin/kvsweep.js) exits the process: everything below returns a code or throws', () => {
    const offending = ['client', ...BELOW_THE_CLI].flatMap((folder) =>
      sources(folder).filter((file) => /\bprocess\.exit\s*\(/.test(readFileSync(file, 'utf8'))).map((file) => relative(projectRoot, file)),
    );
    expect(offending).toEqual([]);
  });
});
