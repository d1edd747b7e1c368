// The workflow bundle, built once per version of the workflow sources and cached on disk: a worker
// that restarts (after a crash, or in the chaos test) is polling again in a second, not after a
// fresh webpack build.
import { bundleWorkflowCode } from '@temporalio/worker';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataDir, projectRoot } from '../platform/paths.ts';

const SOURCE_FOLDERS = ['workflows', 'domain'];

function sourceHash(): string {
  const hash = createHash('sha256');
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.name.endsWith('.ts')) hash.update(path).update(readFileSync(path));
    }
  };
  for (const folder of SOURCE_FOLDERS) visit(join(projectRoot, folder));
  hash.update(readFileSync(join(projectRoot, 'package-lock.json')));
  return hash.digest('hex').slice(0, 16);
}

/** Path of the bundled workflow code, building it when the sources changed. */
export async function workflowBundlePath(): Promise<string> {
  // Under KVSWEEP_HOME: the installation folder may be read-only.
  const dir = join(dataDir(), 'cache');
  const path = join(dir, `workflow-bundle-${sourceHash()}.js`);
  if (existsSync(path)) return path;
  const { code } = await bundleWorkflowCode({
    workflowsPath: join(projectRoot, 'workflows', 'index.ts'),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error },
  });
  mkdirSync(dir, { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, code);
  renameSync(temporary, path);
  return path;
}
