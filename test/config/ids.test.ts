// Experiment ids: readable, deterministic, unique; a sweep whose experiments would clash is an
// error naming both YAML paths.
import { describe, expect, it } from 'vitest';
import { ExperimentSpec } from '../../domain/experiment.ts';
import { experimentId, type IdParts } from '../../domain/config/index.ts';
import { plan, problemsOf, sweepWith, TRACE } from './support.ts';

const base: IdParts = {
  model: 'qwen-8b',
  dataset: 'chat',
  cache_size_gb: 10,
  request_rate: 1,
  eviction_strategy: 'lru',
  lightgbm_mode: null,
  mock_decoding: false,
};

describe('experimentId', () => {
  const rows: Array<[Partial<IdParts>, string]> = [
    [{}, 'qwen-8b_chat_c10gb_r1_lru'],
    [{ cache_size_gb: 0.5, request_rate: 2.25 }, 'qwen-8b_chat_c0.5gb_r2.25_lru'],
    [{ eviction_strategy: 'conversation_aware' }, 'qwen-8b_chat_c10gb_r1_conversation_aware'],
    [{ eviction_strategy: 'lightgbm', lightgbm_mode: 'ranking' }, 'qwen-8b_chat_c10gb_r1_lightgbm-ranking'],
    [{ mock_decoding: true }, 'qwen-8b_chat_c10gb_r1_lru_mock'],
    [{ model: 'sim-small', dataset: 'demo-chat', cache_size_gb: 0 }, 'sim-small_demo-chat_c0gb_r1_lru'],
  ];
  it.each(rows)('%o -> %s', (parts, id) => {
    expect(experimentId({ ...base, ...parts })).toBe(id);
    expect(ExperimentSpec.shape.id.safeParse(id).success).toBe(true);
  });
});

describe('ids of an expanded sweep', () => {
  const big = {
    model_name: 'qwen-8b',
    defaults: { request_rates: [0.5, 1, 2] },
    experiments: [
      {
        defaults: { cache_eviction_strategy: ['lru', 'conversation_aware', 'lightgbm'], lightgbm_mode: ['regression', 'ranking', 'classification'] },
        datasets: [{ path: TRACE, cache_sizes: [0, 0.5, 1, 10, 100] }, { path: 'traces/other-chat.csv', cache_sizes: [1, 10] }],
      },
      { datasets: [{ path: TRACE, cache_sizes: [1, 10], mock_decoding: true, model_name: 'llama-8b' }] },
    ],
  };

  it('are unique, valid and the same on every plan', async () => {
    const first = await plan(big);
    const second = await plan(big);
    const ids = first.experiments.map((e) => e.id);
    expect(ids).toHaveLength(5 * 3 * 5 + 2 * 3 * 5 + 2 * 3);
    expect(new Set(ids).size).toBe(ids.length);
    expect(second.experiments.map((e) => e.id)).toEqual(ids);
    for (const e of first.experiments) expect(() => ExperimentSpec.parse(e)).not.toThrow();
    expect(ids).toContain('llama-8b_tiny-chat_c10gb_r2_lru_mock');
  });
});

describe('clashing experiments', () => {
  it('the same dataset entry twice is the same experiments twice', async () => {
    const entry = { path: TRACE, cache_sizes: [1, 2], request_rates: [1] };
    expect(await problemsOf({ model_name: 'qwen-8b', experiments: [{ datasets: [entry] }, { datasets: [entry] }] }))
      .toMatchInlineSnapshot(`
        [
          "sweep.yaml: experiments[1].datasets[0]: 2 experiments (first: 'qwen-8b_tiny-chat_c1gb_r1_lru') are already defined by experiments[0].datasets[0]: the same experiment would run twice",
        ]
      `);
  });

  it('two traces with one file name collide until one gets a name', async () => {
    const datasets = [
      { path: TRACE, cache_sizes: [1], request_rates: [1] },
      { path: 'traces-archive/tiny-chat.csv', cache_sizes: [1], request_rates: [1] },
    ];
    expect(await problemsOf({ model_name: 'qwen-8b', experiments: { datasets } })).toMatchInlineSnapshot(`
      [
        "sweep.yaml: experiments.datasets[1]: experiment id 'qwen-8b_tiny-chat_c1gb_r1_lru' is also the id of an experiment of experiments.datasets[0], which differs in dataset; give one of the two dataset entries a distinct \`name:\`",
      ]
    `);
    datasets[1] = { ...datasets[1]!, name: 'archive' } as (typeof datasets)[number];
    const { experiments } = await plan({ model_name: 'qwen-8b', experiments: { datasets } });
    expect(experiments.map((e) => e.id)).toEqual(['qwen-8b_tiny-chat_c1gb_r1_lru', 'qwen-8b_archive_c1gb_r1_lru']);
  });

  it('settings that differ only outside the id still collide', async () => {
    const problems = await problemsOf({
      model_name: 'qwen-8b',
      experiments: { datasets: [
        { path: TRACE, cache_sizes: [1], request_rates: [1], time_limit: 10 },
        { path: TRACE, cache_sizes: [1], request_rates: [1], time_limit: 20 },
      ] },
    });
    expect(problems).toEqual([
      expect.stringContaining("experiments.datasets[1]: experiment id 'qwen-8b_tiny-chat_c1gb_r1_lru' is also the id of an experiment of experiments.datasets[0], which differs in time_limit"),
    ]);
  });

  it('experiments that differ in nothing the server or client sees are the same experiment', async () => {
    // llm-d-sim counts its cache in blocks of 16 x 1024 bytes: both sizes are 152 blocks.
    expect(await problemsOf(sweepWith({ cache_sizes: [0.0025, 0.002505] }, { model_name: 'tiny-llama' }), { env: 'llm-d-sim' })).toMatchInlineSnapshot(`
      [
        "sweep.yaml: experiments.datasets[0]: experiment 'tiny-llama_tiny-chat_c0.002505gb_r1_lru' would run exactly what 'tiny-llama_tiny-chat_c0.0025gb_r1_lru' of experiments.datasets[0] runs: nothing that differs (cache_size_gb) reaches the server or the client",
      ]
    `);
  });
});
