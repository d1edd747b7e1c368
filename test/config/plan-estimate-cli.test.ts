// `kvsweep plan --gpus N | --pool` through the real CLI: the estimate (wall time, GPU-hours), where
// its start-ups come from (defaults, then what earlier runs recorded), the JSON shape, bad input,
// and the hosts of a real GPU pool (a dev server and a `kvsweep worker`).
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { planSweep } from '../../config-files/load-sweep.ts';
import { configurationOf } from '../../domain/outcome.ts';
import type { ExperimentOutcome } from '../../domain/records.ts';
import { freePortRange } from '../support/ports.ts';
import { startWorker, type TestProcess } from '../support/processes.ts';
import { useTemporal, type TestTemporal } from '../support/temporal.ts';
import { scratchDir, TRACE_PATH } from './support.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const scratch: Array<{ cleanup: () => void }> = [];
afterEach(() => {
  for (const s of scratch.splice(0)) s.cleanup();
});

const SWEEP = [
  'tag: est',
  'environment: sim',
  'model_name: qwen-8b',
  'defaults: {num_prompts: 100, time_limit: 50}',
  'experiments:',
  '  datasets:',
  '    - path: traces/chat.csv',
  '      cache_sizes: [4, 8, 16]',
  '      request_rates: 2',
].join('\n');

function workspace() {
  const s = scratchDir();
  scratch.push(s);
  mkdirSync(join(s.dir, 'traces'));
  copyFileSync(TRACE_PATH, join(s.dir, 'traces', 'chat.csv'));
  mkdirSync(join(s.dir, 'config-home'));
  s.write('sweep.yaml', SWEEP);
  const run = async (args: string[], extra: Record<string, string> = {}) => {
    const env: Record<string, string | undefined> = { ...process.env, XDG_CONFIG_HOME: join(s.dir, 'config-home'), KVSWEEP_HOME: join(s.dir, 'home'), ...extra };
    delete env.KVSWEEP_ENV;
    const r = await execa('node', [join(ROOT, 'bin/kvsweep.js'), 'plan', '--yaml', 'sweep.yaml', ...args], { cwd: s.dir, env, extendEnv: false, reject: false });
    return { code: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
  };
  return { ...s, run };
}

/** An earlier run's outcome.json under log_base_dir whose server took `readyMs` to become ready. */
async function writeEarlierRun(dir: string, readyMs: number): Promise<void> {
  const { experiments } = await planSweep(join(dir, 'sweep.yaml'), { cwd: dir, userConfigDir: null });
  const spec = experiments[0]!;
  const outcome: ExperimentOutcome = {
    experiment_id: spec.id, sweep_id: 'sweep/est/earlier', timestamp: '2026-12-01T10:00:00.000Z', status: 'succeeded', execution_success: true,
    execution_time_seconds: 60, queued_seconds: 0, configuration: configurationOf(spec), benchmark_results: {}, cache_statistics: {},
    attempts: [{
      attempt: 1, host_id: 'h', gpu_ids: ['0'], port: 8000, started_at: '2026-12-01T10:00:00.000Z', ended_at: '2026-12-01T10:01:00.000Z',
      result: 'succeeded', error: null, log_tail: [], files: null, server_started_at: '2026-12-01T10:00:00.100Z', server_ready_after_ms: readyMs, server_stopped_at: null,
    }],
    error: null, results_path: join(dir, 'logs', 'est_2026-12-01', spec.id),
  };
  mkdirSync(join(dir, 'logs', 'est_2026-12-01', spec.id), { recursive: true });
  writeFileSync(join(dir, 'logs', 'est_2026-12-01', spec.id, 'outcome.json'), JSON.stringify(outcome));
}

interface JsonEstimate {
  experiments: unknown[];
  estimate: { wall_s: number; gpu_hours: number; hosts: Array<{ gpu_count: number }>; startups: Array<{ warm_s: number; source: string }>; history: { outcomes: number } };
}

describe('plan --gpus N', { timeout: 60_000 }, () => {
  it('prints the estimate and where its figures come from; fewer GPUs take longer', async () => {
    const w = workspace();
    const two = await w.run(['--gpus', '2']);
    expect(two.stderr).toBe('');
    expect(two.code).toBe(0);
    expect(two.stdout).toMatch(/Estimate on 2 GPUs: wall time \d+ s, 0\.\d\d GPU-hours/);
    expect(two.stdout).toContain("no earlier run of this server");
    expect(two.stdout).toContain("replay = the trace's span at its replay rate + 5 s drain");
    expect(two.stdout).toContain('earlier runs: 0 outcome.json files');
    const json = async (gpus: string) => JSON.parse((await w.run(['--gpus', gpus, '--json'])).stdout) as JsonEstimate;
    const [one, three] = [await json('1'), await json('3')];
    expect(one.experiments).toHaveLength(3);
    expect(one.estimate.hosts).toEqual([{ host_id: 'local', gpu_count: 1, gpu_class: 'any' }]);
    // Three equal experiments: one after another on one GPU, side by side on three.
    expect(one.estimate.wall_s).toBeGreaterThan(2.5 * three.estimate.wall_s);
    expect(one.estimate.gpu_hours).toBeCloseTo(three.estimate.gpu_hours, 2);
  });

  it('uses the start-ups an earlier run recorded under log_base_dir, and says so', async () => {
    const w = workspace();
    const before = JSON.parse((await w.run(['--gpus', '1', '--json'])).stdout) as JsonEstimate;
    await writeEarlierRun(w.dir, 30_000);
    const text = await w.run(['--gpus', '1']);
    expect(text.stdout).toContain('30 s warm, 30 s cold; 1 start recorded by earlier runs');
    expect(text.stdout).toContain('earlier runs: 1 outcome.json files in 1 results folders');
    const after = JSON.parse((await w.run(['--gpus', '1', '--json'])).stdout) as JsonEstimate;
    expect(after.estimate.history.outcomes).toBe(1);
    // Three start-ups of 30 s instead of the simulator's ~0.3 s, one after another.
    expect(after.estimate.wall_s - before.estimate.wall_s).toBeGreaterThan(85);
  });

  it('refuses a GPU count that is not a whole number above 0, and --gpus with --pool', async () => {
    const w = workspace();
    for (const bad of ['0', '1.5', 'many']) {
      const r = await w.run(['--gpus', bad]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toContain(`plan: --gpus must be a whole number of GPUs above 0, got '${bad}'`);
      expect(r.stdout).toBe('');
    }
    const both = await w.run(['--gpus', '2', '--pool']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--gpus and --pool do not go together');
  });

  it('has no estimate for an offline environment, which uses no GPUs', async () => {
    const w = workspace();
    const r = await w.run(['--gpus', '2', '--env', 'offline']);
    expect(r.stderr).toContain("environment 'offline' is offline and uses no GPUs");
    expect(r.code).toBe(2);
  });
});

describe('plan --pool', { timeout: 180_000 }, () => {
  let temporal: TestTemporal | undefined;
  let worker: TestProcess | undefined;
  afterAll(async () => {
    await worker?.kill('SIGTERM');
    await temporal?.close();
  });

  it('says plainly when no Temporal server answers', async () => {
    const w = workspace();
    const r = await w.run(['--pool'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--pool: no Temporal server answers at 127.0.0.1:1 (TEMPORAL_ADDRESS); give --gpus N instead');
  });

  it("estimates on the online hosts of the running pool", async () => {
    temporal = await useTemporal();
    const hostId = `plan-pool-${process.pid}`;
    worker = await startWorker({ address: temporal.address, hostId, gpus: 3, gpuClass: hostId, portBase: await freePortRange(200) });
    const w = workspace();
    const r = await w.run(['--pool', '--json'], { TEMPORAL_ADDRESS: temporal.address });
    expect(r.stderr).toBe('');
    const { estimate } = JSON.parse(r.stdout) as JsonEstimate;
    expect(estimate.hosts).toContainEqual({ host_id: hostId, gpu_count: 3, gpu_class: hostId });
    const text = await w.run(['--pool'], { TEMPORAL_ADDRESS: temporal.address });
    expect(text.stdout).toContain(`${hostId}: 3 ${hostId}`);
  });
});
