// The OpenAI-compatible request and response shapes, as vLLM serves them: parsing and checking a
// request into what the engine needs, and the text of JSON responses and SSE chunks. Pure.
import { chainHash, ROOT_HASH } from './hashing.ts';
import { type ChatMessage, tokenize, tokenizeChat } from './tokenizer.ts';
import type { SimRequest } from './request.ts';

/** An error answered in vLLM's (and OpenAI's) shape. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = status === 404 ? 'NotFoundError' : status >= 500 ? 'InternalServerError' : 'BadRequestError',
  ) {
    super(message);
  }

  body(): string {
    return JSON.stringify({ error: { message: this.message, type: this.type, param: null, code: this.status } });
  }
}

export type Kind = 'chat' | 'completion';

export interface GenerationInput {
  kind: Kind;
  model: string;
  prompt: number[];
  promptKey: number;
  maxTokens: number;
  minTokens: number;
  ignoreEos: boolean;
  stream: boolean;
  includeUsage: boolean;
  user: string | undefined;
}

type Body = Record<string, unknown>;

export function parseJsonBody(text: string): Body {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(400, 'JSON decode error: the request body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError(400, 'the request body must be a JSON object');
  return body as Body;
}

function optionalInt(body: Body, name: string, min: number): number | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new ApiError(400, `'${name}' must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return v;
}

function optionalBool(body: Body, name: string): boolean | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new ApiError(400, `'${name}' must be a boolean`);
  return v;
}

/** Message content: a string, or text parts joined with newlines (vLLM's string-format templates). */
function contentText(content: unknown, index: number): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (Array.isArray(content)) {
    return content
      .map((part) => {
        if (typeof part === 'object' && part !== null && (part as Body).type === 'text' && typeof (part as Body).text === 'string') return (part as Body).text as string;
        throw new ApiError(400, `messages[${index}].content: only text parts are supported`);
      })
      .join('\n');
  }
  throw new ApiError(400, `messages[${index}].content must be a string or a list of text parts`);
}

export function parseMessages(value: unknown): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) throw new ApiError(400, "'messages' must be a non-empty list");
  return value.map((m, i) => {
    if (typeof m !== 'object' || m === null || typeof (m as Body).role !== 'string') throw new ApiError(400, `messages[${i}] must be an object with a string 'role'`);
    return { role: (m as Body).role as string, content: contentText((m as Body).content, i) };
  });
}

/** A completions prompt: a string, token ids, or a list of exactly one of those. */
export function parsePrompt(value: unknown): { tokens: number[] } {
  let p = value;
  if (Array.isArray(p) && p.length === 1 && (typeof p[0] === 'string' || Array.isArray(p[0]))) p = p[0];
  if (typeof p === 'string') return { tokens: tokenize(p) };
  if (Array.isArray(p) && p.length > 0 && p.every((t) => Number.isInteger(t) && t >= 0)) return { tokens: [...(p as number[])] };
  throw new ApiError(400, "'prompt' must be a string or a list of token ids (one prompt per request)");
}

/** Checks and resolves a generation request; `models` are the served names (first = default). */
export function parseGeneration(kind: Kind, body: Body, models: readonly string[], maxModelLen: number): GenerationInput {
  const model = body.model === undefined || body.model === null ? models[0]! : body.model;
  if (typeof model !== 'string' || !models.includes(model)) throw new ApiError(404, `The model \`${String(model)}\` does not exist.`);
  const n = optionalInt(body, 'n', 1);
  if (n !== undefined && n > 1) throw new ApiError(400, "the simulator supports only 'n': 1");
  const prompt = kind === 'chat' ? tokenizeChat(parseMessages(body.messages), true) : parsePrompt(body.prompt).tokens;
  const P = prompt.length;
  if (P >= maxModelLen) {
    throw new ApiError(400, `This model's maximum context length is ${maxModelLen} tokens. However, your request has ${P} input tokens. Please reduce the length of the input messages.`);
  }
  const requested = optionalInt(body, 'max_completion_tokens', 1) ?? optionalInt(body, 'max_tokens', 1);
  const maxTokens = requested ?? maxModelLen - P;
  if (P + maxTokens > maxModelLen) {
    throw new ApiError(
      400,
      `This model's maximum context length is ${maxModelLen} tokens. However, you requested ${P + maxTokens} tokens (${P} in the messages, ${maxTokens} in the completion). Please reduce the length of the messages or completion.`,
    );
  }
  const minTokens = optionalInt(body, 'min_tokens', 0) ?? 0;
  if (minTokens > maxTokens) throw new ApiError(400, `min_tokens (${minTokens}) must be less than or equal to max_tokens (${maxTokens})`);
  const stream = optionalBool(body, 'stream') ?? false;
  const so = body.stream_options;
  const includeUsage = stream && typeof so === 'object' && so !== null && (so as Body).include_usage === true;
  const user = typeof body.user === 'string' && body.user !== '' ? body.user : undefined;
  const seed = optionalInt(body, 'seed', Number.MIN_SAFE_INTEGER);
  let promptKey = chainHash(ROOT_HASH, prompt, 0, P) % 0x1_0000_0000;
  if (seed !== undefined) promptKey = (promptKey ^ (seed >>> 0)) >>> 0;
  return { kind, model, prompt, promptKey, maxTokens, minTokens, ignoreEos: optionalBool(body, 'ignore_eos') ?? false, stream, includeUsage, user };
}

export function usageJson(req: SimRequest): string {
  const c = req.outputLength;
  return `{"prompt_tokens":${req.promptLength},"total_tokens":${req.promptLength + c},"completion_tokens":${c},"prompt_tokens_details":{"cached_tokens":${req.cachedTokens}}}`;
}

/** The fixed parts of every SSE chunk and JSON response of one request, built once. */
export class ResponseFormat {
  readonly head: string;
  constructor(
    readonly kind: Kind,
    id: string,
    created: number,
    model: string,
  ) {
    const object = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
    this.head = `data: {"id":"${id}","object":"${object}","created":${created},"model":${JSON.stringify(model)},"choices":[`;
    this.id = id;
    this.created = created;
    this.model = model;
  }
  private readonly id: string;
  private readonly created: number;
  private readonly model: string;

  roleChunk(): string {
    return `${this.head}{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n`;
  }

  /** One token's chunk; `pieceJson` is the JSON string literal of its text. */
  tokenChunk(pieceJson: string, finishReason: string | undefined): string {
    const fr = finishReason === undefined ? 'null' : `"${finishReason}"`;
    return this.kind === 'chat'
      ? `${this.head}{"index":0,"delta":{"content":${pieceJson}},"logprobs":null,"finish_reason":${fr}}]}\n\n`
      : `${this.head}{"index":0,"text":${pieceJson},"logprobs":null,"finish_reason":${fr},"stop_reason":null}]}\n\n`;
  }

  usageChunk(req: SimRequest): string {
    return `${this.head}],"usage":${usageJson(req)}}\n\n`;
  }

  /** The non-streaming response body. */
  complete(req: SimRequest): string {
    const text = req.pieces.map((p) => p.text).join('');
    const reason = req.finishReason ?? 'length';
    const choice =
      this.kind === 'chat'
        ? { index: 0, message: { role: 'assistant', content: text, tool_calls: [] }, logprobs: null, finish_reason: reason, stop_reason: null }
        : { index: 0, text, logprobs: null, finish_reason: reason, stop_reason: null };
    const object = this.kind === 'chat' ? 'chat.completion' : 'text_completion';
    return `{"id":"${this.id}","object":"${object}","created":${this.created},"model":${JSON.stringify(this.model)},"choices":[${JSON.stringify(choice)}],"usage":${usageJson(req)}}`;
  }
}
