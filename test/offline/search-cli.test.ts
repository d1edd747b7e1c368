// `kvsweep search` as a user runs it: a real process over a sweep file, each probe printed, a table
// of knees, search.json and the curves (a real SVG and PNG) written; bad input exits 2; --confirm
// runs each knee and its neighbours as a live sweep on the simulator through a real Temporal server.
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { writeSynthTrace } from '../../loadgen/trace-cli.ts';
import { DEFAULT_SYNTH_OPTIONS } from '../../loadgen/trace-synth.ts';
import type { GroupKnee } from '../../offline/search.ts';
import { runKvsweep } from '../support/processes.ts';
import { SMALL_TRACE } from '../support/sweeps.ts';
import { useTemporal, type TestTemporal } from '../support/temporal.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kvsweep-search-cli-'));
  // Enough conversations that Qwen3-8B's GPU tier cannot hold them: the CPU tier's size matters.
  await writeSynthTrace(join(dir, 'chat.csv'), { ...DEFAULT_SYNTH_OPTIONS, conversations: 1200, turnsMean: 7.5, seed: 5 });
  writeFileSync(
    join(dir, 'sweep.yaml'),
    stringify({
      tag: 'knee',
      environment: 'offline',
      model_name: 'qwen-8b',
      defaults: { num_prompts: 100000, time_limit: 100000 },
      experiments: { datasets: [{ path: 'chat.csv', name: 'chat', cache_sizes: [8, 64], request_rates: [1], cache_eviction_strategy: ['lru', 'oracle', 'lightgbm'] }] },
    }),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('kvsweep search', () => {
  it('finds the knee of every dataset x rate x policy by bisection, prints the probes and a table, draws the curves', { timeout: 180_000 }, async () => {
    const out = join(dir, 'out');
    const { code, output } = await runKvsweep(['search', '--yaml', join(dir, 'sweep.yaml'), '--target', '0.9', '--out', out], {}, 180_000, dir);
    expect(code, output).toBe(0);
    expect(output).toMatch(/^chat r1 lru: ceiling [\d.]+ GB -> hit \d+\.\d\d%$/m);
    expect(output).toMatch(/^chat r1 oracle: bisection [\d.]+ GB -> hit \d+\.\d\d% \((reaches|below) the goal\)$/m);
    expect(output).toContain('skipped: chat lightgbm: the search does not train models');
    expect(output).toMatch(/│ dataset, rate, policy │ knee GB +│ hit % at knee │/);
    const saved = JSON.parse(readFileSync(join(out, 'search.json'), 'utf8')) as { target: number; knees: GroupKnee[] };
    expect(saved.target).toBe(0.9);
    const [lru, oracle] = saved.knees as [GroupKnee, GroupKnee];
    expect([lru.policy, oracle.policy]).toEqual(['lru', 'oracle']);
    for (const k of [lru, oracle]) {
      expect(k.below_gb, JSON.stringify(k)).not.toBeNull();
      expect(k.knee_gb / k.below_gb!).toBeLessThanOrEqual(1.05);
      expect(k.knee_hit_rate).toBeGreaterThanOrEqual(k.goal_hit_rate);
      expect(k.goal_hit_rate).toBeCloseTo(0.9 * k.ceiling_hit_rate, 12);
      expect(k.evaluations).toBeLessThanOrEqual(12);
      expect(k.sweep_sizes_gb).toEqual([8, 64]);
      expect(output).toMatch(new RegExp(`│ chat r1 ${k.policy} +│ ${k.knee_gb} +│`));
    }
    // Knowing the future needs less cache for the same share of the ceiling.
    expect(oracle.knee_gb).toBeLessThan(lru.knee_gb);
    const svg = readFileSync(join(out, 'knee.svg'), 'utf8');
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain(`knee ${lru.knee_gb} GB`);
    expect(svg).toContain('cache size (GB, log scale)');
    expect(readFileSync(join(out, 'knee.png')).subarray(1, 4).toString()).toBe('PNG');
  });

  it.each([
    [['--target', '1.5'], "search: option '--target <share>' argument '1.5' is invalid. expected a share in (0, 1], got '1.5' (see --help)"],
    [['--env', 'sim'], 'search: experiment sim-small_chat-small_c0.01gb_r10_lru runs on a server (environment sim); the search replays offline: use --env offline'],
  ])('exits 2 on bad input: %j', async (args, message) => {
    copyFileSync(SMALL_TRACE, join(dir, 'chat-small.csv'));
    writeFileSync(join(dir, 'small.yaml'), stringify({ tag: 's', model_name: 'sim-small', experiments: { datasets: [{ path: 'chat-small.csv', cache_sizes: [0.01], request_rates: [10] }] } }));
    const { code, output } = await runKvsweep(['search', '--yaml', join(dir, 'small.yaml'), ...args], {}, 60_000, dir);
    expect(code, output).toBe(2);
    expect(output.trim()).toBe(`kvsweep: ${message}`);
  });
});

describe('kvsweep search --confirm', () => {
  let temporal: TestTemporal;
  beforeAll(async () => {
    temporal = await useTemporal();
  });
  afterAll(async () => {
    await temporal?.close();
  });

  it('runs each knee and its two neighbours as a live sweep in the environment named (the oracle stays offline)', { timeout: 300_000 }, async () => {
    copyFileSync(SMALL_TRACE, join(dir, 'chat-small.csv'));
    const yaml = join(dir, 'confirm-source.yaml');
    writeFileSync(
      yaml,
      stringify({
        tag: 'conf',
        environment: 'sim',
        model_name: 'sim-small',
        log_base_dir: join(dir, 'logs'),
        defaults: { num_prompts: 100, time_limit: 30, max_attempts: 1, server_extra_args: ['--speed', '20'] },
        experiments: [{ datasets: [{ path: 'chat-small.csv', name: 'small', num_prompts: 12, cache_sizes: [0.01], request_rates: [10], cache_eviction_strategy: ['lru', 'oracle'] }] }],
      }),
    );
    const out = join(dir, 'confirm-out');
    const env = { TEMPORAL_ADDRESS: temporal.address, KVSWEEP_HOME: join(dir, 'home'), KVSWEEP_LOCAL_HOST_ID: `search-confirm-${process.pid}` };
    const { code, output } = await runKvsweep(['search', '--yaml', yaml, '--min-size', '0.001', '--confirm', 'sim', '--confirm-factor', '4', '--gpus', '1', '--out', out], env, 300_000, dir);
    expect(code, output).toBe(0);
    const knee = (JSON.parse(readFileSync(join(out, 'search.json'), 'utf8')) as { knees: GroupKnee[] }).knees[0]!;
    expect(output).toMatch(/Successful:\s+3/);
    const resultsDir = /^Results:\s+(\S+)$/m.exec(output)![1]!;
    const sweep = JSON.parse(readFileSync(join(resultsDir, 'sweep.json'), 'utf8')) as { experiment_ids: string[] };
    const sizes = [knee.knee_gb / 4, knee.knee_gb, knee.knee_gb * 4].map((s) => Number(s.toPrecision(4)));
    expect(sweep.experiment_ids).toEqual(sizes.map((s) => `sim-small_small_c${s}gb_r10_lru`));
    for (const id of sweep.experiment_ids) expect(existsSync(join(resultsDir, id, 'result.json')), id).toBe(true);
    // The original dataset entry's own keys come along.
    expect(readFileSync(join(out, 'confirm.yaml'), 'utf8')).toContain('num_prompts: 12');
  });
});
