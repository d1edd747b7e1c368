// LightGBM end to end with the real library: the provisioned venv trains the scorer (the project's
// train_scorer.py), TypeScript evaluates the trees exactly as LightGBM predicts, and the old
// simulator's lightgbm policy reproduces the old tool's figures on the fixture (its training is
// deterministic: same rows, same model). Skipped, saying why, only when no venv can be provisioned.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { collectFrom } from '../../activities/collect.ts';
import { FEATURE_COUNT } from '../../offline/lightgbm/features.ts';
import { provisionLightgbm, type LightgbmPython } from '../../offline/lightgbm/provision.ts';
import { LightgbmConversationScorer } from '../../offline/lightgbm/scorer.ts';
import { trainScorer, type LightgbmMode } from '../../offline/lightgbm/train.ts';
import { buildTrainingSet } from '../../offline/lightgbm/training-set.ts';
import { OldCacheModel } from '../../offline/old-simulator/cache-model.ts';
import { runOldSimulatorExperiment } from '../../offline/old-simulator/experiment.ts';
import { readLogPair } from '../../offline/old-simulator/log-pair.ts';
import { ScoredPolicy } from '../../offline/old-simulator/policies.ts';
import { lightgbmScorer } from '../../offline/old-simulator/scorers.ts';
import { FIXTURE_DIR, loadReference, SERVER_LOG } from './old-simulator-reference.ts';

const reference = loadReference();
const MODES: LightgbmMode[] = ['regression', 'ranking', 'classification'];
let dir: string;
let modelCache: string;
let python: LightgbmPython | undefined;
let unavailable = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kvsweep-lightgbm-'));
  // A fresh model cache: every training below runs the real library.
  modelCache = join(dir, 'models');
  try {
    python = await provisionLightgbm((line) => console.log(`[lightgbm provisioning] ${line}`));
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

describe('LightGBM scorer, trained by the real library', () => {
  it.for(MODES)('%s: the old simulator\'s lightgbm policy gives the old tool\'s figures (within 0.1 points)', { timeout: 10 * 60_000 }, async (mode, ctx) => {
    needsLightgbm(ctx);
    for (const e of reference.experiments.filter((x) => x.policy === 'lightgbm' && x.lightgbm_mode === mode)) {
      const figures = await runOldSimulatorExperiment(
        {
          source: { kind: 'log-pair', server_log: SERVER_LOG },
          cache_size_gb: e.cache_size_gb,
          policy: 'lightgbm',
          bytes_per_token: 147_456,
          lightgbm: { mode, training: { kind: 'old-tool', max_events: 100_000 } },
        },
        join(dir, `${mode}-${e.cache_size_gb}`),
        { modelCache },
      );
      expect(figures.lightgbm?.report?.lightgbm_version).toBe(python!.lightgbmVersion);
      expect(Math.abs(figures.all.token_hit_ratio! - e.token_hit_ratio) * 100).toBeLessThanOrEqual(0.1);
    }
  });

  it.for(MODES)('%s: TypeScript evaluates the trees exactly as LightGBM predicts', { timeout: 5 * 60_000 }, async (mode, ctx) => {
    const { python: py } = needsLightgbm(ctx);
    const { events } = readLogPair(SERVER_LOG);
    const trained = await trainScorer(events, mode, join(dir, `exact-${mode}`), modelCache);
    const set = buildTrainingSet(events);
    const rows = Array.from({ length: set.rows }, (_, r) => Array.from(set.features.subarray(r * FEATURE_COUNT, (r + 1) * FEATURE_COUNT)));
    const script = 'import json,sys,numpy,lightgbm; b=lightgbm.Booster(model_file=sys.argv[1]); x=numpy.array(json.load(sys.stdin),dtype=numpy.float64); print(json.dumps([float(v) for v in b.predict(x)]))';
    const r = await execa(py, ['-c', script, trained.modelPath], { input: JSON.stringify(rows) });
    const expected = JSON.parse(r.stdout) as number[];
    // Sums of leaf values are bit-equal; the binary objective's sigmoid goes through exp(), whose
    // last bit may differ between V8 and the C library.
    const tolerance = mode === 'classification' ? 4 * Number.EPSILON : 0;
    const mismatches = rows.filter((row, i) => Math.abs(trained.model.predict(row) - expected[i]!) > tolerance * Math.abs(expected[i]!)).length;
    expect(rows.length).toBeGreaterThan(900);
    expect(mismatches).toBe(0);
  });

  it('by default trains on the first half and counts the second half, and says so', async (ctx) => {
    needsLightgbm(ctx);
    const out = join(dir, 'split');
    const figures = await runOldSimulatorExperiment(
      { source: { kind: 'trace-csv', path: join(FIXTURE_DIR, 'trace.csv') }, cache_size_gb: 4, policy: 'lightgbm', bytes_per_token: 147_456 },
      out,
      { modelCache },
    );
    const half = Math.floor(figures.all.requests / 2);
    expect(figures.evaluated.from_request).toBe(half);
    expect(figures.evaluated.requests).toBe(figures.all.requests - half);
    expect(figures.lightgbm?.trained_on).toMatch(new RegExp(`^requests 1-${half} of ${figures.all.requests}`));
    expect(figures.evaluated.description).toMatch(new RegExp(`requests ${half + 1}-${figures.all.requests}`));
    const collected = await collectFrom(out);
    expect(collected.cache_statistics.external_prefix_cache_hit_rate).toBe(figures.evaluated.token_hit_ratio);
    const result = JSON.parse(await readFile(join(out, 'result.json'), 'utf8')) as { cache_statistics: { notes: string[] } };
    expect(result.cache_statistics.notes.join('\n')).toMatch(/hit figures count requests 466-930/);
  }, 5 * 60_000);

  it('--train-on another input: trained on all of it, every request counted', async (ctx) => {
    needsLightgbm(ctx);
    const e = reference.experiments.find((x) => x.policy === 'lightgbm' && x.lightgbm_mode === 'regression' && x.cache_size_gb === 8)!;
    // The CSV converts to the very events of the log pair, so the model is the old tool's.
    const figures = await runOldSimulatorExperiment(
      {
        source: { kind: 'log-pair', server_log: SERVER_LOG },
        cache_size_gb: 8,
        policy: 'lightgbm',
        bytes_per_token: 147_456,
        lightgbm: { mode: 'regression', training: { kind: 'file', source: { kind: 'trace-csv', path: join(FIXTURE_DIR, 'trace.csv') } } },
      },
      join(dir, 'train-on'),
      { modelCache },
    );
    expect(figures.evaluated.from_request).toBe(0);
    expect(figures.lightgbm?.trained_on).toMatch(/trace\.csv/);
    expect(Math.abs(figures.all.token_hit_ratio! - e.token_hit_ratio) * 100).toBeLessThanOrEqual(0.1);
  }, 5 * 60_000);

  it('trainings of the same rows at once, on a fresh cache, each get the whole model (one is kept)', { timeout: 5 * 60_000 }, async (ctx) => {
    needsLightgbm(ctx);
    const { events } = readLogPair(SERVER_LOG);
    const cache = join(dir, 'models-at-once');
    const trained = await Promise.all([1, 2, 3].map((n) => trainScorer(events, 'ranking', join(dir, `at-once-${n}`), cache)));
    const models = await Promise.all(trained.map((t) => readFile(t.modelPath, 'utf8')));
    expect(new Set(models).size).toBe(1);
    expect(trained.every((t) => t.model.trees.length > 0)).toBe(true);
    expect((await readdir(cache)).filter((name) => name.includes('.training-'))).toEqual([]);
  });

  it('hit ratios never fall as the cache grows', async (ctx) => {
    needsLightgbm(ctx);
    const { events } = readLogPair(SERVER_LOG);
    const trained = await trainScorer(events.slice(0, events.length >> 1), 'regression', join(dir, 'mono'), modelCache);
    const ratios = [1, 2, 4, 8, 16].map((gb) => {
      const scorer = lightgbmScorer(trained.model);
      const model = new OldCacheModel({ cacheSizeGb: gb, bytesPerToken: 147_456, policy: new ScoredPolicy(scorer), scorer });
      model.replay(events);
      return model.all.hitTokens / model.all.lookupTokens;
    });
    for (let i = 1; i < ratios.length; i++) expect(ratios[i]).toBeGreaterThanOrEqual(ratios[i - 1]!);
    expect(ratios[0]).toBeLessThan(ratios[4]!);
  }, 5 * 60_000);

  it('a conversation scorer fed sends and dones sees the features the model was trained on', async (ctx) => {
    needsLightgbm(ctx);
    const { events } = readLogPair(SERVER_LOG);
    const trained = await trainScorer(events, 'regression', join(dir, 'scorer'), modelCache);
    // In sample, after each done: conversations back within a minute (label >= 10 - ln 61 = 5.9)
    // must be valued far above ones that never come back (label 0); misaligned features would not be.
    const scorer = new LightgbmConversationScorer(trained.model);
    const gaps = buildTrainingSet(events).secondsToNextSend;
    const soon: number[] = [];
    const never: number[] = [];
    let done = 0;
    for (const e of events) {
      if (e.kind === 'send') {
        scorer.send(e.conversation, e.turn, e.time, e.tokens);
        continue;
      }
      scorer.done(e.conversation, e.turn, e.time, e.tokens);
      const gap = gaps[done++];
      if (gap === null) never.push(scorer.value(e.conversation));
      else if (gap! <= 60) soon.push(scorer.value(e.conversation));
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(soon.length).toBeGreaterThan(20);
    expect(never.length).toBeGreaterThan(20);
    expect(mean(soon) - mean(never)).toBeGreaterThan(2);
  }, 5 * 60_000);
});

describe('provisioning errors', () => {
  async function withEnv(vars: Record<string, string | undefined>, body: () => Promise<void>): Promise<void> {
    const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
    const set = (values: Record<string, string | undefined>) => {
      for (const [k, v] of Object.entries(values)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    };
    set(vars);
    try {
      await body();
    } finally {
      set(saved);
    }
  }

  it('names the Python that cannot make the venv', async () => {
    await withEnv({ KVSWEEP_HOME: join(dir, 'home'), KVSWEEP_PYTHON: join(dir, 'no-python'), KVSWEEP_LIGHTGBM_PYTHON: undefined }, async () => {
      await expect(provisionLightgbm()).rejects.toThrow(/^LightGBM is not available: '.*no-python' does not run .*set KVSWEEP_PYTHON/s);
    });
  });

  it('names a given Python that cannot import lightgbm', async () => {
    // /bin/false stands for a Python without lightgbm: the import check exits non-zero.
    await withEnv({ KVSWEEP_LIGHTGBM_PYTHON: '/bin/false' }, async () => {
      await expect(provisionLightgbm()).rejects.toThrow('LightGBM is not available: KVSWEEP_LIGHTGBM_PYTHON=/bin/false cannot import lightgbm and numpy');
    });
  });
});
