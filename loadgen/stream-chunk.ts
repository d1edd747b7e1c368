// What the client takes from one streamed `chat.completion.chunk`: the first choice's content, the
// usage, an error. A chunk is ~200 bytes of which only the delta's text matters, and at thousands
// of requests per second what the client allocates per chunk sets the pace of its GC pauses: the
// chunks of the usual shape are therefore read straight from the response bytes, and only their
// content becomes a string. Anything else (usage, errors, nested values, malformed text) is
// decoded and goes through JSON.parse, which gives the same answer for every chunk the fast path
// accepts.
import { bytesAre, hexValue, isDigit } from './bytes.ts';

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
 * The delta's text for a chunk of the common shape, or null to say "use slowChunk". The shape,
 * a strict subset of JSON (whitespace allowed between tokens):
 *   { simple,... "choices": [ { simple,... "delta": { simple,... "content": "text", simple,... }, simple,... } ], simple,... }
 * where a simple member has a plain key and a null, boolean, number or string value. A chunk
 * with `usage` or `error`, a repeated `choices`/`delta`/`content`, or any nested value is left to
 * JSON.parse. Allocates nothing but the text.
 */
export function commonChunkContent(bytes: Buffer, start = 0, end = bytes.length): string | null {
  contentStart = -1;
  const afterChunk = object(bytes, skipWhitespace(bytes, start, end), end, Level.Top);
  if (skipWhitespace(bytes, afterChunk, end) !== end || contentStart < 0) return null;
  return contentEscaped
    ? (JSON.parse(`"${bytes.toString('utf8', contentStart, contentEnd)}"`) as string)
    : bytes.toString('utf8', contentStart, contentEnd);
}

// The matcher's results (one scan at a time; module state instead of an object per chunk).
let contentStart = -1;
let contentEnd = -1;
let contentEscaped = false;
/** Set by scanString: the string had a backslash escape. */
let stringEscaped = false;

const enum Key { Other, Choices, Delta, Content, Usage, Error, Escaped }
const enum Level { Top, Choice, Delta }

const NAMES: Array<[Key, Buffer]> = [
  [Key.Choices, Buffer.from('choices')],
  [Key.Delta, Buffer.from('delta')],
  [Key.Content, Buffer.from('content')],
  [Key.Usage, Buffer.from('usage')],
  [Key.Error, Buffer.from('error')],
];

/**
 * An object at one of the three levels; the member that leads to the content (choices, delta,
 * content) must appear exactly once, every other member is simple. Returns the position after the
 * object or -1.
 */
function object(b: Buffer, p: number, end: number, level: Level): number {
  if (p < 0 || p >= end || b[p] !== 123 /* { */) return -1;
  let sawLead = false;
  p = skipWhitespace(b, p + 1, end);
  for (;;) {
    const keyStart = p + 1;
    p = scanString(b, p, end);
    if (p < 0) return -1;
    const key = stringEscaped ? Key.Escaped : keyOf(b, keyStart, p - 1);
    p = skipWhitespace(b, p, end);
    if (p >= end || b[p] !== 58 /* : */) return -1;
    p = skipWhitespace(b, p + 1, end);
    if (key === Key.Escaped || (level === Level.Top && (key === Key.Usage || key === Key.Error))) return -1;
    const lead = level === Level.Top ? Key.Choices : level === Level.Choice ? Key.Delta : Key.Content;
    if (key === lead) {
      if (sawLead) return -1;
      sawLead = true;
      if (level === Level.Top) p = choices(b, p, end);
      else if (level === Level.Choice) p = object(b, p, end, Level.Delta);
      else {
        if (b[p] !== 34 /* " */) return -1;
        const textStart = p + 1;
        p = scanString(b, p, end);
        if (p < 0) return -1;
        contentStart = textStart;
        contentEnd = p - 1;
        contentEscaped = stringEscaped;
      }
    } else p = simpleValue(b, p, end);
    p = skipWhitespace(b, p, end);
    if (p < 0 || p >= end) return -1;
    if (b[p] === 125 /* } */) return sawLead ? p + 1 : -1;
    if (b[p] !== 44 /* , */) return -1;
    p = skipWhitespace(b, p + 1, end);
  }
}

/** `[ choice ]`: exactly one choice. */
function choices(b: Buffer, p: number, end: number): number {
  if (p >= end || b[p] !== 91 /* [ */) return -1;
  p = skipWhitespace(b, object(b, skipWhitespace(b, p + 1, end), end, Level.Choice), end);
  return p >= 0 && p < end && b[p] === 93 /* ] */ ? p + 1 : -1;
}

function keyOf(b: Buffer, start: number, end: number): Key {
  for (const [key, name] of NAMES) if (bytesAre(b, start, end, name)) return key;
  return Key.Other;
}

/** null, true, false, a number or a string; returns the position after it or -1. */
function simpleValue(b: Buffer, p: number, end: number): number {
  if (p < 0 || p >= end) return -1;
  const c = b[p]!;
  if (c === 34 /* " */) return scanString(b, p, end);
  if (c === 110 /* n */) return literal(b, p, end, NULL);
  if (c === 116 /* t */) return literal(b, p, end, TRUE);
  if (c === 102 /* f */) return literal(b, p, end, FALSE);
  return number(b, p, end);
}

const NULL = Buffer.from('null');
const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');

function literal(b: Buffer, p: number, end: number, word: Buffer): number {
  return end - p >= word.length && bytesAre(b, p, p + word.length, word) ? p + word.length : -1;
}

/** JSON's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
function number(b: Buffer, p: number, end: number): number {
  if (b[p] === 45 /* - */) p++;
  if (p >= end) return -1;
  if (b[p] === 48 /* 0 */) p++;
  else if (isDigit(b[p]!)) while (p < end && isDigit(b[p]!)) p++;
  else return -1;
  if (p < end && b[p] === 46 /* . */) {
    p = digits(b, p + 1, end);
    if (p < 0) return -1;
  }
  if (p < end && (b[p]! | 32) === 101 /* e */) {
    p++;
    if (p < end && (b[p] === 43 || b[p] === 45)) p++;
    p = digits(b, p, end);
  }
  return p;
}

/** One or more digits. */
function digits(b: Buffer, p: number, end: number): number {
  const first = p;
  while (p < end && isDigit(b[p]!)) p++;
  return p > first ? p : -1;
}

/**
 * A JSON string starting at the quote at p: no raw control characters, only JSON's escapes.
 * Returns the position after the closing quote or -1; sets stringEscaped.
 */
function scanString(b: Buffer, p: number, end: number): number {
  if (p < 0 || p >= end || b[p] !== 34) return -1;
  stringEscaped = false;
  for (p++; p < end; p++) {
    const c = b[p]!;
    if (c === 34) return p + 1;
    if (c < 32) return -1;
    if (c !== 92 /* \ */) continue;
    stringEscaped = true;
    if (++p >= end) return -1;
    const e = b[p];
    if (e === 117 /* u */) {
      for (let i = 0; i < 4; i++) if (!isHex(b[++p])) return -1;
    } else if (!(e === 34 || e === 92 || e === 47 || e === 98 || e === 102 || e === 110 || e === 114 || e === 116)) return -1;
  }
  return -1;
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && hexValue(c) !== -1;
}

function skipWhitespace(b: Buffer, p: number, end: number): number {
  if (p < 0) return -1;
  while (p < end) {
    const c = b[p]!;
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
    p++;
  }
  return p;
}
