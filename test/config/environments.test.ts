// Environments: the server command and variables each one builds (LMCache variables computed per
// experiment), how one is chosen, and user files that add models and environments.
import { afterEach, describe, expect, it } from 'vitest';
import { chooseEnvironment, type EnvironmentChoiceReason } from '../../domain/config/index.ts';
import { plan, problemsOf, scratchDir, sweepWith } from './support.ts';

const scratch: Array<{ cleanup: () => void }> = [];
afterEach(() => {
  for (const s of scratch.splice(0)) s.cleanup();
});

describe('LMCache variables, per experiment', () => {
  type Row = [model: string, models: Record<string, unknown> | undefined, cacheGb: number, perGpu: string];
  const rows: Row[] = [
    ['qwen-8b', undefined, 10, '10'],
    ['llama-70b', undefined, 10, '2.5'],
    ['qwen-32b', undefined, 5, '2.5'],
    ['qwen-0.5b', undefined, 0, '0'],
    ['tp2pp2', { tp2pp2: { huggingface_path: 'org/m', tensor_parallel_size: 2, pipeline_parallel_size: 2, max_model_len: 4096 } }, 12, '3'],
  ];
  it.each(rows)('%s with %s GB: LMCACHE_MAX_LOCAL_CPU_SIZE = cache GB / GPUs used', async (model, models, cacheGb, perGpu) => {
    const { experiments } = await plan(sweepWith({ cache_sizes: [cacheGb] }, { model_name: model, ...(models ? { models } : {}) }));
    const [e] = experiments;
    expect(e!.server!.env).toEqual({
      VLLM_SERVER_DEV_MODE: '1',
      PYTHONUNBUFFERED: '1',
      PYTHONHASHSEED: '0',
      LMCACHE_CHUNK_SIZE: '256',
      LMCACHE_LOCAL_CPU: 'True',
      LMCACHE_SAVE_DECODE_CACHE: 'true',
      LMCACHE_MAX_LOCAL_CPU_SIZE: perGpu,
      PROMETHEUS_MULTIPROC_DIR: '{scratch_dir}',
    });
    expect(e!.gpu_count).toBe(e!.tensor_parallel_size * e!.pipeline_parallel_size);
  });

  it('conversation-aware experiments get LMCACHE_EXTRA_CONFIG, lru ones do not', async () => {
    const config = { reference_recency: 300, reference_time_interval: 60, score_factor: 1 };
    const { experiments } = await plan(
      sweepWith({ cache_eviction_strategy: ['lru', 'conversation_aware'], conversation_eviction_config: config }),
    );
    const [lru, aware] = experiments;
    expect(lru!.server!.env.LMCACHE_EXTRA_CONFIG).toBeUndefined();
    expect(JSON.parse(aware!.server!.env.LMCACHE_EXTRA_CONFIG!)).toEqual({
      use_conversation_eviction: true,
      conversation_eviction_config: config,
    });
  });

  it('lmcache builds the old runner command as argv, host-time placeholders left for the worker', async () => {
    const { experiments } = await plan(sweepWith({}, { model_name: 'llama-70b' }));
    expect(experiments[0]!.server).toMatchInlineSnapshot(`
      {
        "argv": [
          "vllm",
          "serve",
          "meta-llama/Llama-3.3-70B-Instruct",
          "--served-model-name",
          "meta-llama/Llama-3.3-70B-Instruct",
          "--dtype",
          "half",
          "--gpu_memory_utilization",
          "0.8",
          "--max_num_seqs",
          "128",
          "--max-model-len",
          "16384",
          "--enable-chunked-prefill",
          "--enable-prefix-caching",
          "--port",
          "{port}",
          "--tensor-parallel-size",
          "4",
          "--pipeline-parallel-size",
          "1",
          "--max-num-batched-tokens",
          "16384",
          "--kv-transfer-config",
          "{"kv_connector":"LMCacheConnectorV1","kv_role":"kv_both"}",
          "--quantization",
          "fp8",
        ],
        "env": {
          "LMCACHE_CHUNK_SIZE": "256",
          "LMCACHE_LOCAL_CPU": "True",
          "LMCACHE_MAX_LOCAL_CPU_SIZE": "2.5",
          "LMCACHE_SAVE_DECODE_CACHE": "true",
          "PROMETHEUS_MULTIPROC_DIR": "{scratch_dir}",
          "PYTHONHASHSEED": "0",
          "PYTHONUNBUFFERED": "1",
          "VLLM_SERVER_DEV_MODE": "1",
        },
        "health_path": "/health",
        "lmcache_stats_url": "http://127.0.0.1:{first_gpu+9000}/lmcache/stats",
        "ready_pattern": "Application startup complete",
        "ready_timeout_s": 1200,
      }
    `);
  });

  it('sim runs kvsweep itself with the same arguments and variables', async () => {
    const { experiments } = await plan(sweepWith({ cache_sizes: [0.5] }, { model_name: 'sim-tp2', environment: 'sim' }));
    const { argv, env, ready_timeout_s } = experiments[0]!.server!;
    expect(argv.slice(0, 4)).toEqual(['{kvsweep}', 'sim', 'serve', 'kvsweep/sim-tp2']);
    expect(argv).toContain('--kv-transfer-config');
    expect(argv[argv.indexOf('--tensor-parallel-size') + 1]).toBe('2');
    expect(env.LMCACHE_MAX_LOCAL_CPU_SIZE).toBe('0.25');
    expect(ready_timeout_s).toBe(60);
  });

  it('server_extra_args, server_env and ready_timeout come after the environment', async () => {
    const { experiments } = await plan(
      sweepWith({
        server_extra_args: ['--max-loras', '2', '--cache={cache_size_gb}'],
        server_env: { HF_HOME: '/data/hf', LMCACHE_CHUNK_SIZE: 512 },
        ready_timeout: 90,
      }),
    );
    const { argv, env, ready_timeout_s } = experiments[0]!.server!;
    expect(argv.slice(-3)).toEqual(['--max-loras', '2', '--cache=10']);
    expect(env.HF_HOME).toBe('/data/hf');
    expect(env.LMCACHE_CHUNK_SIZE).toBe('512');
    expect(ready_timeout_s).toBe(90);
  });
});

describe('choosing the environment', () => {
  const rules = [
    { user: 'alice', environment: 'vllm' },
    { home: '/scratch/*', environment: 'sim' },
  ];
  type Row = [name: string, input: Parameters<typeof chooseEnvironment>[0], expected: [string, EnvironmentChoiceReason] | undefined];
  const rows: Row[] = [
    ['--env beats everything', { flag: 'sim', sweep: 'vllm', variable: 'vllm', user: 'alice', rules, fallback: 'lmcache' }, ['sim', '--env']],
    ['the sweep file beats KVSWEEP_ENV', { sweep: 'sim', variable: 'vllm', rules, fallback: 'lmcache' }, ['sim', 'sweep file']],
    ['KVSWEEP_ENV beats the rules', { variable: 'sim', user: 'alice', rules, fallback: 'lmcache' }, ['sim', 'KVSWEEP_ENV']],
    ['a user rule', { user: 'alice', home: '/home/alice', rules, fallback: 'lmcache' }, ['vllm', 'rule']],
    ['a home rule with a wildcard', { user: 'bob', home: '/scratch/bob', rules, fallback: 'lmcache' }, ['sim', 'rule']],
    ['the default when nothing matches', { user: 'bob', home: '/home/bob', rules, fallback: 'lmcache' }, ['lmcache', 'default']],
    ['nothing at all', { rules: [] }, undefined],
  ];
  it.each(rows)('%s', (_name, input, expected) => {
    const choice = chooseEnvironment(input);
    expect(choice ? [choice.name, choice.reason] : undefined).toEqual(expected);
  });

  it('KVSWEEP_ENV and --env reach the plan', async () => {
    const viaVariable = await plan(sweepWith(), { variables: { KVSWEEP_ENV: 'vllm' } });
    expect(viaVariable.resolved.environment).toMatchObject({ name: 'vllm', chosen_by: 'KVSWEEP_ENV' });
    const viaFlag = await plan(sweepWith({}, { environment: 'vllm' }), { env: 'sim' });
    expect(viaFlag.resolved.environment).toMatchObject({ name: 'sim', chosen_by: '--env' });
  });

  it('an unknown --env is an error with a suggestion', async () => {
    expect(await problemsOf(sweepWith(), { env: 'sym' })).toMatchInlineSnapshot(`
      [
        "sweep.yaml: (top level): unknown environment 'sym' (given by --env) (did you mean 'sim'?); known environments: llm-d-sim, lmcache, offline, sim, vllm, vllm-cpu",
      ]
    `);
  });
});

describe('user files', () => {
  it('a user environments file adds environments, a wrapper and rules, and may replace the default', async () => {
    const s = scratchDir();
    scratch.push(s);
    s.write(
      'environments.yaml',
      [
        'default: vllm',
        'select:',
        '  - user: tester',
        '    environment: lmcache-conda',
        'environments:',
        '  lmcache-conda:',
        '    wrapper: [conda, run, --no-capture-output, -n, lmcache]',
        "    command: [vllm, serve, '{model_path}', --port, '{port}']",
        "    env: {HF_HOME: /data/hf, LMCACHE_MAX_LOCAL_CPU_SIZE: '{cache_size_per_gpu_gb}'}",
        '    strategies: [lru]',
        '    ready_pattern: Application startup complete',
        '    ready_timeout: 600',
      ].join('\n'),
    );
    const { resolved, experiments } = await plan(sweepWith(), { userConfigDir: s.dir });
    expect(resolved.environment).toMatchObject({ name: 'lmcache-conda', chosen_by: 'rule' });
    expect(experiments[0]!.server!.argv).toEqual([
      'conda', 'run', '--no-capture-output', '-n', 'lmcache', 'vllm', 'serve', 'Qwen/Qwen3-8B-FP8', '--port', '{port}',
    ]);
    expect(experiments[0]!.server!.env).toEqual({ HF_HOME: '/data/hf', LMCACHE_MAX_LOCAL_CPU_SIZE: '10' });
    const other = await plan(sweepWith(), { userConfigDir: s.dir, user: 'someone-else' });
    expect(other.resolved.environment).toMatchObject({ name: 'vllm', chosen_by: 'default' });
  });

  it('a --models file adds models with per-environment paths and a served name', async () => {
    const s = scratchDir();
    scratch.push(s);
    const file = s.write(
      'models.yaml',
      [
        'models:',
        '  qwen-8b-local:',
        '    huggingface_path: Qwen/Qwen3-8B-FP8',
        '    max_model_len: 8192',
        '    served_model_name: qwen8b',
        '    paths: {lmcache: /models/qwen3-8b-fp8}',
      ].join('\n'),
    );
    const onLmcache = await plan(sweepWith({}, { model_name: 'qwen-8b-local' }), { modelsFiles: [file] });
    expect(onLmcache.experiments[0]).toMatchObject({
      model_path: '/models/qwen3-8b-fp8',
      served_model_name: 'qwen8b',
      huggingface_path: 'Qwen/Qwen3-8B-FP8',
    });
    expect(onLmcache.experiments[0]!.server!.argv.slice(2, 5)).toEqual(['/models/qwen3-8b-fp8', '--served-model-name', 'qwen8b']);
    const onSim = await plan(sweepWith({}, { model_name: 'qwen-8b-local' }), { modelsFiles: [file], env: 'sim' });
    expect(onSim.experiments[0]!.model_path).toBe('Qwen/Qwen3-8B-FP8');
  });

  it('a sweep `models:` entry replaces a registry entry of the same name', async () => {
    const { experiments, resolved } = await plan(
      sweepWith({}, { models: { 'qwen-8b': { huggingface_path: 'me/qwen-fork', max_model_len: 2048 } } }),
    );
    expect(experiments[0]).toMatchObject({ huggingface_path: 'me/qwen-fork', max_model_len: 2048, tensor_parallel_size: 1 });
    expect(Object.keys(resolved.models)).toEqual(['qwen-8b']);
  });

  it('a broken user file is reported with its own name and path', async () => {
    const s = scratchDir();
    scratch.push(s);
    s.write('models.yaml', 'models:\n  mine:\n    huggingface_path: a/b\n    max_model_len: 0\n    paths: {lmcach: /x}\n');
    const problems = await problemsOf(sweepWith(), { userConfigDir: s.dir, cwd: s.dir });
    expect(problems).toEqual(["models.yaml:4:5: models.mine.max_model_len: must be > 0"]);
  });

  it('model paths must name a known environment', async () => {
    expect(
      await problemsOf(sweepWith({}, { models: { mine: { huggingface_path: 'a/b', max_model_len: 10, paths: { lmcach: '/x' } } } })),
    ).toMatchInlineSnapshot(`
      [
        "sweep.yaml: models.mine.paths.lmcach: unknown environment 'lmcach' (did you mean 'lmcache'?)",
      ]
    `);
  });
});
