// Provisions the Python that trains LightGBM scorers: a venv with PyPI's `lightgbm` (pinned in
// requirements.txt next to this file) under <data dir>/tools/. Cached (a stamp holds the recipe:
// requirements and Python version) and idempotent; concurrent callers wait on one lock file.
// KVSWEEP_LIGHTGBM_PYTHON names a Python that already has lightgbm (no venv is made);
// KVSWEEP_PYTHON the Python that creates the venv (default python3).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { UserError } from '../../domain/errors.ts';
import { dataDir } from '../../platform/paths.ts';
import { tailLines } from '../../platform/files.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const REQUIREMENTS_PATH = join(here, 'requirements.txt');
export const TRAIN_SCRIPT_PATH = join(here, 'train_scorer.py');

export interface LightgbmPython {
  python: string;
  lightgbmVersion: string;
  source: 'venv' | 'KVSWEEP_LIGHTGBM_PYTHON';
}

/** LightGBM could not be made available; the message says which step failed and where its log is. */
export class LightgbmUnavailableError extends UserError {
  override name = 'LightgbmUnavailableError';
  constructor(message: string) {
    super(`LightGBM is not available: ${message}`, 1);
  }
}

async function lightgbmVersion(python: string): Promise<string | undefined> {
  const r = await execa(python, ['-c', 'import lightgbm, numpy; print(lightgbm.__version__)'], { reject: false, timeout: 120_000 });
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

/** Runs one provisioning step with its output in `log`; on failure, the error names the step and the log's tail. */
async function step(what: string, file: string, args: string[], log: string): Promise<void> {
  const r = await execa(file, args, { reject: false, all: true, env: { PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_ROOT_USER_ACTION: 'ignore' } });
  await writeFile(log, r.all ?? '');
  if (r.exitCode !== 0) {
    const tail = (await tailLines(log, 15)).join('\n');
    throw new LightgbmUnavailableError(`${what} failed (${[file, ...args].join(' ')}: ${r.failed && r.exitCode === undefined ? r.shortMessage : `exit ${r.exitCode}`}); log ${log}:\n${tail}`);
  }
}

/** Takes an exclusive lock file; waits while a live process holds it, takes over a dead one's. */
async function withLock<T>(path: string, body: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (holder > 0 && !isAlive(holder)) await rm(path, { force: true });
      else if (Date.now() > deadline) throw new LightgbmUnavailableError(`timed out waiting for ${path} (held by pid ${holder})`);
      else await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    return await body();
  } finally {
    await rm(path, { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The venv's folder for this recipe (requirements and base Python version). */
async function recipe(basePython: string): Promise<{ dir: string; key: string }> {
  const r = await execa(basePython, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { reject: false });
  if (r.exitCode !== 0) {
    throw new LightgbmUnavailableError(`'${basePython}' does not run (${r.shortMessage}); set KVSWEEP_PYTHON to a Python 3.11 or newer`);
  }
  const requirements = readFileSync(REQUIREMENTS_PATH, 'utf8');
  const key = `python${r.stdout.trim()} ${createHash('sha256').update(requirements).digest('hex').slice(0, 16)}`;
  return { dir: join(dataDir(), 'tools', `lightgbm-${key.replace(' ', '-')}`), key };
}

/** A Python with `lightgbm` importable, provisioning the venv on first use (minutes; cached after). */
export async function provisionLightgbm(log: (line: string) => void = () => {}): Promise<LightgbmPython> {
  const given = process.env.KVSWEEP_LIGHTGBM_PYTHON;
  if (given) {
    const version = await lightgbmVersion(given);
    if (!version) throw new LightgbmUnavailableError(`KVSWEEP_LIGHTGBM_PYTHON=${given} cannot import lightgbm and numpy`);
    return { python: given, lightgbmVersion: version, source: 'KVSWEEP_LIGHTGBM_PYTHON' };
  }
  const basePython = process.env.KVSWEEP_PYTHON ?? 'python3';
  const { dir, key } = await recipe(basePython);
  const python = join(dir, 'venv', 'bin', 'python');
  const stampPath = join(dir, 'stamp');
  const ready = async () => existsSync(stampPath) && (await readFile(stampPath, 'utf8')).trim() === key && (await lightgbmVersion(python));
  const cached = await ready();
  if (cached) return { python, lightgbmVersion: cached, source: 'venv' };
  await mkdir(dirname(dir), { recursive: true });
  return withLock(`${dir}.lock`, async () => {
    const again = await ready();
    if (again) return { python, lightgbmVersion: again, source: 'venv' };
    log(`installing LightGBM (${REQUIREMENTS_PATH}) into ${dir}`);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await step('creating the venv', basePython, ['-m', 'venv', join(dir, 'venv')], join(dir, 'venv.log'));
    await step('pip install', python, ['-m', 'pip', 'install', '--quiet', '-r', REQUIREMENTS_PATH], join(dir, 'pip.log'));
    const version = await lightgbmVersion(python);
    if (!version) throw new LightgbmUnavailableError(`installed into ${dir}, but '${python}' cannot import lightgbm`);
    await writeFile(stampPath, `${key}\n`);
    log(`LightGBM ${version} ready: ${python}`);
    return { python, lightgbmVersion: version, source: 'venv' as const };
  });
}
