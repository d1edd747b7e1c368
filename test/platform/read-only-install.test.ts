// An installation folder may be read-only (a system-wide npm install, a container image): every
// file kvsweep writes at run time goes under KVSWEEP_HOME (or the results folder the sweep names).
// A private copy of the installation runs plan, a sweep with its local worker (which bundles the
// workflow code), status and report; afterwards not one file or folder of the copy has changed.
// The copy is also made read-only, which stops a non-root user's stray write at once (root writes
// anyway: the comparison is what holds for everyone).
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { projectRoot } from '../../platform/paths.ts';
import { execFile } from 'node:child_process';
import { markedProcesses } from '../support/processes.ts';
import { writeSweepFile } from '../support/sweeps.ts';
import { useTemporal, type TestTemporal } from '../support/temporal.ts';

/** What is not part of an installation (development files), or is shared rather than copied. */
const NOT_COPIED = new Set(['.git', 'node_modules', '.kvsweep', 'logs', 'coverage', 'test', 'bench', 'docs']);

/** Every path under root with its size, mtime and mode (symlinks not followed). */
function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const stat = lstatSync(path);
      out.set(relative(root, path), `${stat.size} ${stat.mtimeMs} ${stat.mode}`);
      if (stat.isDirectory()) visit(path);
    }
  };
  visit(root);
  return out;
}

function setWritable(root: string, writable: boolean): void {
  const visit = (path: string) => {
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) return;
    chmodSync(path, writable ? stat.mode | 0o200 : stat.mode & ~0o222);
    if (stat.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
  };
  visit(root);
}

let temporal: TestTemporal;
let install: string;
beforeAll(async () => {
  temporal = await useTemporal();
  install = join(mkdtempSync(join(tmpdir(), 'kvsweep-ro-')), 'kvsweep');
  mkdirSync(install);
  for (const name of readdirSync(projectRoot)) {
    if (!NOT_COPIED.has(name)) cpSync(join(projectRoot, name), join(install, name), { recursive: true });
  }
  symlinkSync(join(projectRoot, 'node_modules'), join(install, 'node_modules'));
  // What `npm install` leaves in an installation: the record of the provisioned Temporal CLI.
  const tools = join(projectRoot, '.kvsweep', 'tools', 'temporal.json');
  if (existsSync(tools)) cpSync(tools, join(install, '.kvsweep', 'tools', 'temporal.json'));
});
afterAll(async () => {
  if (install) setWritable(install, true);
  await temporal?.close();
});

it('runs a sweep, its status and its report without writing into the installation', async () => {
  const work = mkdtempSync(join(tmpdir(), 'kvsweep-ro-work-'));
  const home = join(work, 'home');
  const yaml = writeSweepFile({ tag: 'readonly', dir: work, cacheSizes: [0.01] });
  const localHost = `ro-local-${process.pid}`;
  const env = { TEMPORAL_ADDRESS: temporal.address, KVSWEEP_HOME: home, KVSWEEP_LOCAL_HOST_ID: localHost };
  // The copy's own entry, from a folder of the user's: nothing resolves to the real installation.
  const kvsweep = (args: string[]) =>
    new Promise<{ code: number | null; output: string }>((resolve) => {
      execFile(process.execPath, [join(install, 'bin', 'kvsweep.js'), ...args], { cwd: work, env: { ...process.env, ...env }, timeout: 300_000 }, (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, output: stdout + stderr });
      });
    });
  setWritable(install, false);
  const before = snapshot(install);

  const plan = await kvsweep(['plan', '--yaml', yaml]);
  expect(plan.code, plan.output).toBe(0);
  const sweepId = `sweep/readonly/${Date.now()}`;
  const run = await kvsweep(['run', '--yaml', yaml, '--gpus', '1', '--sweep-id', sweepId]);
  expect(run.code, run.output).toBe(0);
  expect(run.output).toMatch(/Successful:\s+1/);
  const resultsDir = /^Results:\s+(\S+)$/m.exec(run.output)![1]!;
  expect(resultsDir.startsWith(join(work, 'logs'))).toBe(true);
  const status = await kvsweep(['status', sweepId]);
  expect(status.code, status.output).toBe(0);
  const report = await kvsweep(['report', resultsDir]);
  expect(report.code, report.output).toBe(0);

  expect(snapshot(install)).toEqual(before);
  // Where the run-time files went instead.
  expect(readdirSync(join(home, 'cache')).some((name) => /^workflow-bundle-[0-9a-f]+\.js$/.test(name))).toBe(true);
  expect(readdirSync(join(home, 'sweeps'))).toEqual([`${encodeURIComponent(sweepId)}.json`]);
  expect(existsSync(join(home, 'logs', 'local-worker.log'))).toBe(true);
  expect(markedProcesses(localHost)).toEqual([]);
}, 600_000);
