// What the client takes from one streamed `chat.completion.chunk`: the first choice's content, the
// usage, an error. JSON.parse of every chunk was the largest single cost per request in the
// profile (~13% of the client's CPU at 3,000 req/s): a chunk is ~200 bytes of which only the
// delta's text matters. The chunks vLLM and the simulator send have one of two delta shapes, so
// those are read by position; anything else (usage, errors, other shapes, malformed text) goes
// through JSON.parse, which gives the same answer for every input the fast path accepts.

export interface ChunkUsage {
  promptTokens: number | null;
  completionTokens: number | null;
  cachedTokens: number | null;
}

export interface ChunkFields {
  /** The first choice's `delta.content` when it is a string. */
  content: string | null;
  usage: ChunkUsage | null;
  /** The chunk's `error` member, when present. */
  error: unknown;
}

interface StreamChunk {
  choices?: Array<{ delta?: { content?: unknown } | null } | null>;
  usage?: { prompt_tokens?: number; completion_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } | null } | null;
  error?: unknown;
}

// A strict subset of JSON: an object of simple members (null, booleans, numbers, strings without
// escapes) around `choices: [{ ...simple, delta: {[role: "assistant",] content: "..."}, ...simple }]`.
// Text it matches is valid JSON, and content is what JSON.parse would give (escapes are decoded
// by JSON.parse itself). ~0.35 us against ~1.7 us for JSON.parse of a typical chunk.
const VALUE = '(?:null|true|false|-?(?:0|[1-9]\\d*)(?:\\.\\d+)?(?:[eE][+-]?\\d+)?|"[^"\\\\\\x00-\\x1f]*")';
const MEMBER = `"[A-Za-z_]+":${VALUE}`;
const STRING_BODY = '(?:[^"\\\\\\x00-\\x1f]|\\\\(?:["\\\\/bfnrt]|u[0-9a-fA-F]{4}))*';
const COMMON_CHUNK = new RegExp(
  `^\\{(?:${MEMBER},)*"choices":\\[\\{(?:${MEMBER},)*"delta":\\{(?:"role":"assistant",)?"content":"(${STRING_BODY})"\\}(?:,${MEMBER})*\\}\\](?:,${MEMBER})*\\}$`,
);

/** The full parse (throws SyntaxError on text that is not JSON): the reference the fast path must agree with. */
export function slowChunk(data: string): ChunkFields {
  const event = JSON.parse(data) as StreamChunk;
  if (event === null || typeof event !== 'object') return { content: null, usage: null, error: undefined };
  const content = event.choices?.[0]?.delta?.content;
  const usage = event.usage
    ? {
        promptTokens: event.usage.prompt_tokens ?? null,
        completionTokens: event.usage.completion_tokens ?? null,
        cachedTokens: event.usage.prompt_tokens_details?.cached_tokens ?? null,
      }
    : null;
  return { content: typeof content === 'string' ? content : null, usage, error: event.error };
}

/**
 * The delta's text for a chunk of the common shape (no usage, no error), or null to say "use
 * slowChunk". Allocates nothing but the text.
 */
export function commonChunkContent(data: string): string | null {
  const match = COMMON_CHUNK.exec(data);
  if (match === null) return null;
  // A simple member could repeat a key the slow path reads (the last duplicate wins in JSON.parse),
  // or be an error: those chunks take the slow path.
  if (data.includes('"error"') || data.includes('"usage"') || !once(data, '"choices"') || !once(data, '"delta"') || !once(data, '"content"')) return null;
  const raw = match[1]!;
  return raw.indexOf('\\') === -1 ? raw : (JSON.parse(`"${raw}"`) as string);
}

function once(text: string, key: string): boolean {
  const first = text.indexOf(key);
  return first !== -1 && text.indexOf(key, first + 1) === -1;
}
