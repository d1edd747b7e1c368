// Engine behaviour seen over HTTP: preemption under memory pressure, determinism under --seed,
// metric naming without _total, a model read from a config.json directory.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chat, killAll, scrape, startSim } from './sim-process.ts';
import { parseMetrics, value } from './prom.ts';
import { words } from './replay.ts';

const MODEL = 'kvsweep/sim-small';
afterAll(killAll);

describe('engine over HTTP', () => {
  // Real-time drivers, so that the 8 requests surely run at the same time.
  it.each([
    ['modelled timing', []],
    ['fixed timing', ['--fixed-ttft-ms', '5', '--fixed-itl-ms', '0.5']],
  ])('preempts running requests when blocks run out, counts it, and still completes every request (%s)', async (_, timing) => {
    // 140 blocks of 16 tokens = 2,224 usable tokens; 8 requests that each grow to 600 tokens.
    const sim = await startSim([MODEL, '--port', '0', ...timing, '--max-model-len', '2048', '--num-gpu-blocks-override', '140']);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        chat(sim.baseUrl, { model: MODEL, messages: [{ role: 'user', content: words(i, 0, 100) }], max_tokens: 490, ignore_eos: true }),
      ),
    );
    for (const r of results) expect(r.completionTokens).toBe(490);
    const m = parseMetrics(await scrape(sim.baseUrl));
    expect(value(m, 'vllm:num_preemptions_total')).toBeGreaterThan(0);
    expect(value(m, 'vllm:num_requests_running')).toBe(0);
    expect(value(m, 'vllm:kv_cache_usage_perc')).toBe(0);
    await sim.kill();
  });

  it('generates the same text under the same --seed, and other text under another', async () => {
    const ask = { model: MODEL, messages: [{ role: 'user', content: 'same question' }], max_tokens: 12, ignore_eos: true };
    const texts = await Promise.all(
      ['7', '7', '8'].map(async (seed) => {
        const sim = await startSim([MODEL, '--port', '0', '--speed', 'inf', '--seed', seed]);
        const r = await chat(sim.baseUrl, ask);
        await sim.kill();
        return r.text;
      }),
    );
    expect(texts[1]).toBe(texts[0]);
    expect(texts[2]).not.toBe(texts[0]);
  });

  it('--no-counter-total-suffix names counters without _total', async () => {
    const sim = await startSim([MODEL, '--port', '0', '--speed', 'inf', '--no-counter-total-suffix']);
    await chat(sim.baseUrl, { model: MODEL, messages: [{ role: 'user', content: 'x' }], max_tokens: 2 });
    const m = parseMetrics(await scrape(sim.baseUrl));
    expect(m.has('vllm:prefix_cache_queries_total')).toBe(false);
    expect(value(m, 'vllm:prefix_cache_queries')).toBeGreaterThan(0);
    expect(value(m, 'vllm:generation_tokens')).toBe(2);
    await sim.kill();
  });

  it('serves a model directory with a Hugging Face config.json', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvsweep-model-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({
      hidden_size: 64, intermediate_size: 128, num_attention_heads: 2, num_hidden_layers: 2, num_key_value_heads: 2,
      max_position_embeddings: 512, torch_dtype: 'float32', vocab_size: 1000,
    }));
    const sim = await startSim([dir, '--port', '0', '--speed', 'inf', '--gpu-memory-gb', '0.1']);
    expect(sim.output()).toMatch(/2 layers, 2 KV heads x 32, 1024 KV bytes per token/);
    const r = await chat(sim.baseUrl, { model: dir, messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 });
    expect(r.completionTokens).toBe(3);
    await sim.kill();
  });
});
