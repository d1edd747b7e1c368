// The HTTP surface against a real simulator process, with clients nobody here wrote (the official
// `openai` npm client, a Prometheus text-format parser).
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, scrape, type SimProcess, startSim } from './sim-process.ts';
import { parseMetrics, value } from './prom.ts';

const MODEL = 'kvsweep/sim-small';
let sim: SimProcess;
let client: OpenAI;

beforeAll(async () => {
  sim = await startSim([MODEL, '--port', '0', '--speed', 'inf', '--max-model-len', '2048', '--served-model-name', MODEL, 'small'], {
    VLLM_SERVER_DEV_MODE: '1',
  });
  client = new OpenAI({ baseURL: `${sim.baseUrl}/v1`, apiKey: 'unused', maxRetries: 0 });
});
afterAll(killAll);

describe('OpenAI client', () => {
  it('streams a chat completion with usage', async () => {
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Say something about caches.' }],
      max_completion_tokens: 12,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    let finish: string | null | undefined;
    let contentChunks = 0;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta.content) {
        text += choice.delta.content;
        contentChunks++;
      }
      if (choice?.finish_reason) finish = choice.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(contentChunks).toBe(12);
    expect(finish).toBe('length');
    expect(usage?.completion_tokens).toBe(12);
    expect(usage?.prompt_tokens).toBe(5 + 5 + 3); // 5 words, template overhead 5 + 3
    expect(usage?.prompt_tokens_details?.cached_tokens).toBe(0);
    expect(text.split(/[ ,.]+/).filter(Boolean).length).toBeGreaterThan(5);
  });

  it('answers a non-streaming chat completion, deterministically', async () => {
    const ask = (): Promise<OpenAI.ChatCompletion> =>
      client.chat.completions.create({ model: 'small', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 7, ignore_eos: true } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    const a = await ask();
    const b = await ask();
    expect(a.choices[0]!.message.content).toBe(b.choices[0]!.message.content);
    expect(a.usage?.completion_tokens).toBe(7);
    expect(a.choices[0]!.finish_reason).toBe('length');
    expect(a.model).toBe('small');
  });

  it('streams and non-streams legacy completions', async () => {
    const r = await client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 5 });
    expect(r.usage?.completion_tokens).toBe(5);
    expect(r.choices[0]!.text.startsWith(' ')).toBe(true);
    const stream = await client.completions.create({ model: MODEL, prompt: [1, 2, 3, 4], max_tokens: 4, stream: true });
    let n = 0;
    for await (const chunk of stream) if (chunk.choices[0]?.text) n++;
    expect(n).toBe(4);
  });

  it('honours min_tokens without ignore_eos, and stops on its own otherwise', async () => {
    const stops = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] });
    expect(stops.choices[0]!.finish_reason).toBe('stop');
    expect(stops.usage!.completion_tokens).toBeGreaterThan(0);
    expect(stops.usage!.completion_tokens).toBeLessThanOrEqual(512);
    const forced = await client.chat.completions.create({
      model: MODEL, messages: [{ role: 'user', content: 'x' }], max_completion_tokens: 600, min_tokens: 600,
    } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    expect(forced.usage!.completion_tokens).toBe(600);
  });

  it('answers 404 for an unknown model and 400 for a prompt over the max model length, in vLLM\'s shape', async () => {
    await expect(client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({
      status: 404,
      message: expect.stringContaining('does not exist'),
    });
    const long = 'word '.repeat(3000);
    await expect(client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: long }] })).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining('maximum context length is 2048 tokens'),
    });
    await expect(client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }], max_tokens: 5000 })).rejects.toMatchObject({
      status: 400,
    });
    const r = await fetch(`${sim.baseUrl}/v1/chat/completions`, { method: 'POST', body: '{not json' });
    expect(r.status).toBe(400);
    const body = (await r.json()) as { error: { code: number; type: string } };
    expect(body.error).toMatchObject({ code: 400, type: 'BadRequestError' });
  });

  it('lists the served names as models', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([MODEL, 'small']);
  });
});

describe('other endpoints', () => {
  it('tokenizes prompts and messages like the chat template counts them', async () => {
    const tokenize = async (body: unknown): Promise<{ count: number; tokens: number[]; max_model_len: number }> =>
      (await (await fetch(`${sim.baseUrl}/tokenize`, { method: 'POST', body: JSON.stringify(body) })).json()) as never;
    const m = await tokenize({ model: MODEL, messages: [{ role: 'user', content: 'one two three' }] });
    expect(m.count).toBe(11);
    expect(m.tokens).toHaveLength(11);
    expect(m.max_model_len).toBe(2048);
    const p = await tokenize({ prompt: 'one two three' });
    expect(p.count).toBe(3);
    expect(m.tokens).toEqual(expect.arrayContaining(p.tokens));
  });

  it('answers /health, /version, and 404 for unknown paths', async () => {
    expect((await fetch(`${sim.baseUrl}/health`)).status).toBe(200);
    expect(((await (await fetch(`${sim.baseUrl}/version`)).json()) as { version: string }).version).toMatch(/kvsweep/);
    expect((await fetch(`${sim.baseUrl}/nope`)).status).toBe(404);
  });

  it('resets the prefix cache in dev mode', async () => {
    const r = await fetch(`${sim.baseUrl}/reset_prefix_cache`, { method: 'POST' });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ reset: true });
  });
});

describe('metrics', () => {
  it('parses with a Prometheus parser, with vLLM names, labels and _total counters, and counters only grow', async () => {
    const before = parseMetrics(await scrape(sim.baseUrl));
    for (const name of [
      'vllm:prefix_cache_queries_total', 'vllm:prefix_cache_hits_total', 'vllm:num_preemptions_total', 'vllm:kv_cache_usage_perc',
      'vllm:num_requests_running', 'vllm:num_requests_waiting', 'vllm:time_to_first_token_seconds', 'vllm:inter_token_latency_seconds',
    ]) {
      expect(before.has(name), name).toBe(true);
    }
    expect(before.get('vllm:prefix_cache_hits_total')!.metrics[0]!.labels).toEqual({ engine: '0', model_name: MODEL });
    expect(before.get('vllm:prefix_cache_hits_total')!.type).toBe('COUNTER');
    // No CPU tier: no external or LMCache metrics.
    expect(before.has('vllm:external_prefix_cache_hits_total')).toBe(false);
    expect([...before.keys()].some((k) => k.startsWith('lmcache:'))).toBe(false);

    const content = 'The same long system prompt, repeated so that whole blocks are shared. '.repeat(8);
    for (let i = 0; i < 3; i++) {
      await client.chat.completions.create({ model: MODEL, messages: [{ role: 'system', content }, { role: 'user', content: `q${i}` }], max_tokens: 3 });
    }
    const after = parseMetrics(await scrape(sim.baseUrl));
    const counters = [...after.values()].filter((f) => f.type === 'COUNTER').map((f) => f.name);
    expect(counters.length).toBeGreaterThan(5);
    for (const name of counters) expect(value(after, name), name).toBeGreaterThanOrEqual(before.has(name) ? value(before, name) : 0);
    expect(value(after, 'vllm:prefix_cache_hits_total')).toBeGreaterThan(value(before, 'vllm:prefix_cache_hits_total'));
    expect(value(after, 'vllm:generation_tokens_total') - value(before, 'vllm:generation_tokens_total')).toBe(9);
    // The parser keeps only the buckets of a labelled histogram: the +Inf bucket is the count.
    const ttftCount = (m: typeof after): number => Number(m.get('vllm:time_to_first_token_seconds')!.metrics[0]!.buckets!['+Inf']);
    expect(ttftCount(after) - ttftCount(before)).toBe(3);
    expect(value(after, 'vllm:kv_cache_usage_perc')).toBe(0);
  });
});
