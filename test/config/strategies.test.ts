// use_conversation_evictions and cache_eviction_strategy are two spellings of one setting: the
// innermost layer giving either decides; one layer giving both must say the same thing.
import { describe, expect, it } from 'vitest';
import { plan, problemsOf, sweepWith } from './support.ts';

type Row = [name: string, dataset: Record<string, unknown>, defaults: Record<string, unknown>, strategies: string[]];

const rows: Row[] = [
  ['neither key: lru', {}, {}, ['lru']],
  ['booleans: false is lru, true is conversation_aware', { use_conversation_evictions: [false, true] }, {}, ['lru', 'conversation_aware']],
  ['a single boolean', { use_conversation_evictions: true }, {}, ['conversation_aware']],
  ['one strategy by name', { cache_eviction_strategy: 'conversation_aware' }, {}, ['conversation_aware']],
  ['a list of names, in order', { cache_eviction_strategy: ['conversation_aware', 'lru'] }, {}, ['conversation_aware', 'lru']],
  ['both in one layer, agreeing: the named order', { use_conversation_evictions: [true, false], cache_eviction_strategy: ['lru', 'conversation_aware'] }, {}, ['lru', 'conversation_aware']],
  ['inner names beat outer booleans', { cache_eviction_strategy: 'lru' }, { use_conversation_evictions: [false, true] }, ['lru']],
  ['inner booleans beat outer names', { use_conversation_evictions: true }, { cache_eviction_strategy: ['lru', 'lightgbm'], lightgbm_mode: 'ranking' }, ['conversation_aware']],
];

describe.each(rows)('%s', (_name, dataset, defaults, strategies) => {
  it('gives the expected strategies', async () => {
    const { experiments } = await plan(sweepWith(dataset, { defaults }));
    expect(experiments.map((e) => e.eviction_strategy)).toEqual(strategies);
    expect(experiments.map((e) => e.use_conversation_eviction)).toEqual(strategies.map((s) => s === 'conversation_aware'));
  });
});

describe('lightgbm modes', () => {
  it('are crossed with the lightgbm strategy only', async () => {
    const { experiments } = await plan(
      sweepWith({ cache_sizes: [1, 2], cache_eviction_strategy: ['lru', 'lightgbm'], lightgbm_mode: ['regression', 'ranking'] }),
    );
    expect(experiments.map((e) => [e.cache_size_gb, e.eviction_strategy, e.lightgbm_mode])).toEqual([
      [1, 'lru', null],
      [1, 'lightgbm', 'regression'],
      [1, 'lightgbm', 'ranking'],
      [2, 'lru', null],
      [2, 'lightgbm', 'regression'],
      [2, 'lightgbm', 'ranking'],
    ]);
  });

  it('are ignored when no lightgbm strategy runs', async () => {
    const { experiments } = await plan(sweepWith({ lightgbm_mode: 'ranking' }));
    expect(experiments.map((e) => e.lightgbm_mode)).toEqual([null]);
  });
});

describe('conversation_eviction_config', () => {
  it('reaches conversation-aware experiments only', async () => {
    const config = { reference_recency: 120, reference_time_interval: 30, score_factor: 1.5 };
    const { experiments } = await plan(
      sweepWith({ cache_eviction_strategy: ['lru', 'conversation_aware'], conversation_eviction_config: config }),
    );
    expect(experiments.map((e) => e.conversation_eviction_config)).toEqual([{}, config]);
  });
});

describe('contradictions and impossible strategies', () => {
  it('rejects both keys in one layer when they disagree', async () => {
    expect(await problemsOf(sweepWith({ use_conversation_evictions: false, cache_eviction_strategy: 'conversation_aware' })))
      .toMatchInlineSnapshot(`
        [
          "sweep.yaml: experiments.datasets[0].use_conversation_evictions: contradicts cache_eviction_strategy in the same mapping (false means lru, true means conversation_aware): [lru] vs [conversation_aware]; keep only cache_eviction_strategy",
        ]
      `);
  });

  it('rejects booleans next to a strategy they cannot express', async () => {
    const problems = await problemsOf(
      sweepWith({ use_conversation_evictions: [false], cache_eviction_strategy: ['lru', 'lightgbm'], lightgbm_mode: 'ranking' }),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('contradicts cache_eviction_strategy');
  });

  it('rejects a strategy listed twice', async () => {
    expect(await problemsOf(sweepWith({ use_conversation_evictions: [true, true] }))).toMatchInlineSnapshot(`
      [
        "sweep.yaml: experiments.datasets[0].use_conversation_evictions[1]: eviction strategy conversation_aware is listed twice (also at experiments.datasets[0].use_conversation_evictions[0])",
      ]
    `);
  });

  it('rejects a strategy the environment cannot run', async () => {
    expect(await problemsOf(sweepWith({ cache_eviction_strategy: 'conversation_aware' }), { env: 'vllm' })).toMatchInlineSnapshot(`
      [
        "sweep.yaml: experiments.datasets[0].cache_eviction_strategy: environment 'vllm' cannot run eviction strategy 'conversation_aware' (it supports lru)",
      ]
    `);
  });
});
