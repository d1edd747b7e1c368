// Where kvsweep's own files are: the installation (for configs and the bin to run), and the
// project-local data folder (.kvsweep: tools, Temporal's SQLite file, caches, worker state).
import { accessSync, constants, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The argv that runs this kvsweep installation; what `{kvsweep}` in a command template becomes. */
export const kvsweepArgv: string[] = [process.execPath, join(projectRoot, 'bin', 'kvsweep.js')];

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where kvsweep's run-time files go (the dev server's database, logs, sweep records, the workflow
 * bundle): KVSWEEP_HOME when set; else .kvsweep in the installation, as long as kvsweep may write
 * there; else ~/.kvsweep (an installation that is read-only, e.g. a system-wide npm install).
 */
export function chooseDataDir(options: { kvsweepHome: string | undefined; installation: string; home: string; installationWritable: boolean }): string {
  if (options.kvsweepHome) return options.kvsweepHome;
  return options.installationWritable ? join(options.installation, '.kvsweep') : join(options.home, '.kvsweep');
}

/** kvsweep's data folder: KVSWEEP_HOME, else .kvsweep in the installation (or ~/.kvsweep if that is read-only). */
export function dataDir(): string {
  const local = join(projectRoot, '.kvsweep');
  // Checked only without KVSWEEP_HOME: .kvsweep itself when it exists, else the folder it would be made in.
  const installationWritable = !process.env.KVSWEEP_HOME && writable(existsSync(local) ? local : projectRoot);
  return chooseDataDir({ kvsweepHome: process.env.KVSWEEP_HOME, installation: projectRoot, home: homedir(), installationWritable });
}
