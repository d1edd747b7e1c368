// How a sweep's offline ExperimentSpec becomes the input of the cache model it names (pure: planned
// specs of the old-tool fixture, no process, no Temporal).
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { planSweepObject } from '../../config-files/load-sweep.ts';
import { UserError } from '../../domain/errors.ts';
import type { ExperimentSpec } from '../../domain/experiment.ts';
import { offlineRunOf } from '../../offline/from-spec.ts';
import { OLD_RUNNER_BYTES_PER_TOKEN } from '../../offline/old-simulator/bytes-per-token.ts';
import { parseOfflineExperiment } from '../../offline/run.ts';
import { OldSimulatorInput } from '../../offline/old-simulator/schema.ts';
import { projectRoot } from '../../platform/paths.ts';

let dir: string;
async function plan(defaults: Record<string, unknown>, strategies: string[], env = 'offline'): Promise<ExperimentSpec[]> {
  const config = {
    model_name: 'qwen-8b',
    defaults,
    experiments: { datasets: [{ path: join(dir, 'outputs/logs/server_trace_a.log'), name: 'a', cache_sizes: [20], request_rates: [2], cache_eviction_strategy: strategies }] },
  };
  return (await planSweepObject(config, { env, userConfigDir: null, variables: {} })).experiments;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kvsweep-from-spec-'));
  cpSync(join(projectRoot, 'test', 'config', 'fixtures', 'old-tool'), dir, { recursive: true });
});

describe('offlineRunOf', () => {
  it("kvsweep's model: the dataset by its format, the offline settings onto the engine's", async () => {
    const [spec] = await plan({ max_concurrent_requests: 16, max_context_length: 8192, chunk_size: 128, block_size: 32 }, ['oracle']);
    const run = offlineRunOf(spec!);
    if (run.cache_model !== 'kvsweep') throw new Error(run.cache_model);
    const e = parseOfflineExperiment(run.experiment);
    expect(e.input).toEqual({ kind: 'server_log', path: join(dir, 'outputs/logs/server_trace_a.log') });
    expect(e).toMatchObject({ model: 'Qwen/Qwen3-8B-FP8', policy: 'oracle', cache_size_gb: 20, cache_tier: 'cpu', request_rate: 2, max_model_len: 8192 });
    expect(e.engine).toMatchObject({ max_num_seqs: 16, chunk_size: 128, block_size: 32 });
  });

  it("kvsweep's model, no settings: the engine's defaults and the registry's max_model_len", async () => {
    const [spec] = await plan({}, ['lru']);
    const run = offlineRunOf(spec!);
    if (run.cache_model !== 'kvsweep') throw new Error(run.cache_model);
    const e = parseOfflineExperiment(run.experiment);
    expect(e.engine).toMatchObject({ max_num_seqs: 128, chunk_size: 256, block_size: 16 });
    expect(e.max_model_len).toBe(spec!.max_model_len);
  });

  it("lightgbm in kvsweep's model: the policy and its mode, as kvsweep search and simulate map it", async () => {
    const [spec] = await plan({ lightgbm_mode: 'ranking' }, ['lightgbm']);
    const run = offlineRunOf(spec!);
    if (run.cache_model !== 'kvsweep') throw new Error(run.cache_model);
    const e = parseOfflineExperiment(run.experiment);
    expect(e.policy).toBe('lightgbm');
    expect(e.lightgbm.mode).toBe('ranking');
  });

  it("the old simulator's model: the log pair, the model's KV bytes per token, lightgbm's mode", async () => {
    const specs = await plan({ cache_model: 'old-simulator', lightgbm_mode: 'ranking' }, ['lru', 'lightgbm']);
    for (const spec of specs) {
      const run = offlineRunOf(spec);
      if (run.cache_model !== 'old-simulator') throw new Error(run.cache_model);
      const input = OldSimulatorInput.parse(run.input);
      expect(input.source).toEqual({ kind: 'log-pair', server_log: join(dir, 'outputs/logs/server_trace_a.log') });
      expect(input).toMatchObject({ cache_size_gb: 20, policy: spec.eviction_strategy, bytes_per_token: OLD_RUNNER_BYTES_PER_TOKEN, model_name: 'qwen-8b' });
      if (spec.eviction_strategy === 'lightgbm') expect(input.lightgbm.mode).toBe('ranking');
    }
  });

  it('a server environment\'s spec has no offline run', async () => {
    const config = { model_name: 'sim-small', experiments: { datasets: [{ path: join(projectRoot, 'test/fixtures/traces/chat-small.csv'), cache_sizes: [1] }] } };
    const [spec] = (await planSweepObject(config, { env: 'sim', userConfigDir: null, variables: {} })).experiments;
    expect(() => offlineRunOf(spec!)).toThrow(/not an offline experiment/);
  });
});
