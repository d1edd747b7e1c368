// The catalog of malformed sweeps (test/config/fixtures/bad/), each run through the real CLI:
// `kvsweep plan` must exit 2, print nothing on stdout, and name the file, the YAML path and the
// problem. The messages are pinned as inline snapshots: they are what users read.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const emptyConfigHome = mkdtempSync(join(tmpdir(), 'kvsweep-empty-config-'));

interface Outcome {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

/** `kvsweep plan ARGS` from the fixtures folder, with no user config and no KVSWEEP_ENV. */
async function runPlan(args: string[]): Promise<Outcome> {
  const env: Record<string, string | undefined> = { ...process.env, XDG_CONFIG_HOME: emptyConfigHome };
  delete env.KVSWEEP_ENV;
  const result = await execa('node', [join(ROOT, 'bin/kvsweep.js'), 'plan', ...args], {
    cwd: FIXTURES,
    env,
    extendEnv: false,
    reject: false,
    timeout: 60_000,
  });
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

// Where each catalog file goes wrong (the YAML path its message must name).
const catalog: Record<string, string> = {
  '01-yaml-syntax.yaml': 'experiments.datasets[0].cache_sizes[1]',
  '02-unknown-top-level-key.yaml': 'tagg',
  '03-unknown-defaults-key.yaml': 'defaults.num_promts',
  '04-unknown-dataset-key.yaml': 'experiments[0].datasets[0].cache_size',
  '05-unknown-experiment-key.yaml': 'experiments[0].dataset',
  '06-misplaced-key.yaml': 'num_prompts',
  '07-wrong-type-in-list.yaml': 'experiments[0].datasets[1].cache_sizes[2]',
  '08-negative-cache-size.yaml': 'experiments.datasets[0].cache_size_gb',
  '09-empty-datasets.yaml': 'experiments[0].datasets',
  '10-empty-cache-sizes.yaml': 'experiments',
  '11-unknown-model.yaml': 'model_name',
  '12-unknown-environment.yaml': 'environment',
  '13-missing-dataset-file.yaml': 'experiments.datasets[0].path',
  '14-duplicate-experiments.yaml': 'experiments[1].datasets[0]',
  '15-colliding-ids.yaml': 'experiments.datasets[1]',
  '16-contradicting-strategy-keys.yaml': 'defaults.use_conversation_evictions',
  '17-bad-lightgbm-mode.yaml': 'defaults.lightgbm_mode[1]',
  '18-oracle-in-live-environment.yaml': 'experiments.datasets[0].cache_eviction_strategy[1]',
  '19-old-and-new-name-together.yaml': 'experiments.datasets[0].cache_size_gb',
  '20-server-log-in-live-environment.yaml': 'experiments.datasets[0].path',
  '21-missing-experiments.yaml': 'experiments',
  '22-unknown-eviction-config-key.yaml': 'defaults.conversation_eviction_config.score_factr',
  '23-secret-not-echoed.yaml': 'defaults.server_env.HF_TOKEN',
  '24-unknown-placeholder.yaml': 'experiments.datasets[0].server_extra_args[1]',
  '25-cuda-visible-devices.yaml': 'defaults.server_env.CUDA_VISIBLE_DEVICES',
  '26-repeated-cache-size.yaml': 'experiments.datasets[0].cache_sizes[2]',
  '27-strategy-environment-cannot-run.yaml': 'experiments.datasets[0].cache_eviction_strategy[1]',
  '28-top-level-not-a-mapping.yaml': '(top level)',
  '29-duplicate-yaml-key.yaml': 'experiments.datasets[0].request_rates',
  '30-client-both-kinds.yaml': 'experiments.datasets[0].client',
  '31-wrong-scalar-types.yaml': 'defaults.num_prompts',
  '32-many-problems-at-once.yaml': 'experiments[1].defaults.time_limt',
  '33-same-blocks-twice.yaml': 'experiments.datasets[0]',
};
const extra: Record<string, string[]> = {
  'missing file': ['--yaml', 'bad/no-such-file.yaml'],
  'unknown --env': ['--yaml', 'good/minimal.yaml', '--env', 'gpu-cluster'],
  'broken --models file': ['--yaml', 'bad/11-unknown-model.yaml', '--models', 'traces/tiny-chat.csv'],
  'missing --yaml': [],
};
const outcomes = new Map<string, Outcome>();

beforeAll(async () => {
  // Three at a time: each is a node process with tsx, on a shared 2-core machine.
  const jobs: Array<[string, string[]]> = [
    ...Object.keys(catalog).map((file): [string, string[]] => [file, ['--yaml', `bad/${file}`]]),
    ...Object.entries(extra),
  ];
  const queue = [...jobs];
  await Promise.all(
    [1, 2, 3].map(async () => {
      for (let job = queue.shift(); job; job = queue.shift()) outcomes.set(job[0], await runPlan(job[1]));
    }),
  );
}, 300_000);

afterAll(() => rmSync(emptyConfigHome, { recursive: true, force: true }));

function failure(name: string): string {
  const outcome = outcomes.get(name)!;
  expect(outcome.exitCode).toBe(2);
  expect(outcome.stdout).toBe('');
  return outcome.stderr.trimEnd();
}

describe('every catalog file', () => {
  it('has at least 20 entries', () => {
    expect(Object.keys(catalog).length).toBeGreaterThanOrEqual(20);
  });
  it.each(Object.entries(catalog))('%s names the file and the YAML path %s', (file, path) => {
    const stderr = failure(file);
    // Line and column, except for problems with the whole file (top level).
    const position = path === '(top level)' ? '' : ':\\d+:\\d+';
    expect(stderr).toMatch(new RegExp(`^  bad/${file.replace('.', '\\.')}${position}: ${path.replace(/[[\].()]/g, '\\$&')}: `, 'm'));
  });
});

describe('messages', () => {
  it('01-yaml-syntax.yaml', () => {
    expect(failure('01-yaml-syntax.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in bad/01-yaml-syntax.yaml):
        bad/01-yaml-syntax.yaml:6:7: experiments.datasets[0].cache_sizes[1]: YAML: Flow sequence in block collection must be sufficiently indented and end with a ]"
    `);
  });
  it('02-unknown-top-level-key.yaml', () => {
    expect(failure('02-unknown-top-level-key.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in bad/02-unknown-top-level-key.yaml):
        bad/02-unknown-top-level-key.yaml:1:1: tagg: unknown key 'tagg' (did you mean 'tag'?)"
    `);
  });
  it('03-unknown-defaults-key.yaml', () => {
    expect(failure('03-unknown-defaults-key.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in bad/03-unknown-defaults-key.yaml):
        bad/03-unknown-defaults-key.yaml:3:3: defaults.num_promts: unknown key 'num_promts' (did you mean 'num_prompts'?)"
    `);
  });
  it('04-unknown-dataset-key.yaml', () => {
    expect(failure('04-unknown-dataset-key.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in bad/04-unknown-dataset-key.yaml):
        bad/04-unknown-dataset-key.yaml:5:9: experiments[0].datasets[0].cache_size: unknown key 'cache_size' (did you mean 'cache_sizes' or 'cache_size_gb'?)"
    `);
  });
  it('05-unknown-experiment-key.yaml', () => {
    expect(failure('05-unknown-experiment-key.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in bad/05-unknown-experiment-key.yaml):
        bad/05-unknown-experiment-key.yaml:3:5: experiments[0].dataset: unknown key 'dataset' (did you mean 'datasets'?)"
    `);
  });
  it('06-misplaced-key.yaml', () => {
    expect(failure('06-misplaced-key.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in bad/06-misplaced-key.yaml):
        bad/06-misplaced-key.yaml:2:1: num_prompts: unknown key 'num_prompts'; 'num_prompts' belongs in \`defaults\` or a dataset entry"
    `);
  });
  it('07-wrong-type-in-list.yaml', () => {
    expect(failure('07-wrong-type-in-list.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in bad/07-wrong-type-in-list.yaml):
        bad/07-wrong-type-in-list.yaml:8:31: experiments[0].datasets[1].cache_sizes[2]: expected a number, got a string"
    `);
  });
  it('08-negative-cache-size.yaml', () => {
    expect(failure('08-negative-cache-size.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in bad/08-negative-cache-size.yaml):
        bad/08-negative-cache-size.yaml:5:7: experiments.datasets[0].cache_size_gb: must be >= 0"
    `);
  });
  it('09-empty-datasets.yaml', () => {
    expect(failure('09-empty-datasets.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in bad/09-empty-datasets.yaml):
        bad/09-empty-datasets.yaml:3:5: experiments[0].datasets: must not be an empty list"
    `);
  });
  it('10-empty-cache-sizes.yaml', () => {
    expect(failure('10-empty-cache-sizes.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in bad/10-empty-cache-sizes.yaml):
        bad/10-empty-cache-sizes.yaml:2:1: experiments: the sweep has no experiment to run: experiments.datasets[0]: cache_sizes is empty: no experiments from this entry"
    `);
  });
  it('11-unknown-model.yaml', () => {
    expect(failure('11-unknown-model.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in bad/11-unknown-model.yaml):
        bad/11-unknown-model.yaml:1:1: model_name: unknown model 'qwen-9b' (did you mean 'qwen-8b' or 'qwen-32b'?); registered: llama-70b, llama-8b, qwen-0.5b, qwen-32b, qwen-8b, sim-small, sim-tp2, tiny-llama (add one under models:, or with --models FILE)"
    `);
  });
  it('12-unknown-environment.yaml', () => {
    expect(failure('12-unknown-environment.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in bad/12-unknown-environment.yaml):
        bad/12-unknown-environment.yaml:1:1: environment: unknown environment 'lmcach' (did you mean 'lmcache'?); known environments: llm-d-sim, lmcache, offline, sim, vllm, vllm-cpu"
    `);
  });
  it('13-missing-dataset-file.yaml', () => {
    expect(failure('13-missing-dataset-file.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in bad/13-missing-dataset-file.yaml):
        bad/13-missing-dataset-file.yaml:4:7: experiments.datasets[0].path: dataset file not found: ../traces/no-such-trace.csv (looked from bad and from the current directory)"
    `);
  });
  it('14-duplicate-experiments.yaml', () => {
    expect(failure('14-duplicate-experiments.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in bad/14-duplicate-experiments.yaml):
        bad/14-duplicate-experiments.yaml:8:9: experiments[1].datasets[0]: experiment 'qwen-8b_tiny-chat_c20gb_r1_lru' is already defined by experiments[0].datasets[0]: the same experiment would run twice"
    `);
  });
  it('15-colliding-ids.yaml', () => {
    expect(failure('15-colliding-ids.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in bad/15-colliding-ids.yaml):
        bad/15-colliding-ids.yaml:7:7: experiments.datasets[1]: experiment id 'qwen-8b_tiny-chat_c10gb_r1_lru' is also the id of an experiment of experiments.datasets[0], which differs in dataset; give one of the two dataset entries a distinct \`name:\`"
    `);
  });
  it('16-contradicting-strategy-keys.yaml', () => {
    expect(failure('16-contradicting-strategy-keys.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in bad/16-contradicting-strategy-keys.yaml):
        bad/16-contradicting-strategy-keys.yaml:3:3: defaults.use_conversation_evictions: contradicts cache_eviction_strategy in the same mapping (false means lru, true means conversation_aware): [lru, conversation_aware] vs [lru]; keep only cache_eviction_strategy"
    `);
  });
  it('17-bad-lightgbm-mode.yaml', () => {
    expect(failure('17-bad-lightgbm-mode.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in bad/17-bad-lightgbm-mode.yaml):
        bad/17-bad-lightgbm-mode.yaml:4:31: defaults.lightgbm_mode[1]: must be one of regression, ranking, classification (did you mean 'ranking'?)"
    `);
  });
  it('18-oracle-in-live-environment.yaml', () => {
    expect(failure('18-oracle-in-live-environment.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in bad/18-oracle-in-live-environment.yaml):
        bad/18-oracle-in-live-environment.yaml:7:38: experiments.datasets[0].cache_eviction_strategy[1]: eviction strategy 'oracle' exists offline only (it evicts by when each conversation comes back, which only a replay of a recorded dataset knows): run it with --env offline (or kvsweep simulate)"
    `);
  });
  it('19-old-and-new-name-together.yaml', () => {
    expect(failure('19-old-and-new-name-together.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in bad/19-old-and-new-name-together.yaml):
        bad/19-old-and-new-name-together.yaml:6:7: experiments.datasets[0].cache_size_gb: 'cache_size_gb' is the old name of 'cache_sizes', which is also given here: keep one"
    `);
  });
  it('20-server-log-in-live-environment.yaml', () => {
    expect(failure('20-server-log-in-live-environment.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in bad/20-server-log-in-live-environment.yaml):
        bad/20-server-log-in-live-environment.yaml:4:7: experiments.datasets[0].path: is an LMCache server log (the old tool's simulator input): an input of the offline simulator (--env offline or kvsweep simulate), not of environment 'lmcache', which replays trace CSVs against a server"
    `);
  });
  it('21-missing-experiments.yaml', () => {
    expect(failure('21-missing-experiments.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in bad/21-missing-experiments.yaml):
        bad/21-missing-experiments.yaml:1:1: experiments: missing required key 'experiments'"
    `);
  });
  it('22-unknown-eviction-config-key.yaml', () => {
    expect(failure('22-unknown-eviction-config-key.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in bad/22-unknown-eviction-config-key.yaml):
        bad/22-unknown-eviction-config-key.yaml:6:5: defaults.conversation_eviction_config.score_factr: unknown key 'score_factr' (did you mean 'score_factor'?)"
    `);
  });
  it('23-secret-not-echoed.yaml', () => {
    expect(failure('23-secret-not-echoed.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (2 problems in bad/23-secret-not-echoed.yaml):
        bad/23-secret-not-echoed.yaml:4:5: defaults.server_env.HF_TOKEN: expected a string (quote it: YAML turns True/yes into a boolean and loses its spelling)
        bad/23-secret-not-echoed.yaml:5:5: defaults.server_env.HF_HOME: expected a string (quote it: YAML turns True/yes into a boolean and loses its spelling)"
    `);
  });
  it('24-unknown-placeholder.yaml', () => {
    expect(failure('24-unknown-placeholder.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in bad/24-unknown-placeholder.yaml):
        bad/24-unknown-placeholder.yaml:7:40: experiments.datasets[0].server_extra_args[1]: unknown placeholder {max_loras} (known: {model} {model_path} {huggingface_path} {served_model_name} {max_model_len} {quantization} {tensor_parallel_size} {pipeline_parallel_size} {gpu_count} {cache_size_gb} {cache_size_per_gpu_gb} {cache_size_bytes} {cache_size_per_gpu_bytes} {cache_size_blocks} {block_size} {hbm_size_gb} {eviction_strategy} {use_conversation_eviction} {conversation_eviction_config_json} {lightgbm_mode} {request_rate} {num_prompts} {time_limit} {seed} {mock_decoding} {real_servers_dir} {port} {gpus} {first_gpu} {scratch_dir})"
    `);
  });
  it('25-cuda-visible-devices.yaml', () => {
    expect(failure('25-cuda-visible-devices.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in bad/25-cuda-visible-devices.yaml):
        bad/25-cuda-visible-devices.yaml:4:5: defaults.server_env.CUDA_VISIBLE_DEVICES: is set by the worker for the GPUs it assigns; it cannot be configured"
    `);
  });
  it('26-repeated-cache-size.yaml', () => {
    expect(failure('26-repeated-cache-size.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in bad/26-repeated-cache-size.yaml):
        bad/26-repeated-cache-size.yaml:5:29: experiments.datasets[0].cache_sizes[2]: cache size 10 is listed twice (also at experiments.datasets[0].cache_sizes[0])"
    `);
  });
  it('27-strategy-environment-cannot-run.yaml', () => {
    expect(failure('27-strategy-environment-cannot-run.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in bad/27-strategy-environment-cannot-run.yaml):
        bad/27-strategy-environment-cannot-run.yaml:8:38: experiments.datasets[0].cache_eviction_strategy[1]: environment 'sim' cannot run eviction strategy 'lightgbm' (it supports lru, conversation_aware)"
    `);
  });
  it('28-top-level-not-a-mapping.yaml', () => {
    expect(failure('28-top-level-not-a-mapping.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in bad/28-top-level-not-a-mapping.yaml):
        bad/28-top-level-not-a-mapping.yaml: (top level): expected a mapping, got a list"
    `);
  });
  it('29-duplicate-yaml-key.yaml', () => {
    expect(failure('29-duplicate-yaml-key.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in bad/29-duplicate-yaml-key.yaml):
        bad/29-duplicate-yaml-key.yaml:7:7: experiments.datasets[0].request_rates: YAML: Map keys must be unique"
    `);
  });
  it('30-client-both-kinds.yaml', () => {
    expect(failure('30-client-both-kinds.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in bad/30-client-both-kinds.yaml):
        bad/30-client-both-kinds.yaml:7:7: experiments.datasets[0].client: give exactly one of \`arrival\` (built-in load generator) or \`argv\` (external client)"
    `);
  });
  it('31-wrong-scalar-types.yaml', () => {
    expect(failure('31-wrong-scalar-types.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (4 problems in bad/31-wrong-scalar-types.yaml):
        bad/31-wrong-scalar-types.yaml:3:3: defaults.num_prompts: expected an integer, got a number
        bad/31-wrong-scalar-types.yaml:4:3: defaults.mock_decoding: expected true or false, got a string
        bad/31-wrong-scalar-types.yaml:5:3: defaults.time_limit: must be > 0
        bad/31-wrong-scalar-types.yaml:10:7: experiments.datasets[0].request_rates: expected a number or a list of them, got a string"
    `);
  });
  it('32-many-problems-at-once.yaml', () => {
    expect(failure('32-many-problems-at-once.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (6 problems in bad/32-many-problems-at-once.yaml):
        bad/32-many-problems-at-once.yaml:1:1: tag: must be letters, digits, ".", "_" or "-" (starting with a letter or digit)
        bad/32-many-problems-at-once.yaml:4:3: defaults.cache_eviction_strategy: must be one of lru, conversation_aware, lightgbm, oracle (did you mean 'lru'?)
        bad/32-many-problems-at-once.yaml:9:9: experiments[0].datasets[0].request_rate: unknown key 'request_rate' (did you mean 'request_rates' or 'request_rate_per_second'?)
        bad/32-many-problems-at-once.yaml:11:7: experiments[1].defaults.time_limt: unknown key 'time_limt' (did you mean 'time_limit'?)
        bad/32-many-problems-at-once.yaml:14:23: experiments[1].datasets[0].cache_sizes[0]: must be >= 0
        bad/32-many-problems-at-once.yaml:15:25: experiments[1].datasets[0].request_rates[0]: must be > 0"
    `);
  });
  it('33-same-blocks-twice.yaml', () => {
    expect(failure('33-same-blocks-twice.yaml')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in bad/33-same-blocks-twice.yaml):
        bad/33-same-blocks-twice.yaml:5:7: experiments.datasets[0]: experiment 'tiny-llama_tiny-chat_c0.002505gb_r1_lru' would run exactly what 'tiny-llama_tiny-chat_c0.0025gb_r1_lru' of experiments.datasets[0] runs: nothing that differs (cache_size_gb) reaches the server or the client"
    `);
  });
  it('missing file', () => {
    expect(failure('missing file')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in bad/no-such-file.yaml):
        bad/no-such-file.yaml: (top level): file not found"
    `);
  });
  it('unknown --env', () => {
    expect(failure('unknown --env')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in good/minimal.yaml):
        good/minimal.yaml: (top level): unknown environment 'gpu-cluster' (given by --env); known environments: llm-d-sim, lmcache, offline, sim, vllm, vllm-cpu"
    `);
  });
  it('broken --models file', () => {
    expect(failure('broken --models file')).toMatchInlineSnapshot(`
      "kvsweep: invalid sweep config (1 problem in traces/tiny-chat.csv):
        traces/tiny-chat.csv:1:1: (top level): YAML: Plain value cannot start with reserved character @"
    `);
  });
  it('missing --yaml', () => {
    expect(failure('missing --yaml')).toMatchInlineSnapshot(`"kvsweep: plan: required option '--yaml <file>' not specified (see --help)"`);
  });

  it('never echoes the rejected secret', () => {
    expect(outcomes.get('23-secret-not-echoed.yaml')!.stderr).not.toContain('hf_SECRET');
  });
});
