// The server calls around a run (not on the hot path, so plain fetch): the pre-flight check that
// the server answers and serves the model, POST /tokenize (the calibration of the chat template's
// overhead, and of how the template renders a reply's reasoning), and POST /reset_prefix_cache.
// Every call carries the run's Authorization header (loadgen/auth.ts).
import { UserError } from '../domain/errors.ts';
import { SeededRandom } from './random.ts';
import { ASSUMED_CALIBRATION, wordsText, type PromptCalibration } from './prompt.ts';
import type { PrefixCacheReset } from './result-schema.ts';
import { NO_AUTH, type ServerAuth } from './auth.ts';

export type { PrefixCacheReset };

const CALL_TIMEOUT_MS = 10_000;

async function call(url: string, auth: ServerAuth, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, headers: { ...auth.headers, ...(init.headers as Record<string, string> | undefined) }, signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
}

function postJson(url: string, body: unknown, auth: ServerAuth): Promise<Response> {
  return call(url, auth, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** Fails with a UserError when the server does not answer, refuses the key, or does not serve `model`. */
export async function checkServer(baseUrl: string, model: string, auth: ServerAuth = NO_AUTH): Promise<void> {
  let response: Response;
  try {
    response = await call(`${baseUrl}/v1/models`, auth);
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new UserError(`cannot reach the server at ${baseUrl}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
  }
  if (response.status === 401 || response.status === 403) {
    throw new UserError(
      `server at ${baseUrl}: GET /v1/models answered HTTP ${response.status}: ` +
        (auth.sent ? 'it refused the key in OPENAI_API_KEY' : 'it wants an API key (a server started with --api-key): set OPENAI_API_KEY'),
    );
  }
  if (!response.ok) throw new UserError(`server at ${baseUrl}: GET /v1/models answered HTTP ${response.status}`);
  const body = (await response.json().catch(() => null)) as { data?: Array<{ id?: unknown }> } | null;
  const ids = (body?.data ?? []).map((m) => String(m.id));
  if (ids.length > 0 && !ids.includes(model)) {
    throw new UserError(`server at ${baseUrl} does not serve model '${model}' (it serves: ${ids.join(', ')})`);
  }
}

/** POST /reset_prefix_cache (vLLM with VLLM_SERVER_DEV_MODE=1); never throws. */
export async function resetPrefixCache(baseUrl: string, auth: ServerAuth = NO_AUTH): Promise<PrefixCacheReset> {
  try {
    const response = await call(`${baseUrl}/reset_prefix_cache`, auth, { method: 'POST' });
    const text = (await response.text()).trim();
    if (response.status === 404 || response.status === 405) {
      return { status: 'unsupported', http_status: response.status, detail: 'the server has no POST /reset_prefix_cache (vLLM needs VLLM_SERVER_DEV_MODE=1)' };
    }
    if (!response.ok) return { status: 'failed', http_status: response.status, detail: text.slice(0, 300) };
    // vLLM answers an empty 200 (some versions a boolean); kvsweep's simulator {"reset": bool}.
    if (text === 'false' || /"(success|reset)"\s*:\s*false/.test(text)) {
      return { status: 'failed', http_status: response.status, detail: `server answered ${text.slice(0, 100)}` };
    }
    return { status: 'ok', http_status: response.status, detail: text === '' ? 'reset' : text.slice(0, 100) };
  } catch (error) {
    return { status: 'failed', http_status: null, detail: (error as Error).message };
  }
}

/** Tokens the server counts for a /tokenize body (`prompt`, or `messages` rendered by its chat template). */
export async function tokenizeCount(baseUrl: string, body: Record<string, unknown>, auth: ServerAuth = NO_AUTH): Promise<number> {
  const response = await postJson(`${baseUrl}/tokenize`, body, auth);
  if (!response.ok) throw new Error(`POST /tokenize answered HTTP ${response.status}`);
  const parsed = (await response.json()) as { count?: unknown; tokens?: unknown };
  if (typeof parsed.count === 'number') return parsed.count;
  if (Array.isArray(parsed.tokens)) return parsed.tokens.length;
  throw new Error('POST /tokenize answered without a count');
}

/**
 * Measures tokens per generated word and the chat template's overhead with the server's own
 * tokenizer (the overhead sizes whole prompts; messages are sized exactly by prompt-sizing.ts).
 * Falls back to one token per word, with the reason, when /tokenize is missing.
 */
export async function calibratePrompts(baseUrl: string, model: string, auth: ServerAuth = NO_AUTH): Promise<PromptCalibration> {
  const sample = (seed: number, words: number): string => wordsText(new SeededRandom(seed), words);
  const count = (body: Record<string, unknown>): Promise<number> => tokenizeCount(baseUrl, { model, ...body }, auth);
  const short = sample(101, 32);
  const long = sample(102, 512);
  let shortCount: number;
  let longCount: number;
  try {
    shortCount = await count({ prompt: short, add_special_tokens: false });
    longCount = await count({ prompt: long, add_special_tokens: false });
  } catch (error) {
    return { ...ASSUMED_CALIBRATION, detail: `one token per word assumed: ${(error as Error).message}` };
  }
  const tokensPerWord = (longCount - shortCount) / (512 - 32);
  if (!(tokensPerWord > 0)) return { ...ASSUMED_CALIBRATION, detail: `one token per word assumed: /tokenize counts ${shortCount}, ${longCount} make no line` };
  const interceptTokens = shortCount - tokensPerWord * 32;
  let templateBaseTokens = 0;
  let templatePerMessageTokens = 0;
  let detail = `measured with POST /tokenize: ${shortCount} tokens for 32 words, ${longCount} for 512`;
  try {
    const texts = [sample(103, 40), sample(104, 60), sample(105, 20)];
    const counts = await Promise.all(texts.map((t) => count({ prompt: t, add_special_tokens: false })));
    const roles = ['user', 'assistant', 'user'];
    const messages = texts.map((content, i) => ({ role: roles[i], content }));
    const one = await count({ messages: messages.slice(0, 1), add_generation_prompt: true });
    const three = await count({ messages, add_generation_prompt: true });
    templateBaseTokens = one - counts[0]!;
    templatePerMessageTokens = (three - counts[0]! - counts[1]! - counts[2]! - templateBaseTokens) / 2;
    detail += `; chat template: ${templateBaseTokens} tokens for one message, ${templatePerMessageTokens} per further message`;
  } catch (error) {
    detail += `; chat template overhead not measured (${(error as Error).message}), counted as 0`;
  }
  return { source: 'tokenize', tokensPerWord, interceptTokens, templateBaseTokens, templatePerMessageTokens, detail };
}

/**
 * Whether the server's chat template drops the reasoning (`<think>...</think>`) of an assistant
 * message that is not the last turn, as Qwen3's does: the same conversation is counted with and
 * without a reasoning block in its earlier reply; equal counts mean the block was dropped.
 * null (with the reason) when /tokenize cannot say.
 */
export async function templateDropsReasoning(baseUrl: string, model: string, auth: ServerAuth = NO_AUTH): Promise<{ drops: boolean | null; detail: string }> {
  const reasoning = wordsText(new SeededRandom(106), 24);
  const answer = wordsText(new SeededRandom(107), 8);
  const conversation = (reply: string): Array<{ role: string; content: string }> => [
    { role: 'user', content: wordsText(new SeededRandom(108), 8) },
    { role: 'assistant', content: reply },
    { role: 'user', content: wordsText(new SeededRandom(109), 8) },
  ];
  try {
    const count = (reply: string): Promise<number> => tokenizeCount(baseUrl, { model, messages: conversation(reply), add_generation_prompt: true }, auth);
    const withReasoning = await count(`<think>\n${reasoning}\n</think>\n\n${answer}`);
    const without = await count(answer);
    const drops = withReasoning <= without;
    return { drops, detail: `POST /tokenize: a conversation whose earlier reply holds 24 words of reasoning counts ${withReasoning} tokens, ${without} without them` };
  } catch (error) {
    return { drops: null, detail: `not measured (${(error as Error).message})` };
  }
}
