// Records on disk decide what a resume runs: an outcome.json cut short, even one that still says
// "succeeded", is not a success. The resume runs that experiment again, keeps the unreadable file
// beside the new one, and the worker's log names it. A sweep.json that does not parse stops
// `resume DIR` with the file named, before anything starts.
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExperimentOutcome } from '../../domain/records.ts';
import { markedProcesses, runKvsweep } from '../support/processes.ts';
import { writeSweepFile } from '../support/sweeps.ts';
import { useTemporal, type TestTemporal } from '../support/temporal.ts';

let temporal: TestTemporal;
beforeAll(async () => {
  temporal = await useTemporal();
});
afterAll(async () => {
  await temporal?.close();
});

const outcomeText = (resultsDir: string, id: string) => readFileSync(join(resultsDir, id, 'outcome.json'), 'utf8');

describe('a results folder with a damaged record', { timeout: 300_000 }, () => {
  it('reruns experiments whose outcome.json says "succeeded" but is cut short or partial', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvsweep-corrupt-'));
    const home = join(dir, 'home');
    const localHost = `corrupt-local-${process.pid}`;
    const env = { TEMPORAL_ADDRESS: temporal.address, KVSWEEP_HOME: home, KVSWEEP_LOCAL_HOST_ID: localHost };
    const yaml = writeSweepFile({ tag: 'corrupt', dir, cacheSizes: [0.001, 0.01, 0.05] });
    const first = await runKvsweep(['run', '--yaml', yaml, '--gpus', '1', '--sweep-id', `sweep/corrupt/${Date.now()}`], env);
    expect(first.code, first.output).toBe(0);
    const resultsDir = /^Results:\s+(\S+)$/m.exec(first.output)![1]!;
    const ids = (JSON.parse(readFileSync(join(resultsDir, 'sweep.json'), 'utf8')) as { experiment_ids: string[] }).experiment_ids;
    const [damaged, partial, intact] = ids as [string, string, string];

    // A crash while the file was written (or a disk that filled up): the status is there, the rest is not.
    const whole = outcomeText(resultsDir, damaged);
    const cut = whole.slice(0, whole.indexOf('"attempts"'));
    expect(cut).toContain('"status": "succeeded"');
    writeFileSync(join(resultsDir, damaged, 'outcome.json'), cut);
    // Valid JSON, but only part of a record (a hand edit, a tool that wrote its own).
    const partialText = JSON.stringify({ experiment_id: partial, status: 'succeeded', execution_success: true, execution_time_seconds: 1 });
    writeFileSync(join(resultsDir, partial, 'outcome.json'), partialText);
    const intactBefore = { outcome: outcomeText(resultsDir, intact), log: statSync(join(resultsDir, intact, 'server.log')).mtimeMs };

    const resumed = await runKvsweep(['resume', resultsDir, '--gpus', '1'], env);
    expect(resumed.code, resumed.output).toBe(0);
    expect(resumed.output).toMatch(/Successful:\s+3/);
    for (const id of [damaged, partial]) {
      const rerun = ExperimentOutcome.parse(JSON.parse(outcomeText(resultsDir, id)));
      expect(rerun.status).toBe('succeeded');
      expect(rerun.attempts).toHaveLength(1);
      expect(Date.parse(rerun.timestamp)).toBeGreaterThan(Date.parse(JSON.parse(whole).timestamp));
    }
    // Nothing lost: the damaged records stay beside the new ones.
    expect(readFileSync(join(resultsDir, damaged, 'outcome.json.unreadable'), 'utf8')).toBe(cut);
    expect(readFileSync(join(resultsDir, partial, 'outcome.json.unreadable'), 'utf8')).toBe(partialText);
    expect(outcomeText(resultsDir, intact)).toBe(intactBefore.outcome);
    expect(statSync(join(resultsDir, intact, 'server.log')).mtimeMs).toBe(intactBefore.log);
    const workerLog = readFileSync(join(home, 'logs', 'local-worker.log'), 'utf8');
    expect(workerLog).toContain(`${join(resultsDir, damaged, 'outcome.json')} is not valid JSON`);
    expect(workerLog).toContain(`experiment ${damaged} counts as not done and will run again`);
    expect(workerLog).toContain(`${join(resultsDir, partial, 'outcome.json')} does not have the expected shape`);
    expect(markedProcesses(localHost)).toEqual([]);

    // A sweep.json that does not parse: resume says which file, exit 2, nothing started.
    writeFileSync(join(resultsDir, 'sweep.json'), JSON.stringify({ sweep_id: 'x', experiment_ids: ids, resolved: { tag: 3 } }));
    const refused = await runKvsweep(['resume', resultsDir, '--gpus', '1'], env);
    expect(refused.code, refused.output).toBe(2);
    expect(refused.output).toContain(`${join(resultsDir, 'sweep.json')} does not have the expected shape: resolved.tag:`);
    expect(existsSync(join(resultsDir, damaged, 'outcome.json.unreadable'))).toBe(true);
  });
});
