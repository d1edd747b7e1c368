// Each construct of the old tool's sweep files, planned end to end through the real CLI
// (`kvsweep plan`, run from the folder the files name their paths from, as the old runner was):
// the experiment count, what they are, the notices in the JSON, and the lines the table prints.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { ExperimentSpec } from '../../domain/experiment.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FOLDER = fileURLToPath(new URL('./fixtures/old-tool/', import.meta.url));
const configHome = mkdtempSync(join(tmpdir(), 'kvsweep-old-tool-'));
afterAll(() => rmSync(configHome, { recursive: true, force: true }));

async function plan(args: string[]) {
  const env: Record<string, string | undefined> = { ...process.env, XDG_CONFIG_HOME: configHome };
  delete env.KVSWEEP_ENV;
  const result = await execa('node', [join(ROOT, 'bin/kvsweep.js'), 'plan', ...args], { cwd: FOLDER, env, extendEnv: false, reject: false, timeout: 60_000 });
  return { code: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

interface Planned {
  experiments: ExperimentSpec[];
  notices: Array<{ file: string; path: Array<string | number>; line?: number; message: string }>;
  datasets: Array<Record<string, unknown>>;
  environment: { name: string; kind: string };
}

type Row = [file: string, env: string | null, count: number, check: (p: Planned) => void, notices: string[]];
const rows: Row[] = [
  ['gpu-tier-sweep.yaml', null, 12, (p) => {
    expect(new Set(p.experiments.map((e) => e.gpu_count))).toEqual(new Set([4]));
    expect(new Set(p.experiments.map((e) => e.eviction_strategy))).toEqual(new Set(['lru', 'conversation_aware']));
    expect(p.experiments.every((e) => e.hbm_size_gb === 80 && e.server!.argv.includes('--quantization'))).toBe(true);
  }, ['defaults.hbm_size: has no effect in environment']],
  ['global-eviction-config.yaml', null, 8, (p) => {
    const aware = p.experiments.filter((e) => e.eviction_strategy === 'conversation_aware');
    expect(aware.map((e) => e.conversation_eviction_config)).toEqual(Array(4).fill({ reference_recency: 50, reference_time_interval: 20, score_factor: 2 }));
  }, []],
  ['dataset-left-out.yaml', null, 8, (p) => {
    expect(new Set(p.experiments.map((e) => e.dataset.name))).toEqual(new Set(['morning']));
    expect(p.experiments.every((e) => e.gpu_count === 2)).toBe(true);
  }, ['experiments.datasets[1]: request_rates is empty: no experiments from this entry']],
  ['per-dataset-override.yaml', null, 8, (p) => {
    expect(new Set(p.experiments.map((e) => e.eviction_strategy))).toEqual(new Set(['lru']));
  }, []],
  ['old-defaults.yaml', null, 2, (p) => {
    expect(p.experiments.map((e) => [e.id, e.num_prompts, e.time_limit])).toEqual([
      ['qwen-8b_evening_c64gb_r1_lru', 200, 300],
      ['qwen-8b_evening_c64gb_r1_lightgbm-regression', 200, 300],
    ]);
  }, [
    "defaults.cache_eviction_strategy[1]: no lightgbm_mode given: the old runner's default regression is used",
    "defaults.chunk_size: has no effect in environment 'lmcache'",
    "experiments.datasets[0]: no cache_sizes given (nor cache_size_gb): the old runner's default 64 GB is used",
    "experiments.datasets[0]: no request_rates given (nor request_rate_per_second): the old runner's default 1 is used",
  ]],
  ['offline-simulation.yaml', 'offline', 15, (p) => {
    expect(p.environment).toMatchObject({ name: 'offline', kind: 'offline' });
    expect(p.experiments.filter((e) => e.eviction_strategy === 'oracle')).toHaveLength(3);
    expect(p.experiments.filter((e) => e.eviction_strategy === 'lightgbm').map((e) => e.lightgbm_mode)).toEqual([
      'regression', 'classification', 'regression', 'classification', 'regression', 'classification',
    ]);
    for (const e of p.experiments) {
      expect(e).toMatchObject({ server: null, dataset: { name: 'trace_a', format: 'server_log' }, request_rate: 1 });
      expect(e.offline).toEqual({ cache_model: 'kvsweep', max_concurrent_requests: 16, max_context_length: 8192, chunk_size: 128, block_size: 16 });
    }
    expect(p.datasets).toEqual([expect.objectContaining({ format: 'server_log', requests: 3, client_sends: 3, client_dones: 3 })]);
  }, []],
];

const outcomes = new Map<string, Awaited<ReturnType<typeof plan>>>();
const key = (file: string, env: string | null) => `${file} ${env ?? ''}`;
beforeAll(async () => {
  // Two at a time: each is a node process, on a shared 2-core machine.
  const queue: Array<[string, string[]]> = [
    ...rows.map(([file, env]): [string, string[]] => [key(file, env), ['--yaml', file, '--json', ...(env ? ['--env', env] : [])]]),
    ...rows.map(([file, env]): [string, string[]] => [`${key(file, env)} table`, ['--yaml', file, ...(env ? ['--env', env] : [])]]),
    ['simulation without --env', ['--yaml', 'offline-simulation.yaml']],
    ['gpu sweep in vllm', ['--yaml', 'gpu-tier-sweep.yaml', '--env', 'vllm']],
  ];
  await Promise.all([1, 2].map(async () => {
    for (let job = queue.shift(); job; job = queue.shift()) outcomes.set(job[0], await plan(job[1]));
  }));
}, 300_000);

describe.each(rows)('%s (--env %s)', (file, env, count, check, notices) => {
  it(`plans ${count} experiments with the old tool's meaning`, () => {
    const result = outcomes.get(key(file, env))!;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const planned = JSON.parse(result.stdout) as Planned;
    expect(planned.experiments).toHaveLength(count);
    for (const e of planned.experiments) ExperimentSpec.parse(e);
    check(planned);
    expect(planned.notices).toHaveLength(notices.length);
    planned.notices.forEach((notice, i) => {
      expect(notice.file).toBe(file);
      expect(notice.line).toBeGreaterThan(0);
      expect(`${formatNoticePath(notice.path)}: ${notice.message}`).toContain(notices[i]);
    });
  });

  it('prints one line per notice and per dataset file with the table', () => {
    const result = outcomes.get(`${key(file, env)} table`)!;
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines.filter((line) => line.startsWith('notice: '))).toHaveLength(notices.length);
    expect(lines.some((line) => /^(trace|server log) \S+: \d+ (rows|requests)?/.test(line))).toBe(true);
    expect(result.stdout).toContain(`${count} experiments in environment`);
  });
});

it('the simulation file without --env offline is refused with why', () => {
  const result = outcomes.get('simulation without --env')!;
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('experiments.datasets[0].path: is an LMCache server log');
  expect(result.stderr).toContain("experiments.datasets[0].cache_eviction_strategy[2]: eviction strategy 'oracle' exists offline only");
});

it('the GPU-tier sweep in vllm (cache sizes = GPU KV cache) is refused where it cannot run', () => {
  const result = outcomes.get('gpu sweep in vllm')!;
  expect(result.code).toBe(2);
  expect(result.stderr).toContain("defaults.use_conversation_evictions[1]: environment 'vllm' cannot run eviction strategy 'conversation_aware'");
  expect(result.stderr).toContain('cache_sizes[2]: the GPU KV cache of 400 GB is 100 GB on each of 4 GPU(s), which does not fit in hbm_size 80 GB');
});

function formatNoticePath(path: Array<string | number>): string {
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}
