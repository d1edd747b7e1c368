// What a person sees in a terminal: `run` draws a live progress bar on a TTY (here a real
// pseudo-terminal from util-linux `script`), and prints only the summary when piped; `status`
// prints a table, or JSON with --json.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePortRange } from '../support/ports.ts';
import { KVSWEEP_BIN, runKvsweep, startWorker, type TestProcess } from '../support/processes.ts';
import { writeSweepFile } from '../support/sweeps.ts';
import { useTemporal, type TestTemporal } from '../support/temporal.ts';

const run = promisify(execFile);
let temporal: TestTemporal;
let worker: TestProcess;
const gpuClass = `tty-${process.pid}`;

beforeAll(async () => {
  temporal = await useTemporal({ shared: true });
  worker = await startWorker({ address: temporal.address, hostId: `tty-${process.pid}`, gpus: 2, gpuClass, portBase: await freePortRange(200) });
});
afterAll(async () => {
  await worker?.kill('SIGTERM');
  await temporal?.close();
});

/** Quotes one argument for the `script -c` command line (test-made paths, never user input). */
const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

describe('the terminal', { timeout: 180_000 }, () => {
  it('shows a live progress bar on a TTY, and only the summary when piped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvsweep-tty-'));
    const yaml = writeSweepFile({ tag: 'tty', dir, gpuClass, cacheSizes: [0.001, 0.01, 0.05] });
    const env = { ...process.env, TEMPORAL_ADDRESS: temporal.address, KVSWEEP_HOME: join(dir, 'home') };
    const command = [process.execPath, KVSWEEP_BIN, 'run', '--yaml', yaml, '--sweep-id', `sweep/tty/${Date.now()}`].map(quote).join(' ');
    const { stdout } = await run('script', ['-qefc', command, '/dev/null'], { env, maxBuffer: 16 << 20 });
    expect(stdout).toMatch(/\d\/3 done \| 0 failed \| \d running \| \d waiting \| ETA/);
    expect(stdout).toContain('3/3 done');
    expect(stdout).toMatch(/Successful:\s+3/);

    // Piped, one experiment is enough to see that no bar is drawn.
    const pipedYaml = writeSweepFile({ tag: 'tty-piped', dir: join(dir, 'piped'), gpuClass, cacheSizes: [0.001] });
    const piped = await runKvsweep(['run', '--yaml', pipedYaml, '--sweep-id', `sweep/tty-piped/${Date.now()}`], { TEMPORAL_ADDRESS: temporal.address, KVSWEEP_HOME: join(dir, 'home2') });
    expect(piped.code, piped.output).toBe(0);
    expect(piped.output).not.toMatch(/done \|/);
    expect(piped.output).toMatch(/Successful:\s+1/);
  });

  it('status prints a table, or JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvsweep-status-'));
    const yaml = writeSweepFile({ tag: 'status', dir, gpuClass, cacheSizes: [0.001, 0.01] });
    const sweepId = `sweep/status/${Date.now()}`;
    const env = { TEMPORAL_ADDRESS: temporal.address, KVSWEEP_HOME: join(dir, 'home') };
    expect((await runKvsweep(['run', '--yaml', yaml, '--sweep-id', sweepId, '--detach'], env)).code).toBe(0);
    const running = await runKvsweep(['status', sweepId], env);
    expect(running.code, running.output).toBe(0);
    expect(running.output).toMatch(/state\s*│\s*RUNNING/);
    expect(running.output).toMatch(/experiments\s*│\s*2/);
    await temporal.client.workflow.getHandle(sweepId).result();
    const done = await runKvsweep(['status', sweepId, '--json'], env);
    const status = JSON.parse(done.output);
    expect(status.state).toBe('COMPLETED');
    expect(status.result.counts).toMatchObject({ total: 2, succeeded: 2, failed: 0 });
    const missing = await runKvsweep(['status', 'sweep/none/never'], env);
    expect(missing.code).toBe(2);
    expect(missing.output).toContain("no sweep 'sweep/none/never'");
  });
});
