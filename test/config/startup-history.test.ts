// Finding earlier start-up times for `plan` (config-files/startup-history.ts): results folders named
// by this machine's sweep records and found under log_base_dir, real files, an unreadable one skipped.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planSweep } from '../../config-files/load-sweep.ts';
import { readStartupHistory, resultsFolders } from '../../config-files/startup-history.ts';
import type { ExperimentOutcome, SweepRecord } from '../../domain/records.ts';
import { configurationOf } from '../../domain/outcome.ts';
import { projectRoot } from '../../platform/paths.ts';

const demo = await planSweep(join(projectRoot, 'configs', 'demo.yaml'), { userConfigDir: null });
const spec = demo.experiments[0]!;

function outcome(id: string, readyMs: Array<number | null>): ExperimentOutcome {
  return {
    experiment_id: id,
    sweep_id: 'sweep/demo/2026-12-01',
    timestamp: '2026-12-01T10:00:00.000Z',
    status: 'succeeded',
    execution_success: true,
    execution_time_seconds: 20,
    queued_seconds: 0,
    configuration: configurationOf(spec),
    benchmark_results: {},
    cache_statistics: {},
    attempts: readyMs.map((ready, i) => ({
      attempt: i + 1, host_id: 'h', gpu_ids: ['0'], port: 8000, started_at: '2026-12-01T10:00:00.000Z', ended_at: '2026-12-01T10:00:20.000Z',
      result: 'succeeded', error: null, log_tail: [], files: null,
      server_started_at: '2026-12-01T10:00:00.100Z', server_ready_after_ms: ready, server_stopped_at: null,
    })),
    error: null,
    results_path: `/somewhere/${id}`,
  };
}

function writeOutcome(folder: string, value: unknown): void {
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'outcome.json'), typeof value === 'string' ? value : JSON.stringify(value));
}

describe('start-up history', () => {
  it("reads the outcome files of the folders this machine's sweeps wrote and of log_base_dir, skipping what it cannot read", async () => {
    const root = mkdtempSync(join(tmpdir(), 'kvsweep-startups-'));
    const dataDir = join(root, 'home');
    const elsewhere = join(root, 'elsewhere', 'demo_2026-11-30');
    const logs = join(root, 'logs');
    const record: SweepRecord = { sweep_id: 'sweep/demo/2026-11-30', results_dir: elsewhere, yaml_path: null, resolved: demo.resolved, started_at: '2026-11-30T09:00:00.000Z' };
    mkdirSync(join(dataDir, 'sweeps'), { recursive: true });
    writeFileSync(join(dataDir, 'sweeps', 'sweep%2Fdemo%2F2026-11-30.json'), JSON.stringify(record));
    writeFileSync(join(dataDir, 'sweeps', 'broken.json'), '{"sweep_id":');
    writeOutcome(join(elsewhere, 'a'), outcome('a', [300]));
    writeOutcome(join(logs, 'demo_2026-12-01', 'b'), outcome('b', [null, 500]));
    writeOutcome(join(logs, 'demo_2026-12-01', 'c'), outcome('c', [400]));
    writeOutcome(join(logs, 'demo_2026-12-01', 'cut'), '{"experiment_id": "cut", "stat');
    mkdirSync(join(logs, 'demo_2026-12-02', 'not-started'), { recursive: true });

    const folders = await resultsFolders(dataDir, [logs, join(root, 'missing')]);
    expect(folders).toEqual([elsewhere, join(logs, 'demo_2026-12-01'), join(logs, 'demo_2026-12-02')].sort());
    const history = await readStartupHistory(folders);
    expect(history.outcomes).toBe(3);
    expect(history.unreadable).toEqual([expect.stringContaining(join('cut', 'outcome.json'))]);
    expect(history.startups).toEqual({
      'Qwen/Qwen3-8B-FP8 in sim, TP 1 x PP 1': { warm_s: 0.4, cold_s: 0.5, source: '3 starts recorded by earlier runs (median 0.4 s as warm, slowest 0.5 s as cold)' },
    });
  });

  it('finds nothing, without failing, where nothing ran', async () => {
    const root = mkdtempSync(join(tmpdir(), 'kvsweep-startups-'));
    const history = await readStartupHistory(await resultsFolders(join(root, 'home'), [join(root, 'logs')]));
    expect(history).toEqual({ startups: {}, folders: [], outcomes: 0, unreadable: [] });
  });
});
