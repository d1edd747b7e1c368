// `kvsweep plan` through the real CLI: the JSON contract, the table, no side effects, and values
// that look like shell syntax staying literal text all the way into a spawned process.
import { existsSync, mkdirSync, readdirSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { ExperimentSpec } from '../../domain/experiment.ts';
import { scratchDir, TRACE_PATH } from './support.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const scratch: Array<{ cleanup: () => void }> = [];
afterEach(() => {
  for (const s of scratch.splice(0)) s.cleanup();
});

/** A scratch folder holding the fixture trace, and a plan runner whose cwd is that folder. */
function workspace() {
  const s = scratchDir();
  scratch.push(s);
  mkdirSync(join(s.dir, 'traces'));
  copyFileSync(TRACE_PATH, join(s.dir, 'traces', 'chat.csv'));
  mkdirSync(join(s.dir, 'config-home'));
  const run = async (args: string[]) => {
    const env: Record<string, string | undefined> = { ...process.env, XDG_CONFIG_HOME: join(s.dir, 'config-home') };
    delete env.KVSWEEP_ENV;
    return execa('node', [join(ROOT, 'bin/kvsweep.js'), 'plan', ...args], { cwd: s.dir, env, extendEnv: false, reject: false });
  };
  return { ...s, run };
}

describe('plan --json', () => {
  it('prints every experiment with the fields of the contract, and touches nothing', async () => {
    const w = workspace();
    w.write(
      'sweep.yaml',
      [
        'tag: t1',
        'model_name: qwen-32b',
        'defaults: {num_prompts: 100, time_limit: 50}',
        'experiments:',
        '  datasets:',
        '    - path: traces/chat.csv',
        '      cache_sizes: [4, 8]',
        '      request_rates: 2',
        '      cache_eviction_strategy: [lru, conversation_aware]',
        '      conversation_eviction_config: {score_factor: 2}',
      ].join('\n'),
    );
    const before = readdirSync(w.dir).sort();
    const result = await w.run(['--yaml', 'sweep.yaml', '--json']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const printed = JSON.parse(String(result.stdout)) as { experiments: unknown[]; notices: unknown[]; datasets: unknown[]; environment: unknown };
    expect(printed.notices).toEqual([]);
    expect(printed.environment).toEqual({ name: 'lmcache', chosen_by: 'default', kind: 'server' });
    expect(printed.datasets).toEqual([expect.objectContaining({ format: 'trace_csv', path: join(w.dir, 'traces', 'chat.csv') })]);
    const experiments = printed.experiments;
    expect(experiments).toHaveLength(4);
    for (const e of experiments) {
      expect(() => ExperimentSpec.parse(e)).not.toThrow();
      expect(Object.keys(e as object)).toEqual(expect.arrayContaining([
        'id', 'model', 'huggingface_path', 'tensor_parallel_size', 'pipeline_parallel_size', 'dataset', 'cache_size_gb',
        'request_rate', 'eviction_strategy', 'conversation_eviction_config', 'num_prompts', 'time_limit', 'mock_decoding', 'server',
      ]));
    }
    const last = ExperimentSpec.parse(experiments[3]);
    expect(last).toMatchObject({
      id: 'qwen-32b_chat_c8gb_r2_conversation_aware',
      tensor_parallel_size: 2,
      cache_size_gb: 8,
      conversation_eviction_config: { score_factor: 2 },
      num_prompts: 100,
      time_limit: 50,
    });
    expect(last.server!.env.LMCACHE_MAX_LOCAL_CPU_SIZE).toBe('4');
    expect(readdirSync(w.dir).sort()).toEqual(before);
  });

  it('without --json prints a table and the count', async () => {
    const w = workspace();
    w.write('sweep.yaml', 'model_name: qwen-8b\nexperiments:\n  datasets:\n    - {path: traces/chat.csv, cache_sizes: [1, 2], request_rates: [1]}\n');
    const result = await w.run(['--yaml', 'sweep.yaml']);
    expect(result.exitCode).toBe(0);
    expect(String(result.stdout)).toContain('qwen-8b_chat_c2gb_r1_lru');
    expect(String(result.stdout)).toContain("2 experiments in environment 'lmcache' (chosen by default).");
  });
});

describe('values that look like shell syntax', () => {
  it('come out of expansion as literal argv text and reach a spawned process unchanged', async () => {
    const w = workspace();
    const marker = join(w.dir, 'pwned');
    const hostile = [`$(touch ${marker})`, `\`touch ${marker}\``, `; touch ${marker}`, `a b'c"d`, '{"json": true}'];
    // A test environment whose "server" prints its argv and one variable, so we see what a process receives.
    w.write(
      'environments.yaml',
      [
        'environments:',
        '  echo:',
        "    command: [node, -e, 'console.log(JSON.stringify([process.argv.slice(1), process.env.HOSTILE]))', '{model_path}']",
        '    strategies: [lru]',
        '    ready_pattern: never',
        '    ready_timeout: 1',
      ].join('\n'),
    );
    w.write(
      'sweep.yaml',
      [
        'model_name: hostile',
        'environment: echo',
        'models:',
        `  hostile: {huggingface_path: ${JSON.stringify(hostile[0])}, max_model_len: 100}`,
        'defaults:',
        `  server_extra_args: ${JSON.stringify(hostile)}`,
        `  server_env: {HOSTILE: ${JSON.stringify(hostile[0])}}`,
        'experiments:',
        '  datasets:',
        '    - {path: traces/chat.csv, cache_sizes: [1], request_rates: [1]}',
      ].join('\n'),
    );
    const result = await w.run(['--yaml', 'sweep.yaml', '--environments', 'environments.yaml', '--json']);
    expect(result.stderr).toBe('');
    const [spec] = (JSON.parse(String(result.stdout)) as { experiments: ExperimentSpec[] }).experiments;
    expect(spec!.server!.argv.slice(3)).toEqual([hostile[0], ...hostile]);
    expect(spec!.server!.env.HOSTILE).toBe(hostile[0]);

    const [program, ...args] = spec!.server!.argv;
    const child = await execa(program!, args, { env: spec!.server!.env });
    expect(JSON.parse(child.stdout)).toEqual([[hostile[0], ...hostile], hostile[0]]);
    expect(existsSync(marker)).toBe(false);
  });
});
