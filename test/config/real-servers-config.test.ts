// The real-server environments (vllm-cpu, llm-d-sim) and what they need from the template layer:
// {real_servers_dir} from the installation (also in model paths), cache GB as bytes and as blocks
// of the environment's block_size x the model's kv_bytes_per_token, and the errors when a value
// cannot be computed. The committed examples must plan as docs/real-servers.md says.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { expandSweep, ResolvedSweep } from '../../domain/config/index.ts';
import { INSTALLATION_DIR, planSweep } from '../../config-files/load-sweep.ts';
import { FIXTURES, hermetic, plan, problemsOf, sweepWith } from './support.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEFAULT_DIR = join(ROOT, '.kvsweep', 'real-servers');

/** The value after a flag in an argv. */
function flag(argv: readonly string[], name: string): string | undefined {
  const at = argv.indexOf(name);
  return at < 0 ? undefined : argv[at + 1];
}

describe('{real_servers_dir}', () => {
  type Row = [variables: Record<string, string>, expected: string];
  const rows: Row[] = [
    [{}, DEFAULT_DIR],
    [{ KVSWEEP_REAL_SERVERS_DIR: '/opt/kvsweep-servers' }, '/opt/kvsweep-servers'],
    [{ KVSWEEP_REAL_SERVERS_DIR: 'servers' }, join(FIXTURES, 'servers')], // relative: from the cwd
    [{ KVSWEEP_HOME: '/elsewhere' }, DEFAULT_DIR], // the provisioning script does not read KVSWEEP_HOME
  ];
  it.each(rows)('variables %j: %s', async (variables, expected) => {
    expect(INSTALLATION_DIR).toBe(ROOT);
    const cpu = await plan(sweepWith({ cache_sizes: [0.01] }, { model_name: 'tiny-llama', environment: 'vllm-cpu' }), { variables });
    const [vllm] = cpu.experiments;
    expect(cpu.resolved.installation).toEqual({ real_servers_dir: expected });
    expect(vllm!.server!.argv[0]).toBe(join(expected, 'venv/bin/python'));
    expect(vllm!.model_path).toBe(join(expected, 'model'));
    expect(flag(vllm!.server!.argv, '--model')).toBe(join(expected, 'model'));
    const sim = await plan(sweepWith({ cache_sizes: [0.01] }, { model_name: 'tiny-llama', environment: 'llm-d-sim' }), { variables });
    expect(sim.experiments[0]!.server!.argv[0]).toBe(join(expected, 'go/bin/llm-d-inference-sim'));
    // No local path for the simulator: the hub-style name, never used by its command.
    expect(sim.experiments[0]!.model_path).toBe('kvsweep/tiny-llama');
  });

  it('a sweep resolved without it (an older kvsweep) fails to expand with the reason, not a literal path', async () => {
    const { resolved } = await plan(sweepWith({}, { model_name: 'tiny-llama', environment: 'vllm-cpu' }));
    const old = ResolvedSweep.parse(JSON.parse(JSON.stringify({ ...resolved, installation: undefined })));
    expect(() => expandSweep(old)).toThrow(/placeholder \{real_servers_dir\} in model 'tiny-llama' paths\.vllm-cpu has no value because the sweep was resolved without the installation's folders/);
    // Sweeps that do not use it still expand as before.
    const { resolved: plain } = await plan(sweepWith());
    expect(expandSweep({ ...plain, installation: undefined })).toHaveLength(1);
  });

  it('model paths may hold only the installation placeholders', async () => {
    const models = { mine: { huggingface_path: 'a/b', max_model_len: 10, paths: { lmcache: '/models/{model}', sim: '{real_servers_dir}/m' } } };
    expect(await problemsOf(sweepWith({}, { model_name: 'mine', models }))).toEqual([
      'sweep.yaml: models.mine.paths.lmcache: unknown placeholder {model} in a model path (allowed: {real_servers_dir})',
    ]);
    const good = { mine: { ...models.mine, paths: { sim: '{real_servers_dir}/m' } } };
    const fine = await plan(sweepWith({}, { model_name: 'mine', models: good, environment: 'sim' }));
    expect(fine.experiments[0]!.model_path).toBe(join(DEFAULT_DIR, 'm'));
  });
});

describe('cache sizes in bytes and blocks', () => {
  // cache GB -> bytes (x 10^9, rounded) -> blocks of block_size x kv_bytes_per_token (rounded down).
  type Row = [environment: string, model: string, kvBytesPerToken: number | null, gb: number, bytes: string, blocks: string | null];
  const rows: Row[] = [
    ['llm-d-sim', 'tiny-llama', null, 0.0025, '2500000', '152'], // 2,500,000 / (16 x 1024) = 152.6
    ['llm-d-sim', 'tiny-llama', null, 0.02, '20000000', '1220'],
    ['llm-d-sim', 'tiny-llama', null, 1, '1000000000', '61035'],
    ['vllm-cpu', 'tiny-llama', null, 0.00052, '520000', '15'], // 0.00052 x 10^9 is 519999.99999999994 in floating point
    ['llm-d-sim', 'fat', 131072, 0.5, '500000000', '238'], // 16 x 128 KiB = 2 MiB blocks: 238.4
    ['vllm-cpu', 'tiny-llama', null, 0.0025, '2500000', '76'], // 32-token blocks
    ['vllm-cpu', 'tiny-llama', null, 0.00213, '2130000', '65'], // the least vLLM accepts for max_model_len 2048
  ];
  it.each(rows)('%s, model %s (%s bytes a token), %s GB: %s bytes, %s blocks', async (environment, model, kv, gb, bytes, blocks) => {
    const models = kv === null ? undefined : { [model]: { huggingface_path: 'org/fat', max_model_len: 4096, kv_bytes_per_token: kv } };
    const config = sweepWith(
      { cache_sizes: [gb], server_extra_args: ['--x-bytes', '{cache_size_bytes}', '--x-blocks={cache_size_blocks}', '--x-block', '{block_size}'] },
      { model_name: model, environment, ...(models ? { models } : {}) },
    );
    const [e] = (await plan(config)).experiments;
    const argv = e!.server!.argv;
    expect(flag(argv, '--x-bytes')).toBe(bytes);
    expect(argv).toContain(`--x-blocks=${blocks}`);
    expect(flag(argv, '--x-block')).toBe(environment === 'llm-d-sim' ? '16' : '32');
    if (environment === 'llm-d-sim') expect(flag(argv, '--kv-cache-size')).toBe(blocks);
    else expect(flag(argv, '--kv-cache-memory-bytes')).toBe(bytes);
    expect(flag(argv, '--block-size')).toBe(flag(argv, '--x-block'));
  });

  type Missing = [what: string, config: Record<string, unknown>, message: string];
  const missing: Missing[] = [
    [
      'a model without kv_bytes_per_token',
      sweepWith({}, { model_name: 'sim-small', environment: 'llm-d-sim' }),
      "sweep.yaml: experiments.datasets[0]: placeholder {cache_size_blocks} in environment 'llm-d-sim' command[8] has no value because model 'sim-small' sets no kv_bytes_per_token",
    ],
    [
      'an environment without block_size',
      sweepWith({ server_extra_args: ['{cache_size_blocks}'] }, { model_name: 'tiny-llama', environment: 'sim' }),
      "sweep.yaml: experiments.datasets[0]: placeholder {cache_size_blocks} in server_extra_args[0] has no value because environment 'sim' sets no block_size",
    ],
    [
      '{block_size} where the environment sets none',
      sweepWith({ server_env: { BLOCK: '{block_size}' } }, { model_name: 'qwen-8b' }),
      "sweep.yaml: experiments.datasets[0]: placeholder {block_size} in server_env.BLOCK has no value because environment 'lmcache' sets no block_size",
    ],
    [
      'a cache smaller than one block',
      sweepWith({ cache_sizes: [0.00001] }, { model_name: 'tiny-llama', environment: 'llm-d-sim' }),
      "sweep.yaml: experiments.datasets[0]: placeholder {cache_size_blocks} in environment 'llm-d-sim' command[8] has no value because 0.00001 GB holds no whole block of 16 tokens x 1024 bytes",
    ],
  ];
  it.each(missing)('%s is an error naming the reason', async (_what, config, message) => {
    expect(await problemsOf(config)).toEqual([message]);
  });

  it('two cache sizes that round to the same number of blocks are the same experiment', async () => {
    // 2,510,000 and 2,520,000 bytes are both 153 blocks of 16,384 bytes.
    const problems = await problemsOf(sweepWith({ cache_sizes: [0.00251, 0.00252] }, { model_name: 'tiny-llama', environment: 'llm-d-sim' }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/experiment 'tiny-llama_tiny-chat_c0\.00252gb_r1_lru' would run exactly what 'tiny-llama_tiny-chat_c0\.00251gb_r1_lru'/);
    // In vllm-cpu the same sizes are different byte counts: two experiments.
    expect((await plan(sweepWith({ cache_sizes: [0.00251, 0.00252] }, { model_name: 'tiny-llama', environment: 'vllm-cpu' }))).experiments).toHaveLength(2);
  });

  it('an environment block_size must be a positive integer', async () => {
    const { scratchDir } = await import('./support.ts');
    const s = scratchDir();
    try {
      const file = s.write('environments.yaml', "environments:\n  mine:\n    command: [x, '{cache_size_blocks}']\n    block_size: 0.5\n    strategies: [lru]\n    ready_pattern: up\n    ready_timeout: 5\n");
      expect(await problemsOf(sweepWith({}, { environment: 'mine' }), { environmentsFiles: [file], cwd: s.dir })).toContain(
        'environments.yaml:4:5: environments.mine.block_size: expected an integer, got a number',
      );
    } finally {
      s.cleanup();
    }
  });
});

describe('the examples in configs/examples', () => {
  type Row = [file: string, environment: string, cacheFlag: string, values: string[]];
  const rows: Row[] = [
    ['vllm-cpu.yaml', 'vllm-cpu', '--kv-cache-memory-bytes', ['2500000', '20000000']],
    ['llm-d-sim.yaml', 'llm-d-sim', '--kv-cache-size', ['152', '1220']],
  ];
  it.each(rows)('%s plans 2 cache sizes in %s, the sizes reaching the server as %s', async (file, environment, cacheFlag, values) => {
    const { resolved, experiments } = await planSweep(join(ROOT, 'configs', 'examples', file), { ...hermetic, cwd: ROOT });
    expect(resolved.environment).toMatchObject({ name: environment, chosen_by: 'sweep file' });
    expect(experiments.map((e) => flag(e.server!.argv, cacheFlag))).toEqual(values);
    for (const e of experiments) {
      expect(e.served_model_name).toBe('tiny-llama');
      expect(e.dataset.path).toBe(join(ROOT, 'configs', 'traces', 'real-servers-chat.csv'));
      expect(e.server!.argv[0]!.startsWith(DEFAULT_DIR)).toBe(true);
      expect(flag(e.server!.argv, '--port')).toBe('{port}');
    }
  });

  it('plan --json shows the absolute paths, from KVSWEEP_REAL_SERVERS_DIR when set', async () => {
    // No user config files (XDG_CONFIG_HOME of nothing): the built-in environment, as shipped.
    const env: Record<string, string | undefined> = { ...process.env, KVSWEEP_REAL_SERVERS_DIR: '/srv/real-servers', XDG_CONFIG_HOME: join(ROOT, 'no-such-config-home') };
    delete env.KVSWEEP_ENV;
    const result = await execa('node', [join(ROOT, 'bin/kvsweep.js'), 'plan', '--yaml', 'configs/examples/vllm-cpu.yaml', '--json'], { cwd: ROOT, env, extendEnv: false });
    const [first] = (JSON.parse(result.stdout) as { experiments: Array<{ model_path: string; server: { argv: string[] } }> }).experiments;
    expect(first!.model_path).toBe('/srv/real-servers/model');
    expect(first!.server!.argv.slice(0, 5)).toEqual(['/srv/real-servers/venv/bin/python', '-m', 'vllm.entrypoints.openai.api_server', '--model', '/srv/real-servers/model']);
  });
});
