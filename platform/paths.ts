// Where kvsweep's own files are: the installation (for configs and the bin to run), and the
// project-local data folder (.kvsweep: tools, Temporal's SQLite file, caches, worker state).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The argv that runs this kvsweep installation; what `{kvsweep}` in a command template becomes. */
export const kvsweepArgv: string[] = [process.execPath, join(projectRoot, 'bin', 'kvsweep.js')];

/** kvsweep's data folder: KVSWEEP_HOME, else .kvsweep in the installation. */
export function dataDir(): string {
  return process.env.KVSWEEP_HOME ?? join(projectRoot, '.kvsweep');
}
