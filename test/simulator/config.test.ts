// Flag and environment resolution (pure), each invalid value named in its error.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { normalizeArgv } from '../../simulator/argv.ts';
import { type RawOptions, resolveConfig } from '../../simulator/config.ts';

const defaults: RawOptions = {
  host: '127.0.0.1', port: '0', tensorParallelSize: '1', pipelineParallelSize: '1', gpuMemoryUtilization: '0.9', blockSize: '16',
  enablePrefixCaching: true, maxNumSeqs: '1024', maxNumBatchedTokens: '8192', dtype: 'auto', kvCacheDtype: 'auto', seed: '0',
  gpuMemoryGb: '80', speed: '1', startupDelay: '0', failStartup: false, neverReady: false, errorRate: '0', counterTotalSuffix: true, accessLog: false,
};
const LMCACHE = '{"kv_connector":"LMCacheConnectorV1","kv_role":"kv_both"}';

function resolve(over: Partial<RawOptions> = {}, env: Record<string, string> = {}, model = 'kvsweep/sim-small') {
  return resolveConfig(model, { ...defaults, ...over }, env);
}

describe('argv normalisation', () => {
  it('accepts vLLM spellings: underscores, --flag=value, -tp/-pp', () => {
    expect(normalizeArgv(['M', '--gpu_memory_utilization', '0.8', '--max_num_seqs=128', '-tp', '2', '-pp', '1', '--kv-transfer-config={"a_b":1}'])).toEqual([
      'M', '--gpu-memory-utilization', '0.8', '--max-num-seqs=128', '--tensor-parallel-size', '2', '--pipeline-parallel-size', '1', '--kv-transfer-config={"a_b":1}',
    ]);
  });
});

describe('resolveConfig', () => {
  it.each<[Partial<RawOptions>, Record<string, string>, RegExp]>([
    [{ numGpuBlocksOverride: '-5' }, {}, /--num-gpu-blocks-override: expected a positive integer, got '-5'/],
    [{ maxNumSeqs: '0' }, {}, /--max-num-seqs/],
    [{ gpuMemoryUtilization: '1.5' }, {}, /--gpu-memory-utilization/],
    [{ blockSize: '12' }, {}, /--block-size/],
    [{ port: '70000' }, {}, /--port/],
    [{ maxModelLen: 'lots' }, {}, /--max-model-len/],
    [{ kvTransferConfig: '{not json' }, {}, /--kv-transfer-config: not valid JSON/],
    [{ kvTransferConfig: '{"kv_role":"kv_both"}' }, {}, /--kv-transfer-config: 'kv_connector'/],
    [{ speed: '0' }, {}, /--speed: expected a number > 0, or 'inf'/],
    [{ errorRate: '2' }, {}, /--error-rate/],
    [{ fixedTtftMs: '-1' }, {}, /--fixed-ttft-ms/],
    [{ dtype: 'int3' }, {}, /--dtype/],
    [{ tensorParallelSize: '2' }, { CUDA_VISIBLE_DEVICES: '0' }, /--tensor-parallel-size 2 x --pipeline-parallel-size 1 = 2 devices, but CUDA_VISIBLE_DEVICES='0' lists 1/],
    [{ tensorParallelSize: '3' }, {}, /--tensor-parallel-size: 3 does not divide/],
    [{ maxModelLen: '40000', numGpuBlocksOverride: '100' }, {}, /--max-model-len 40000 does not fit/],
    [{ kvTransferConfig: LMCACHE }, { LMCACHE_MAX_LOCAL_CPU_SIZE: '-1' }, /LMCACHE_MAX_LOCAL_CPU_SIZE/],
    [{ kvTransferConfig: LMCACHE }, { LMCACHE_CHUNK_SIZE: '0' }, /LMCACHE_CHUNK_SIZE/],
    [{ kvTransferConfig: LMCACHE }, { LMCACHE_LOCAL_CPU: 'maybe' }, /LMCACHE_LOCAL_CPU/],
    [{ kvTransferConfig: LMCACHE }, { LMCACHE_EXTRA_CONFIG: '{bad' }, /LMCACHE_EXTRA_CONFIG: not valid JSON/],
    [{ kvTransferConfig: LMCACHE }, { LMCACHE_EXTRA_CONFIG: '{"use_conversation_eviction":true,"conversation_eviction_config":{"recency":1}}' }, /unknown conversation_eviction_config key 'recency'/],
  ])('rejects %j %j', (over, env, message) => {
    expect(() => resolve(over, env)).toThrow(message);
  });

  it('rejects an unknown model and a model too big for its devices', () => {
    expect(() => resolve({}, {}, 'acme/unknown-7b')).toThrow(/unknown model 'acme\/unknown-7b'.*kvsweep\/sim-small/);
    expect(() => resolve({}, {}, 'kvsweep/sim-tp2')).toThrow(/no memory left for the KV cache.*--tensor-parallel-size/);
    expect(resolve({ tensorParallelSize: '2' }, { CUDA_VISIBLE_DEVICES: '2,3' }, 'kvsweep/sim-tp2').numGpuBlocks).toBeGreaterThan(0);
  });

  it('sizes the GPU tier from memory x utilisation minus weights, or takes the override', () => {
    const a = resolve({ gpuMemoryGb: '1', gpuMemoryUtilization: '0.5' });
    const b = resolve({ gpuMemoryGb: '1', gpuMemoryUtilization: '0.9' });
    expect(b.numGpuBlocks).toBeGreaterThan(a.numGpuBlocks);
    expect(resolve({ numGpuBlocksOverride: '4000' }).numGpuBlocks).toBe(4000);
    expect(resolve({ kvCacheDtype: 'fp8', gpuMemoryGb: '1' }).numGpuBlocks).toBeGreaterThan(b.numGpuBlocks * 1.9);
  });

  it('turns the CPU tier on only with an LMCache connector and a size above zero', () => {
    expect(resolve({}, { LMCACHE_MAX_LOCAL_CPU_SIZE: '4' }).cpuTier).toBeUndefined();
    expect(resolve({}, { LMCACHE_MAX_LOCAL_CPU_SIZE: '4' }).notices.join()).toMatch(/no LMCache connector/);
    expect(resolve({ kvTransferConfig: LMCACHE }, { LMCACHE_MAX_LOCAL_CPU_SIZE: '0' }).cpuTier).toBeUndefined();
    expect(resolve({ kvTransferConfig: LMCACHE }, { LMCACHE_LOCAL_CPU: 'False' }).cpuTier).toBeUndefined();
    const on = resolve({ kvTransferConfig: LMCACHE }, { LMCACHE_MAX_LOCAL_CPU_SIZE: '1', LMCACHE_CHUNK_SIZE: '256' });
    // sim-small: 2 * 4 layers * 2 KV heads * 64 * 2 bytes = 2 KiB per token; 1 GiB / (256 x 2 KiB).
    expect(on.cpuTier).toMatchObject({ chunkSize: 256, capacityChunks: 2048, policy: { kind: 'lru' } });
    // LMCache's default size is 5 GB.
    expect(resolve({ kvTransferConfig: LMCACHE }).cpuTier!.capacityChunks).toBe(10240);
    const aware = resolve({ kvTransferConfig: LMCACHE }, {
      LMCACHE_EXTRA_CONFIG: '{"use_conversation_eviction": true, "conversation_eviction_config": {"score_factor": 2}}',
    });
    expect(aware.cpuTier!.policy).toEqual({ kind: 'conversation_aware', config: { reference_recency: 300, reference_time_interval: 60, score_factor: 2 } });
  });

  it('gives each tensor-parallel rank its own LMCache buffer of the configured size', () => {
    const tp1 = resolve({ kvTransferConfig: LMCACHE }, { LMCACHE_MAX_LOCAL_CPU_SIZE: '1' });
    const tp2 = resolve({ kvTransferConfig: LMCACHE, tensorParallelSize: '2' }, { LMCACHE_MAX_LOCAL_CPU_SIZE: '1' });
    expect(tp2.cpuTier!.capacityChunks).toBe(2 * tp1.cpuTier!.capacityChunks);
  });

  it('reads the geometry of a model directory from its config.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvsweep-model-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({
      architectures: ['LlamaForCausalLM'], hidden_size: 64, intermediate_size: 128, num_attention_heads: 2, num_hidden_layers: 2,
      num_key_value_heads: 1, max_position_embeddings: 512, torch_dtype: 'float32', vocab_size: 1000,
    }));
    const c = resolve({}, {}, dir);
    expect(c.geometry).toMatchObject({ layers: 2, kvHeads: 1, headDim: 32, dtypeBytes: 4, maxPositionEmbeddings: 512 });
    expect(c.kvBytesPerToken).toBe(2 * 2 * 1 * 32 * 4);
    expect(c.maxModelLen).toBe(512);
    writeFileSync(join(dir, 'config.json'), '{"hidden_size": 64}');
    expect(() => resolve({}, {}, dir)).toThrow(/num_hidden_layers/);
  });

  it('reads speed, fixed timings and the max model length shorthand', () => {
    expect(resolve({ speed: 'inf' }).speed).toBe(Infinity);
    expect(resolve({ speed: '20' }).speed).toBe(20);
    expect(resolve({ fixedTtftMs: '30' }).fixed).toEqual({ ttftSeconds: 0.03, itlSeconds: 0 });
    expect(resolve({ maxModelLen: '8k' }).maxModelLen).toBe(8000);
    expect(resolve({ maxModelLen: '8K' }).maxModelLen).toBe(8192);
  });
});
