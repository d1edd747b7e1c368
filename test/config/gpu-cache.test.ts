// GPU-only cache sweeps (environment `vllm`: cache_sizes is vLLM's GPU KV cache, per GPU through
// --kv-cache-memory-bytes), what hbm_size checks there, and the registry's quantization field.
import { describe, expect, it } from 'vitest';
import { formatNotice } from '../../domain/config/index.ts';
import { plan, problemsOf, sweepWith } from './support.ts';

const flag = (argv: readonly string[], name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);

describe('vllm sweeps its GPU KV cache', () => {
  type Row = [model: string, sizes: number[], perGpuBytes: string[]];
  const rows: Row[] = [
    ['qwen-8b', [10, 20, 40], ['10000000000', '20000000000', '40000000000']],
    ['qwen-32b', [10, 20.5], ['5000000000', '10250000000']],
    ['llama-70b', [32, 100], ['8000000000', '25000000000']],
  ];
  it.each(rows)('%s: --kv-cache-memory-bytes is cache GB x 10^9 / GPUs, each size its own experiment', async (model, sizes, perGpuBytes) => {
    const { experiments } = await plan(sweepWith({ cache_sizes: sizes }, { model_name: model }), { env: 'vllm' });
    expect(experiments.map((e) => flag(e.server!.argv, '--kv-cache-memory-bytes'))).toEqual(perGpuBytes);
    for (const e of experiments) expect(e.server!.argv).toContain('--enable-prompt-tokens-details');
  });

  it('a cache that cannot hold one max_model_len request is refused before vLLM loads its weights', async () => {
    // qwen-8b: 16384 tokens x 147456 bytes = 2.42 GB.
    expect(await problemsOf(sweepWith({ cache_sizes: [2, 0, 4] }), { env: 'vllm' })).toEqual([
      "sweep.yaml: experiments.datasets[0].cache_sizes[0]: 2 GB holds 13563 tokens of model 'qwen-8b' (147456 bytes each), fewer than its max_model_len 16384: vLLM refuses to start",
      "sweep.yaml: experiments.datasets[0].cache_sizes[1]: environment 'vllm' holds its KV cache on the GPU: a cache of 0 GB serves no request",
    ]);
  });

  it("with hbm_size, each GPU's share must fit in it", async () => {
    // llama-70b on 4 GPUs with 40 GB each (the old llama-70b.yaml's hbm_size): 256 GB is 64 GB a GPU.
    const problems = await problemsOf(sweepWith({ cache_sizes: [128, 256] }, { model_name: 'llama-70b', defaults: { hbm_size: 40 } }), { env: 'vllm' });
    expect(problems).toEqual([
      'sweep.yaml: experiments.datasets[0].cache_sizes[1]: the GPU KV cache of 256 GB is 64 GB on each of 4 GPU(s), which does not fit in hbm_size 40 GB next to the weights',
    ]);
  });

  it('records hbm_size with each experiment (for the results), in any environment', async () => {
    const { experiments } = await plan(sweepWith({ hbm_size: 141 }), { env: 'vllm' });
    expect(experiments[0]!.hbm_size_gb).toBe(141);
  });
});

describe('quantization', () => {
  it("llama-70b is fp8, passed as --quantization where the environment has quantization_args", async () => {
    for (const env of ['lmcache', 'vllm', 'sim']) {
      const { experiments, notices } = await plan(sweepWith({ cache_sizes: [64] }, { model_name: 'llama-70b' }), { env });
      expect([env, flag(experiments[0]!.server!.argv, '--quantization')]).toEqual([env, 'fp8']);
      expect(notices).toEqual([]);
    }
  });

  it('an unquantized model gets no flag', async () => {
    const { experiments } = await plan(sweepWith({}, { model_name: 'qwen-8b' }));
    expect(experiments[0]!.server!.argv).not.toContain('--quantization');
  });

  it('an environment that cannot pass it says so in a notice', async () => {
    const models = { 'tiny-fp8': { huggingface_path: 'kvsweep/tiny-llama', max_model_len: 2048, kv_bytes_per_token: 1024, quantization: 'fp8' } };
    const { experiments, notices } = await plan(sweepWith({ cache_sizes: [0.01] }, { model_name: 'tiny-fp8', models }), { env: 'llm-d-sim' });
    expect(experiments[0]!.server!.argv).not.toContain('fp8');
    expect(notices.map(formatNotice)).toEqual([
      "sweep.yaml: model_name: model 'tiny-fp8' is quantized (fp8), but environment 'llm-d-sim' has no quantization_args: its server is not told, and loads the weights as it sees fit",
    ]);
  });

  it('{quantization} in a template of an unquantized model is an error that says why', async () => {
    expect(await problemsOf(sweepWith({ server_extra_args: ['-q', '{quantization}'] }))).toEqual([
      "sweep.yaml: experiments.datasets[0]: placeholder {quantization} in server_extra_args[1] has no value because model 'qwen-8b' sets no quantization",
    ]);
  });
});
