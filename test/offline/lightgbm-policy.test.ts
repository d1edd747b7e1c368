// Policy lightgbm in kvsweep's own model: a model trained by the real `lightgbm` library (the
// project's venv) on an lru replay of the first half of the input (or on another input) ranks the
// CPU tier's conversations through the scored-conversation seam; result.json says what it was
// trained and evaluated on. Each mode changes what is evicted, and the oracle stays above it.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { DEFAULT_SYNTH_OPTIONS } from '../../loadgen/trace-synth.ts';
import { writeSynthTrace } from '../../loadgen/trace-cli.ts';
import { LoadgenResult } from '../../loadgen/result-schema.ts';
import { loadRequestStream } from '../../offline/inputs/index.ts';
import { provisionLightgbm, type LightgbmPython } from '../../offline/lightgbm/provision.ts';
import { runOnStream } from '../../offline/run.ts';
import { hitRate, experiment } from './support.ts';

let dir: string;
let python: LightgbmPython | undefined;
let unavailable = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kvsweep-lightgbm-policy-'));
  await writeSynthTrace(join(dir, 'a.csv'), { ...DEFAULT_SYNTH_OPTIONS, conversations: 200, seed: 4, conversationRate: 0.7, turnsMean: 7.5 });
  await writeSynthTrace(join(dir, 'b.csv'), { ...DEFAULT_SYNTH_OPTIONS, conversations: 200, seed: 8, conversationRate: 0.7, turnsMean: 7.5 });
  try {
    python = await provisionLightgbm();
  } catch (error) {
    unavailable = (error as Error).message;
  }
}, 20 * 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function needsLightgbm(ctx: TestContext): LightgbmPython {
  if (!python) {
    console.warn(`SKIPPED (LightGBM could not be provisioned): ${unavailable}`);
    ctx.skip();
  }
  return python!;
}

const SIZE_GB = 0.02;
const base = (policy: 'lru' | 'oracle' | 'lightgbm', over: object = {}) =>
  experiment({ input: { kind: 'trace_csv', path: join(dir, 'a.csv') }, policy, cache_size_gb: SIZE_GB, engine: { num_gpu_blocks: 800 }, ...over });

describe('policy lightgbm in kvsweep\'s model', () => {
  it.for(['regression', 'ranking', 'classification'] as const)('%s: trains on the first half, evaluates the rest, evicts otherwise than lru, stays under the oracle', { timeout: 10 * 60_000 }, async (mode, ctx) => {
    const py = needsLightgbm(ctx);
    const stream = await loadRequestStream({ kind: 'trace_csv', path: join(dir, 'a.csv') }, null);
    const models = join(dir, `models-${mode}`);
    const run = (policy: 'lru' | 'oracle' | 'lightgbm') => runOnStream(stream, base(policy, { lightgbm: { mode } }), join(dir, `${mode}-${policy}`), { modelCache: models });
    const [lru, oracle, lightgbm] = [await run('lru'), await run('oracle'), await run('lightgbm')];
    const facts = LoadgenResult.parse(JSON.parse(await readFile(lightgbm.resultPath, 'utf8'))).offline!.lightgbm!;
    const half = Math.floor(stream.size / 2);
    expect(facts).toMatchObject({ mode, evaluated_from: half, lightgbm_version: py.lightgbmVersion });
    expect(facts.trained_on).toBe(`requests 1-${half} of ${stream.size} (the first 0.5 of this input)`);
    expect(facts.evaluated_on).toBe(`requests ${half + 1}-${stream.size} (the cache warmed by the ones before)`);
    expect(facts.training_rows).toBeGreaterThan(half * 0.9);
    const r = lightgbm.simulation.records;
    let ok = 0;
    for (let i = half; i < r.size; i++) if (r.statusOf(i) === 'ok') ok++;
    expect(facts.evaluated.requests).toBe(ok);
    expect(ok).toBeGreaterThan((stream.size - half) / 2);
    // The model really ranks: the CPU tier stores and evicts otherwise than under lru.
    const cpu = (r: typeof lru) => r.result.cache_statistics.external_prefix_cache_hits;
    expect(cpu(lightgbm)).not.toBe(cpu(lru));
    const rates = { lru: hitRate(lru.simulation.records), lightgbm: hitRate(lightgbm.simulation.records), oracle: hitRate(oracle.simulation.records) };
    expect(rates.oracle, JSON.stringify(rates)).toBeGreaterThanOrEqual(rates.lightgbm);
    expect(facts.evaluated.hit_rate).toBeGreaterThan(0);
  });

  it('--train-on another input: trains on all of it and evaluates all of this one', { timeout: 10 * 60_000 }, async (ctx) => {
    needsLightgbm(ctx);
    const stream = await loadRequestStream({ kind: 'trace_csv', path: join(dir, 'a.csv') }, null);
    const other = join(dir, 'b.csv');
    const run = await runOnStream(stream, base('lightgbm', { lightgbm: { train_on: { kind: 'trace_csv', path: other } } }), join(dir, 'train-on'), { modelCache: join(dir, 'models-b') });
    const facts = run.result.offline!.lightgbm!;
    const otherSize = (await loadRequestStream({ kind: 'trace_csv', path: other }, null)).size;
    expect(facts.trained_on).toBe(`all ${otherSize} requests of ${other}`);
    expect(facts).toMatchObject({ evaluated_from: 0, evaluated_on: `all ${stream.size} requests of this input` });
    expect(facts.evaluated.hit_rate).toBeCloseTo(hitRate(run.simulation.records), 12);
  });

  it('kvsweep simulate --policy lightgbm --lightgbm-mode ranking --train-on FILE runs it from the command line', { timeout: 10 * 60_000 }, async (ctx) => {
    needsLightgbm(ctx);
    const { runKvsweep } = await import('../support/processes.ts');
    const out = join(dir, 'cli');
    const { code, output } = await runKvsweep(
      ['simulate', '--trace', join(dir, 'a.csv'), '--model', 'kvsweep/sim-small', '--max-model-len', '8192', '--cache-size', '0.02', '--policy', 'LightGBM', '--lightgbm-mode', 'ranking', '--train-on', join(dir, 'b.csv'), '--out', out],
      {},
      10 * 60_000,
      dir,
    );
    expect(code, output).toBe(0);
    const result = LoadgenResult.parse(JSON.parse(await readFile(join(out, 'lightgbm_c0.02gb_r1', 'result.json'), 'utf8')));
    expect(result.offline!.policy).toBe('lightgbm');
    expect(result.offline!.lightgbm).toMatchObject({ mode: 'ranking', evaluated_from: 0 });
  });
});
