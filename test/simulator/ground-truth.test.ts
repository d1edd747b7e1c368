// Ground truth of the cache model, over real HTTP against real simulator processes.
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { killAll, scrape, startSim, type SimProcess } from './sim-process.ts';
import { parseMetrics, value } from './prom.ts';
import { replay, type Turn, words } from './replay.ts';

const MODEL = 'kvsweep/sim-small';
const LMCACHE = '{"kv_connector":"LMCacheConnectorV1","kv_role":"kv_both"}';
const BASE = [MODEL, '--port', '0', '--speed', 'inf', '--max-model-len', '2048'];

afterAll(killAll);

async function hitTokens(sim: SimProcess): Promise<{ queries: number; gpu: number; external: number }> {
  const m = parseMetrics(await scrape(sim.baseUrl));
  return {
    queries: value(m, 'vllm:prefix_cache_queries_total'),
    gpu: value(m, 'vllm:prefix_cache_hits_total'),
    external: m.has('vllm:external_prefix_cache_hits_total') ? value(m, 'vllm:external_prefix_cache_hits_total') : 0,
  };
}

describe('prefix identity across turns', () => {
  // Prompt (user + 8 template tokens) + reply: 65, 33 (one past a block boundary) and 101 tokens.
  it.each([
    [37, 20],
    [9, 16],
    [60, 33],
  ])('turn 2 reports as cached exactly the blocks of turn 1 prompt + streamed reply (user %i tokens, reply %i)', async (userTokens, replyTokens) => {
    const sim = await startSim(BASE);
    const client = new OpenAI({ baseURL: `${sim.baseUrl}/v1`, apiKey: 'unused', maxRetries: 0 });
    const user1 = words(1, 0, userTokens);
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: user1 }],
      max_completion_tokens: replyTokens,
      stream: true,
      stream_options: { include_usage: true },
      user: 'conv-1',
      ignore_eos: true,
    } as OpenAI.ChatCompletionCreateParamsStreaming);
    let reply = '';
    let p1 = 0;
    for await (const chunk of stream) {
      reply += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) p1 = chunk.usage.prompt_tokens;
    }
    const turn2 = await client.chat.completions.create({
      model: MODEL,
      messages: [
        { role: 'user', content: user1 },
        { role: 'assistant', content: reply },
        { role: 'user', content: words(1, 1, 10) },
      ],
      max_completion_tokens: 1,
      user: 'conv-1',
    });
    const seen = p1 + replyTokens;
    // The last reply token's KV is never computed, and only full blocks of 16 are cached.
    expect(turn2.usage!.prompt_tokens_details!.cached_tokens).toBe(Math.floor((seen - 1) / 16) * 16);
    expect(turn2.usage!.prompt_tokens).toBe(seen + 2 + 5 + 10 + 3);
    await sim.kill();
  });

  it('on a block boundary, the block holding the last reply token is not cached', async () => {
    const sim = await startSim(BASE);
    // user 8 tokens -> prompt 16; reply 16 -> 32 seen, exactly two blocks.
    const [t1, t2] = await replay(sim.baseUrl, MODEL, [
      { conversation: 3, userTokens: 8, replyTokens: 16 },
      { conversation: 3, userTokens: 5, replyTokens: 1 },
    ]);
    expect(t1!.promptTokens).toBe(16);
    expect(t2!.cachedTokens).toBe(16);
    await sim.kill();
  });

  it('finds the same prefix in the LMCache CPU tier once the GPU tier has evicted it', async () => {
    const sim = await startSim([...BASE, '--num-gpu-blocks-override', '140', '--kv-transfer-config', LMCACHE], {
      LMCACHE_CHUNK_SIZE: '64',
      LMCACHE_MAX_LOCAL_CPU_SIZE: '0.5',
      LMCACHE_SAVE_DECODE_CACHE: 'True',
    });
    const results = await replay(sim.baseUrl, MODEL, [
      { conversation: 1, userTokens: 300, replyTokens: 40 },
      // Two fillers that together need more than the whole GPU pool evict conversation 1 from it.
      { conversation: 2, userTokens: 1400, replyTokens: 100 },
      { conversation: 3, userTokens: 1400, replyTokens: 100 },
      { conversation: 1, userTokens: 20, replyTokens: 1 },
    ]);
    const first = results[0]!;
    const seen = first.promptTokens + 40;
    // Chunks of 64: the CPU tier's granularity, not the GPU's 16.
    expect(results[3]!.cachedTokens).toBe(Math.floor((seen - 1) / 64) * 64);
    const hits = await hitTokens(sim);
    expect(hits.gpu).toBe(0);
    expect(hits.external).toBe(results[3]!.cachedTokens);
    await sim.kill();
  });
});

/** Conversations that interleave turn by turn: the same trace for every cache size. */
function interleavedTrace(conversations: number, turns: number): Turn[] {
  const trace: Turn[] = [];
  for (let t = 0; t < turns; t++) {
    for (let c = 0; c < conversations; c++) trace.push({ conversation: c, userTokens: 40 + ((c * 37 + t * 11) % 120), replyTokens: 20 + (c % 5) * 8 });
  }
  return trace;
}

describe('cache size', () => {
  const trace = interleavedTrace(24, 4);

  it('a larger GPU cache never lowers the hit rate on a fixed trace', async () => {
    const sizes = [140, 400, 1200, 4000];
    const rates = await Promise.all(
      sizes.map(async (blocks) => {
        const sim = await startSim([...BASE, '--num-gpu-blocks-override', String(blocks)]);
        await replay(sim.baseUrl, MODEL, trace);
        const h = await hitTokens(sim);
        await sim.kill();
        return h.gpu / h.queries;
      }),
    );
    for (let i = 1; i < rates.length; i++) expect(rates[i]!).toBeGreaterThanOrEqual(rates[i - 1]!);
    expect(rates[rates.length - 1]!).toBeGreaterThan(rates[0]! + 0.2);
  });

  it('a larger CPU tier never lowers the hit rate on a fixed trace (LRU and conversation-aware)', async () => {
    const sizes = ['0.001', '0.004', '0.015', '0.1'];
    for (const extra of ['', '{"use_conversation_eviction": true}']) {
      const rates = await Promise.all(
        sizes.map(async (gb) => {
          const sim = await startSim([...BASE, '--num-gpu-blocks-override', '140', '--kv-transfer-config', LMCACHE], {
            LMCACHE_CHUNK_SIZE: '64',
            LMCACHE_MAX_LOCAL_CPU_SIZE: gb,
            LMCACHE_SAVE_DECODE_CACHE: 'True',
            LMCACHE_EXTRA_CONFIG: extra,
          });
          await replay(sim.baseUrl, MODEL, trace);
          const h = await hitTokens(sim);
          await sim.kill();
          return (h.gpu + h.external) / h.queries;
        }),
      );
      for (let i = 1; i < rates.length; i++) expect(rates[i]!, `${extra || 'lru'} ${sizes[i]} GB`).toBeGreaterThanOrEqual(rates[i - 1]!);
      expect(rates[rates.length - 1]!).toBeGreaterThan(rates[0]! + 0.2);
    }
  });
});

describe('conversation-aware against LRU eviction', () => {
  // A few long conversations whose turns come back after a flood of one-turn conversations that
  // alone would fill the CPU tier (docs/simulator.md, "Eviction policies").
  function crafted(): Turn[] {
    const trace: Turn[] = [];
    let oneShot = 100;
    for (let t = 0; t < 6; t++) {
      for (let c = 0; c < 3; c++) trace.push({ conversation: c, userTokens: 60, replyTokens: 30 });
      for (let i = 0; i < 12; i++) trace.push({ conversation: oneShot++, userTokens: 300, replyTokens: 10 });
    }
    return trace;
  }

  async function run(extra: string): Promise<{ longHit: number; longSeen: number; shortHit: number }> {
    const sim = await startSim([...BASE, '--num-gpu-blocks-override', '140', '--kv-transfer-config', LMCACHE], {
      LMCACHE_CHUNK_SIZE: '64',
      LMCACHE_MAX_LOCAL_CPU_SIZE: '0.006', // 49 chunks of 64 tokens (sim-small: 2 KiB per token)
      LMCACHE_SAVE_DECODE_CACHE: 'True',
      LMCACHE_EXTRA_CONFIG: extra,
    });
    const results = await replay(sim.baseUrl, MODEL, crafted());
    await sim.kill();
    let longHit = 0;
    let longSeen = 0;
    let shortHit = 0;
    const previous = new Map<number, number>();
    for (const r of results) {
      if (r.turn.conversation < 100) {
        if (r.index > 0) {
          longHit += r.cachedTokens;
          longSeen += previous.get(r.turn.conversation)!;
        }
        previous.set(r.turn.conversation, r.promptTokens + r.completionTokens);
      } else {
        shortHit += r.cachedTokens;
      }
    }
    return { longHit, longSeen, shortHit };
  }

  it('conversation-aware keeps the long conversations that LRU loses to the flood', async () => {
    const [lru, aware] = await Promise.all([
      run(''),
      run('{"use_conversation_eviction": true, "conversation_eviction_config": {"reference_time_interval": 3600, "reference_recency": 3600, "score_factor": 1}}'),
    ]);
    // LRU: each flood of one-turn conversations pushes the long ones out of both tiers.
    expect(lru.longHit).toBeLessThan(0.1 * lru.longSeen);
    // Conversation-aware: a conversation with a second turn outranks every one-turn conversation.
    expect(aware.longHit).toBeGreaterThan(0.8 * aware.longSeen);
    // One-turn conversations share nothing, so neither policy can give them hits.
    expect(lru.shortHit).toBe(0);
    expect(aware.shortHit).toBe(0);
  });
});
