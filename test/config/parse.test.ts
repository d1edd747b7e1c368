// The old runner's keys: defaults, aliases, experiments as mapping or list, layering of defaults,
// per-dataset overrides (honoured, not dropped), the sweep product and its order.
import { afterEach, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, TRACE, TRACE_PATH, hermetic, plan, planSweep, scratchDir, sweepWith } from './support.ts';

const scratch: Array<{ cleanup: () => void }> = [];
afterEach(() => {
  for (const s of scratch.splice(0)) s.cleanup();
});

describe('defaults of a minimal sweep', () => {
  it('fills the old runner defaults and kvsweep defaults', async () => {
    const { resolved, experiments } = await plan(sweepWith());
    expect(experiments).toHaveLength(1);
    const [e] = experiments;
    expect(e).toMatchObject({
      model: 'qwen-8b',
      huggingface_path: 'Qwen/Qwen3-8B-FP8',
      model_path: 'Qwen/Qwen3-8B-FP8',
      served_model_name: 'Qwen/Qwen3-8B-FP8',
      tensor_parallel_size: 1,
      pipeline_parallel_size: 1,
      gpu_count: 1,
      gpu_class: 'any',
      max_model_len: 16384,
      dataset: { name: 'tiny-chat', path: TRACE_PATH },
      cache_size_gb: 10,
      request_rate: 1,
      eviction_strategy: 'lru',
      lightgbm_mode: null,
      use_conversation_eviction: false,
      conversation_eviction_config: {},
      num_prompts: 30000,
      time_limit: 1200,
      mock_decoding: false,
      seed: 0,
      environment: 'lmcache',
      client: { kind: 'builtin', arrival: 'trace' },
      max_attempts: 3,
    });
    expect(resolved.tag).toBe('experiment');
    expect(resolved.log_base_dir).toBe(join(FIXTURES, 'logs'));
    expect(resolved.environment).toMatchObject({ name: 'lmcache', chosen_by: 'default' });
    expect(resolved.source_file).toBeNull();
  });
});

type Row = [name: string, dataset: Record<string, unknown>, top: Record<string, unknown>, expected: Record<string, unknown[]>];

// Each row: what the user writes -> the values of the expanded experiments, in order.
const rows: Row[] = [
  ['cache_size_gb is the old name of cache_sizes', { cache_sizes: undefined, cache_size_gb: [5, 10] }, {}, { cache_size_gb: [5, 10] }],
  ['a single number is a one-element list', { cache_sizes: 7 }, {}, { cache_size_gb: [7] }],
  ['request_rate_per_second is the old name of request_rates', { request_rates: undefined, request_rate_per_second: 2.5 }, {}, { request_rate: [2.5] }],
  ['the product is cache sizes x rates, sizes outermost', { cache_sizes: [1, 2], request_rates: [0.5, 4] }, {}, {
    cache_size_gb: [1, 1, 2, 2],
    request_rate: [0.5, 4, 0.5, 4],
  }],
  ['per-dataset num_prompts beats defaults', { num_prompts: 50 }, { defaults: { num_prompts: 999 } }, { num_prompts: [50] }],
  ['per-dataset time_limit beats defaults', { time_limit: 30 }, { defaults: { time_limit: 99 } }, { time_limit: [30] }],
  ['per-dataset mock_decoding beats defaults', { mock_decoding: true }, { defaults: { mock_decoding: false } }, { mock_decoding: [true] }],
  ['global defaults apply when the dataset says nothing', {}, { defaults: { num_prompts: 123, time_limit: 45, seed: 9 } }, {
    num_prompts: [123],
    time_limit: [45],
    seed: [9],
  }],
  ['per-dataset model_name beats the top level', { model_name: 'llama-8b' }, {}, { model: ['llama-8b'] }],
  ['per-dataset cache sizes beat defaults', { cache_sizes: [3] }, { defaults: { cache_sizes: [1, 2] } }, { cache_size_gb: [3] }],
  ['cache sizes may sit in defaults', { cache_sizes: undefined }, { defaults: { cache_size_gb: [1, 2] } }, { cache_size_gb: [1, 2] }],
  ['an inner mapping replaces an outer one whole', {
    cache_eviction_strategy: 'conversation_aware',
    conversation_eviction_config: { score_factor: 2 },
  }, { defaults: { conversation_eviction_config: { reference_recency: 100, score_factor: 1 } } }, {
    conversation_eviction_config: [{ score_factor: 2 }],
  }],
  ['kvsweep keys per dataset', {
    gpu_class: 'h100',
    max_attempts: 5,
    ready_timeout: 33,
    seed: 4,
    client: { arrival: 'poisson' },
  }, {}, {
    gpu_class: ['h100'],
    max_attempts: [5],
    seed: [4],
    client: [{ kind: 'builtin', arrival: 'poisson' }],
  }],
  ['an external client keeps its placeholders for the worker', { client: { argv: ['my-bench', '--url', '{base_url}', '--out={result_dir}'] } }, {}, {
    client: [{ kind: 'external', argv: ['my-bench', '--url', '{base_url}', '--out={result_dir}'] }],
  }],
  ['a dataset name replaces the file name in ids', { name: 'chat-a' }, {}, { id: ['qwen-8b_chat-a_c10gb_r1_lru'] }],
];

describe.each(rows)('%s', (_name, dataset, top, expected) => {
  it('expands to the expected values', async () => {
    const config = sweepWith(dataset, top);
    const datasets = (config.experiments as { datasets: Array<Record<string, unknown>> }).datasets;
    for (const [key, value] of Object.entries(datasets[0]!)) if (value === undefined) delete datasets[0]![key];
    const { experiments } = await plan(config);
    for (const [field, values] of Object.entries(expected)) {
      expect(experiments.map((e) => (e as Record<string, unknown>)[field]), field).toEqual(values);
    }
  });
});

describe('experiments as a list, each with its own defaults', () => {
  it('lays experiment defaults over global ones, per experiment', async () => {
    const { experiments } = await plan({
      model_name: 'qwen-8b',
      defaults: { num_prompts: 100, time_limit: 60, request_rates: [1] },
      experiments: [
        { defaults: { num_prompts: 200 }, datasets: [{ path: TRACE, cache_sizes: [1] }] },
        { datasets: [{ path: TRACE, cache_sizes: [2], time_limit: 5 }] },
      ],
    });
    expect(experiments.map((e) => [e.cache_size_gb, e.num_prompts, e.time_limit])).toEqual([
      [1, 200, 60],
      [2, 100, 5],
    ]);
  });

  it('keeps file order across experiments and datasets', async () => {
    const { experiments, resolved } = await plan({
      model_name: 'qwen-8b',
      defaults: { request_rates: 1 },
      experiments: [
        { datasets: [{ path: TRACE, cache_sizes: [3] }, { path: 'traces/other-chat.csv', cache_sizes: [1] }] },
        { datasets: [{ path: TRACE, cache_sizes: [2] }] },
      ],
    });
    expect(experiments.map((e) => `${e.dataset.name}:${e.cache_size_gb}`)).toEqual(['tiny-chat:3', 'other-chat:1', 'tiny-chat:2']);
    expect(resolved.datasets.map((d) => d.yaml_path)).toEqual([
      ['experiments', 0, 'datasets', 0],
      ['experiments', 0, 'datasets', 1],
      ['experiments', 1, 'datasets', 0],
    ]);
  });
});

describe('top-level keys', () => {
  it('tag and log_base_dir (relative to the current directory)', async () => {
    const { resolved } = await plan(sweepWith({}, { tag: 'qwen8b', log_base_dir: 'out/runs' }));
    expect(resolved.tag).toBe('qwen8b');
    expect(resolved.log_base_dir).toBe(join(FIXTURES, 'out/runs'));
  });

  it('an absolute log_base_dir stays as it is', async () => {
    const { resolved } = await plan(sweepWith({}, { log_base_dir: '/var/tmp/kv' }));
    expect(resolved.log_base_dir).toBe('/var/tmp/kv');
  });
});

describe('YAML files', () => {
  it('honour merge keys, with anchors kept under x- keys', async () => {
    const s = scratchDir();
    scratch.push(s);
    mkdirSync(join(s.dir, 'traces'));
    copyFileSync(TRACE_PATH, join(s.dir, 'traces/a.csv'));
    const file = s.write(
      'sweep.yaml',
      [
        'x-common: &common',
        '  cache_sizes: [1, 2]',
        '  request_rates: [1]',
        'model_name: qwen-8b',
        'experiments:',
        '  datasets:',
        '    - path: traces/a.csv',
        '      <<: *common',
        '      cache_sizes: [3]',
      ].join('\n'),
    );
    const { experiments, resolved } = await planSweep(file, { ...hermetic, cwd: s.dir });
    expect(experiments.map((e) => e.cache_size_gb)).toEqual([3]);
    expect(resolved.source_file).toBe(file);
  });

  it('take dataset paths from the YAML folder first, then from the current directory (old YAMLs)', async () => {
    const s = scratchDir();
    scratch.push(s);
    mkdirSync(join(s.dir, 'sweeps/traces'), { recursive: true });
    mkdirSync(join(s.dir, 'traces'));
    copyFileSync(TRACE_PATH, join(s.dir, 'traces/only-in-cwd.csv'));
    copyFileSync(TRACE_PATH, join(s.dir, 'traces/both.csv'));
    copyFileSync(TRACE_PATH, join(s.dir, 'sweeps/traces/both.csv'));
    const file = s.write(
      'sweeps/old.yaml',
      [
        'model_name: qwen-8b',
        'defaults: {cache_sizes: 1, request_rates: 1}',
        'experiments:',
        '  datasets: [{path: traces/only-in-cwd.csv}, {path: traces/both.csv}]',
      ].join('\n'),
    );
    const { experiments } = await planSweep(file, { ...hermetic, cwd: s.dir });
    expect(experiments.map((e) => e.dataset.path)).toEqual([join(s.dir, 'traces/only-in-cwd.csv'), join(s.dir, 'sweeps/traces/both.csv')]);
  });
});
