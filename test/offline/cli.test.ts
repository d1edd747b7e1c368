// `kvsweep simulate` as a user runs it: a real process, every size x policy into its own result
// folder, a table on stdout, simulate.json beside; bad input exits 2 with what is wrong.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoadgenResult } from '../../loadgen/result-schema.ts';
import { writeSynthTrace } from '../../loadgen/trace-cli.ts';
import { DEFAULT_SYNTH_OPTIONS } from '../../loadgen/trace-synth.ts';
import { runKvsweep } from '../support/processes.ts';

let dir: string;
let trace: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kvsweep-simulate-cli-'));
  trace = join(dir, 'chat.csv');
  await writeSynthTrace(trace, { ...DEFAULT_SYNTH_OPTIONS, conversations: 40, seed: 9 });
  await writeFile(join(dir, 'server.yaml'), 'model_name: sim-small\nexperiments:\n  datasets:\n    - path: chat.csv\n      cache_sizes: [1]\n      request_rates: [1]\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('kvsweep simulate', () => {
  it('runs every cache size x policy offline and prints one row each', { timeout: 120_000 }, async () => {
    const out = join(dir, 'out');
    const { code, output } = await runKvsweep(
      ['simulate', '--trace', trace, '--model', 'kvsweep/sim-small', '--max-model-len', '8192', '--cache-size', '0.01,0.1', '--policy', 'lru,ORACLE', '--rate', '2', '--out', out],
      {},
    );
    expect(code, output).toBe(0);
    for (const id of ['lru_c0.01gb_r2', 'lru_c0.1gb_r2', 'oracle_c0.01gb_r2', 'oracle_c0.1gb_r2']) {
      expect(output).toContain(`${id}: hit `);
      const result = LoadgenResult.parse(JSON.parse(await readFile(join(out, id, 'result.json'), 'utf8')));
      expect(result.request_rate).toBe(2);
      expect(existsSync(join(out, id, 'requests.jsonl'))).toBe(true);
    }
    expect(output).toMatch(/│ policy +│ cache GB │ rate │ requests +│ hit % +│/);
    expect(output).toMatch(/│ oracle +│ 0\.1 +│ 2 +│ \d+\/\d+ +│ \d+\.\d\d +│/);
    const summary = JSON.parse(await readFile(join(out, 'simulate.json'), 'utf8')) as { experiments: unknown[] };
    expect(summary.experiments).toHaveLength(4);
  });

  it.each([
    [['--model', 'kvsweep/sim-small', '--cache-size', '1', '--policy', 'lru', '--out', 'x'], 'simulate: give exactly one of --trace FILE, --requests FILE, --log FILE (see --help)'],
    [['--trace', 'missing.csv', '--model', 'kvsweep/sim-small', '--cache-size', '1', '--policy', 'lru', '--out', 'x'], 'trace file not found: missing.csv'],
    [['--trace', 'x.csv', '--model', 'kvsweep/sim-small', '--cache-size', '1', '--policy', 'mru', '--out', 'x'], "simulate: option '--policy <p,...>' argument 'mru' is invalid. unknown policy 'mru' (lru, conversation_aware, oracle, lightgbm) (see --help)"],
    [['--trace', 'x.csv', '--model', 'kvsweep/sim-small', '--cache-size', '-1', '--policy', 'lru', '--out', 'x'], "simulate: option '--cache-size <gb,...>' argument '-1' is invalid. expected a size in GB >= 0, got '-1' (see --help)"],
    [['--trace', 'x.csv', '--cache-size', '1', '--policy', 'lru', '--out', 'x'], 'simulate: --model is required (or give a sweep file with --yaml FILE)'],
    [['--yaml', 'server.yaml', '--env', 'sim'], "simulate: environment 'sim' runs a server; run its sweep with `kvsweep run --yaml server.yaml --env sim`"],
  ])('exits 2 on bad input: %j', async (args, message) => {
    const { code, output } = await runKvsweep(['simulate', ...args], {}, 60_000, dir);
    expect(code, output).toBe(2);
    expect(output.trim()).toBe(`kvsweep: ${message}`);
  });
});
