// The constructs of the old tool's sweep files, each read as its users meant it: what the
// experiments become, and the notice (one line) where kvsweep applies an old default or leaves
// something out. Strictness stays: typos and wrong types are still errors (bad-configs.test.ts).
import { describe, expect, it } from 'vitest';
import { formatNotice } from '../../domain/config/index.ts';
import { plan, problemsOf, sweepWith, TRACE } from './support.ts';

type Row = [
  name: string,
  dataset: Record<string, unknown>,
  top: Record<string, unknown>,
  env: string | undefined,
  expected: { ids?: string[]; values?: Record<string, unknown[]>; notices: string[] },
];

const rows: Row[] = [
  ['strategy names in any case', { cache_eviction_strategy: ['LRU', 'Conversation_Aware'] }, {}, undefined, {
    ids: ['qwen-8b_tiny-chat_c10gb_r1_lru', 'qwen-8b_tiny-chat_c10gb_r1_conversation_aware'],
    notices: [],
  }],
  ['lightgbm_mode in any case, a list crossed with LIGHTGBM', { cache_eviction_strategy: 'LIGHTGBM', lightgbm_mode: ['REGRESSION', 'Ranking'] }, {}, undefined, {
    ids: ['qwen-8b_tiny-chat_c10gb_r1_lightgbm-regression', 'qwen-8b_tiny-chat_c10gb_r1_lightgbm-ranking'],
    notices: [],
  }],
  ['lightgbm without lightgbm_mode: the old default regression', { cache_eviction_strategy: 'lightgbm' }, {}, undefined, {
    values: { lightgbm_mode: ['regression'] },
    notices: ["sweep.yaml: experiments.datasets[0].cache_eviction_strategy: no lightgbm_mode given: the old runner's default regression is used"],
  }],
  ['quoted numbers are numbers', { cache_sizes: ['64', '128.5'], request_rates: '0.5', num_prompts: '100', time_limit: ' 60 ' }, {}, undefined, {
    values: { cache_size_gb: [64, 128.5], request_rate: [0.5, 0.5], num_prompts: [100, 100], time_limit: [60, 60] },
    notices: [],
  }],
  ['no cache_sizes: the old default 64 GB', { cache_sizes: undefined }, {}, undefined, {
    values: { cache_size_gb: [64] },
    notices: ["sweep.yaml: experiments.datasets[0]: no cache_sizes given (nor cache_size_gb): the old runner's default 64 GB is used"],
  }],
  ['no request_rates: the old default 1.0', { request_rates: undefined }, {}, undefined, {
    values: { request_rate: [1] },
    notices: ["sweep.yaml: experiments.datasets[0]: no request_rates given (nor request_rate_per_second): the old runner's default 1 is used"],
  }],
  ['hbm_size where the cache is not GPU memory: recorded, with a notice', {}, { defaults: { hbm_size: 40 } }, undefined, {
    values: { hbm_size_gb: [40] },
    notices: [
      "sweep.yaml: defaults.hbm_size: has no effect in environment 'lmcache' (its cache_sizes are not GPU memory and no template uses {hbm_size_gb}); it is kept with the results as the GPU memory size",
    ],
  }],
  ['hbm_size in vllm, where the cache is GPU memory: no notice', {}, { defaults: { hbm_size: '80' } }, 'vllm', {
    values: { hbm_size_gb: [80] },
    notices: [],
  }],
  ['hbm_size used by a template: no notice', { server_extra_args: ['--hbm', '{hbm_size_gb}'] }, { defaults: { hbm_size: 40 } }, undefined, {
    values: { hbm_size_gb: [40] },
    notices: [],
  }],
  ['simulator keys in a live environment: a notice each', { max_concurrent_requests: 10, chunk_size: '256' }, { defaults: { block_size: 256, max_context_length: 16384 } }, undefined, {
    values: { offline: [null] },
    notices: [
      "sweep.yaml: experiments.datasets[0].max_concurrent_requests: has no effect in environment 'lmcache', which runs a server: it is a setting of the offline simulator (--env offline)",
      "sweep.yaml: defaults.max_context_length: has no effect in environment 'lmcache', which runs a server: it is a setting of the offline simulator (--env offline)",
      "sweep.yaml: experiments.datasets[0].chunk_size: has no effect in environment 'lmcache', which runs a server: it is a setting of the offline simulator (--env offline)",
      "sweep.yaml: defaults.block_size: has no effect in environment 'lmcache', which runs a server: it is a setting of the offline simulator (--env offline)",
    ],
  }],
  ['simulator keys offline: the experiment carries them', { max_concurrent_requests: 10, chunk_size: '256', cache_model: 'old-simulator' }, { defaults: { block_size: 256 } }, 'offline', {
    values: {
      offline: [{ cache_model: 'old-simulator', max_concurrent_requests: 10, max_context_length: null, chunk_size: 256, block_size: 256 }],
      server: [null],
    },
    notices: [],
  }],
  ['offline with no simulator key: every setting is the default (null)', {}, {}, 'offline', {
    values: { offline: [{ cache_model: 'kvsweep', max_concurrent_requests: null, max_context_length: null, chunk_size: null, block_size: null }] },
    notices: [],
  }],
  ['server keys offline: a notice each', { server_env: { A: '1' }, ready_timeout: 5 }, {}, 'offline', {
    values: { server: [null] },
    notices: [
      "sweep.yaml: experiments.datasets[0].server_env: has no effect in environment 'offline': the offline simulator starts no server or client",
      "sweep.yaml: experiments.datasets[0].ready_timeout: has no effect in environment 'offline': the offline simulator starts no server or client",
    ],
  }],
  ['ORACLE offline, with the other strategies', { cache_eviction_strategy: ['LRU', 'CONVERSATION_AWARE', 'ORACLE'] }, {}, 'offline', {
    ids: ['qwen-8b_tiny-chat_c10gb_r1_lru', 'qwen-8b_tiny-chat_c10gb_r1_conversation_aware', 'qwen-8b_tiny-chat_c10gb_r1_oracle'],
    notices: [],
  }],
];

describe.each(rows)('%s', (_name, dataset, top, env, expected) => {
  it('plans the experiments the old tool meant, with the expected notices', async () => {
    const { experiments, notices, resolved } = await plan(sweepWith(dataset, top), env ? { env } : {});
    if (expected.ids) expect(experiments.map((e) => e.id)).toEqual(expected.ids);
    for (const [field, values] of Object.entries(expected.values ?? {})) {
      expect(experiments.map((e) => (e as Record<string, unknown>)[field])).toEqual(values);
    }
    expect(notices.map(formatNotice)).toEqual(expected.notices);
    // The sweep keeps them (sweep.json, the workflow input).
    expect(resolved.notices ?? []).toEqual(notices);
  });
});

describe('an entry with an empty list', () => {
  it('adds no experiment, with a notice naming it; the other entries run', async () => {
    const config = {
      model_name: 'qwen-8b',
      defaults: { use_conversation_evictions: [true, false] },
      experiments: {
        datasets: [
          { path: TRACE, cache_sizes: [64, 128], request_rates: [0.4] },
          { path: 'traces/other-chat.csv', cache_sizes: [64, 128], request_rates: [] },
          { path: 'traces/other-chat.csv', name: 'other2', cache_size_gb: [], request_rates: [1] },
        ],
      },
    };
    const { experiments, notices } = await plan(config);
    expect(experiments).toHaveLength(4);
    expect(notices.map(formatNotice)).toEqual([
      'sweep.yaml: experiments.datasets[1]: request_rates is empty: no experiments from this entry',
      'sweep.yaml: experiments.datasets[2]: cache_size_gb is empty: no experiments from this entry',
    ]);
  });

  it('is still checked: a typo in it is an error', async () => {
    const problems = await problemsOf({
      model_name: 'qwen-8b',
      experiments: { datasets: [{ path: TRACE, cache_sizes: [1], request_rates: [1] }, { path: TRACE, cache_sizes: [1], request_rates: [], num_promts: 5 }] },
    });
    expect(problems).toEqual(["sweep.yaml: experiments.datasets[1].num_promts: unknown key 'num_promts' (did you mean 'num_prompts'?)"]);
  });

  it('leaving no experiment at all is an error that says why', async () => {
    expect(await problemsOf(sweepWith({ request_rates: [] }))).toEqual([
      'sweep.yaml: experiments: the sweep has no experiment to run: experiments.datasets[0]: request_rates is empty: no experiments from this entry',
    ]);
  });
});

describe('what stays an error', () => {
  it.each([
    ['a strategy that is no strategy, in any case', { cache_eviction_strategy: 'LFU' }, 'must be one of lru, conversation_aware, lightgbm, oracle'],
    ['a quoted word where a number goes', { cache_sizes: ['64', 'big'] }, 'experiments.datasets[0].cache_sizes[1]: expected a number, got a string'],
    ['a simulator key of the wrong type', { chunk_size: 1.5 }, 'experiments.datasets[0].chunk_size: expected an integer'],
    ['an unknown cache model', { cache_model: 'magic' }, "must be one of kvsweep, old-simulator"],
    ['oracle against a server', { cache_eviction_strategy: ['lru', 'ORACLE'] }, "eviction strategy 'oracle' exists offline only"],
  ])('%s', async (_name, dataset, message) => {
    const problems = await problemsOf(sweepWith(dataset));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(message);
  });
});
