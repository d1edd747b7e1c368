// Sweeps driven from the real `temporal` CLI binary: the README's recipes, run as written (with
// this test's sweep id and YAML path), against a real worker process.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseShell } from 'shell-quote';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporalBinary } from '../../client/dev-server.ts';
import { projectRoot } from '../../platform/paths.ts';
import { freePortRange } from '../support/ports.ts';
import { markedProcesses, startWorker, type TestProcess } from '../support/processes.ts';
import { writeSweepFile } from '../support/sweeps.ts';
import { useTemporal, type TestTemporal } from '../support/temporal.ts';

const run = promisify(execFile);
let temporal: TestTemporal;
let worker: TestProcess;
const gpuClass = `cli-${process.pid}`;
const hostId = `cli-host-${process.pid}`;

beforeAll(async () => {
  temporal = await useTemporal({ shared: true });
  worker = await startWorker({ address: temporal.address, hostId, gpus: 2, gpuClass, portBase: await freePortRange(200) });
});
afterAll(async () => {
  await worker?.kill('SIGTERM');
  await temporal?.close();
});

/** The README's recipe commands, each as an argv (continuation lines joined, comments dropped). */
function readmeRecipes(): string[][] {
  const readme = readFileSync(join(projectRoot, 'README.md'), 'utf8');
  const block = /<!-- recipes:start -->\s*```bash\n([\s\S]*?)```\s*<!-- recipes:end -->/.exec(readme);
  if (!block) throw new Error('README has no recipes block');
  return block[1]!
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => line.trim() && !line.trim().startsWith('#'))
    .map((line) => parseShell(line).map(String));
}

async function temporalCli(argv: string[]): Promise<string> {
  const [program, ...args] = argv;
  expect(program).toBe('temporal');
  const { stdout } = await run(temporalBinary(), args, { env: { ...process.env, TEMPORAL_ADDRESS: temporal.address }, maxBuffer: 16 << 20 });
  return stdout;
}

function substitute(argv: string[], values: Record<string, string>): string[] {
  return argv.map((arg) => Object.entries(values).reduce((text, [from, to]) => text.split(from).join(to), arg));
}

describe('the README recipes with the real temporal CLI', () => {
  it('start, query progress, list experiments by search attribute, wait for the result', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvsweep-cli-'));
    const yaml = writeSweepFile({ tag: 'cli', dir, gpuClass, cacheSizes: [0.001, 0.05] });
    const sweepId = `sweep/cli/${Date.now()}`;
    const [start, query, list, result, cancel] = readmeRecipes().map((argv) =>
      substitute(argv, { 'sweep/my-tag/2026-11-28': sweepId, '/data/sweeps/my-sweep.yaml': yaml }),
    );
    expect(cancel?.slice(0, 3)).toEqual(['temporal', 'workflow', 'cancel']);

    await temporalCli(start!);
    let progress: { total: number; phase: string } | undefined;
    for (let i = 0; i < 100 && !(progress && progress.total === 2); i++) {
      const out = await temporalCli(query!).catch(() => '');
      const json = /\{[\s\S]*\}/.exec(out);
      if (json) progress = JSON.parse(json[0]);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(progress?.total).toBe(2);

    const resultText = await temporalCli(result!);
    expect(resultText).toMatch(/"succeeded":\s*2/);
    expect(resultText).toMatch(/"failed":\s*0/);
    // Visibility is eventually consistent: give the list a few seconds.
    let listed = '';
    for (let i = 0; i < 50 && (listed.match(/ExperimentWorkflow/g) ?? []).length < 2; i++) {
      listed = await temporalCli(list!);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect((listed.match(/ExperimentWorkflow/g) ?? []).length).toBe(2);
  });

  it('cancels a running sweep: servers torn down within 10 s, experiments recorded as cancelled', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvsweep-cli-cancel-'));
    // Slow replay (rate 0.2: five times slower than recorded) keeps the experiments running.
    const yaml = writeSweepFile({ tag: 'cancel', dir, gpuClass, cacheSizes: [0.001, 0.05], rates: [0.2] });
    const sweepId = `sweep/cancel/${Date.now()}`;
    const [start, , , , cancel] = readmeRecipes().map((argv) => substitute(argv, { 'sweep/my-tag/2026-11-28': sweepId, '/data/sweeps/my-sweep.yaml': yaml }));
    await temporalCli(start!);
    const handle = temporal.client.workflow.getHandle(sweepId);
    for (let i = 0; i < 300 && markedProcesses(hostId).length < 4; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(markedProcesses(hostId).length).toBeGreaterThanOrEqual(4); // 2 servers + 2 clients
    const cancelledAt = Date.now();
    await temporalCli(cancel!);
    while (markedProcesses(hostId).length > 0 && Date.now() - cancelledAt < 15_000) await new Promise((resolve) => setTimeout(resolve, 100));
    const teardownMs = Date.now() - cancelledAt;
    console.log(`cancel: every server and client gone ${teardownMs} ms after \`temporal workflow cancel\``);
    expect(markedProcesses(hostId)).toEqual([]);
    expect(teardownMs).toBeLessThan(10_000);
    await expect(handle.result()).rejects.toThrow();
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    const summary = JSON.parse(readFileSync(join(dir, 'logs', `cancel_${new Date().toISOString().slice(0, 10)}`, 'summary.json'), 'utf8'));
    expect(summary.map((e: { status: string }) => e.status)).toEqual(['cancelled', 'cancelled']);
  });

  it('fails a sweep whose YAML path is bad with the problem named, and runs nothing', async () => {
    const sweepId = `sweep/bad/${Date.now()}`;
    await temporalCli(['temporal', 'workflow', 'start', '--type', 'SweepWorkflow', '--task-queue', 'kvsweep-control', '--workflow-id', sweepId, '--input', JSON.stringify({ yaml_path: '/nonexistent/sweep.yaml' })]);
    await expect(temporal.client.workflow.getHandle(sweepId).result()).rejects.toMatchObject({ cause: { type: 'ConfigError', message: expect.stringMatching(/nonexistent\/sweep\.yaml.*file not found/s) } });
  });
});
