// The fast chunk reader must give JSON.parse's answer for every chunk it accepts, accept the
// chunks vLLM and the simulator really send, and leave everything else to JSON.parse.
import { describe, expect, it } from 'vitest';
import { commonChunkContent as fastOnBytes, slowChunk } from '../../loadgen/stream-chunk.ts';
import { SeededRandom } from '../../loadgen/random.ts';

/**
 * The fast path on the chunk's bytes, placed inside a larger buffer whose bytes after `end` would
 * complete a truncated chunk (`\u` + `0000"`, then closing brackets), so a read past `end` shows.
 */
function commonChunkContent(data: string): string | null {
  const bytes = Buffer.from(`{"choices":[{"delta":{"content":"x"}}]}${data}0000"}}]}`);
  const start = bytes.length - Buffer.byteLength(data) - 9;
  return fastOnBytes(bytes, start, start + Buffer.byteLength(data));
}

const chunk = (delta: string, extra = '', choiceExtra = ',"logprobs":null,"finish_reason":null'): string =>
  `{"id":"chatcmpl-5fffc3e32d5119a28","object":"chat.completion.chunk","created":1795842771,"model":"Qwen/Qwen2.5-0.5B-Instruct","choices":[{"index":0,"delta":${delta}${choiceExtra}}]${extra}}`;

const TEXTS = ['', ' the', 'héllo ☃', 'a "quoted" word', 'back\\slash', 'tab\tnew\nline', 'emoji 😀', '\u0001', '</s>', '{"content":"x"}', '\\"', 'u\u2028v'];

describe('reading stream chunks', () => {
  it('takes the fast path for the chunks vLLM and the simulator send, with JSON.parse\'s content', () => {
    for (const text of TEXTS) {
      const encoded = JSON.stringify(text);
      for (const data of [
        chunk(`{"content":${encoded}}`),
        chunk(`{"role":"assistant","content":${encoded}}`),
        chunk(`{"content":${encoded}}`, '', ',"logprobs":null,"finish_reason":"length","stop_reason":null'),
        chunk(`{"content":${encoded}}`, ',"system_fingerprint":null'),
      ]) {
        expect(commonChunkContent(data), data).toBe(text);
        // What the client reads from the fast path (the content alone) is all the full parse finds.
        expect(slowChunk(data)).toEqual({ content: text, usage: null, error: undefined });
      }
    }
  });

  it('takes the fast path with whitespace between tokens (Python json.dumps style) and for texts naming special keys', () => {
    const spaced = JSON.stringify(JSON.parse(chunk('{"role":"assistant","content":"a b"}')), null, 1);
    expect(commonChunkContent(spaced)).toBe('a b');
    expect(commonChunkContent(` ${chunk('{"content":" x "}').replaceAll(',', ' , ').replaceAll(':', ' : ')}\n`)).toBe(' x ');
    expect(commonChunkContent(chunk('{"content":"\\"usage\\" \\"error\\""}'))).toBe('"usage" "error"');
    expect(commonChunkContent(chunk('{"content":"x","reasoning_content":null}'))).toBe('x');
  });

  it('also reads escapes JSON.stringify does not write (\\u, \\/) as JSON.parse does', () => {
    const data = chunk('{"content":"caf\\u00e9 a\\/b \\ud83d\\ude00"}');
    expect(commonChunkContent(data)).toBe('café a/b 😀');
  });

  it('leaves usage, errors, other shapes and repeated keys to JSON.parse', () => {
    const slowOnly = [
      chunk('{"content":"a"}', ',"usage":{"prompt_tokens":3,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":2}}'),
      chunk('{"content":"a"}', ',"usage":null'),
      chunk('{"content":"a"}', ',"error":"boom"'),
      chunk('{"content":"a"}', ',"choices":null'),
      chunk('{"content":"a"}', '', ',"delta":null'),
      chunk('{"content":"a","content":"b"}'),
      chunk('{"content":null}'),
      chunk('{"role":"assistant"}'),
      chunk('{"content":"a","tool_calls":[]}'),
      '{"choices":[{"index":0,"other":{"delta":{"content":"nested"}}}]}',
      '{"x":{"choices":[{"delta":{"content":"nested"}}]}}',
      '{"choices":[],"usage":{"prompt_tokens":14,"total_tokens":17,"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":0}}}',
      chunk('{"content":"a"}').replace('"choices"', '"\\u0063hoices"'),
      chunk('{"content":"a"}').replace('"delta"', '"\\u0064elta"'),
      chunk('{"content":"a"}').replace('"index":0', '"index":{"n":0}'),
      chunk('{"content":"a"}').replace('}]', '},{"delta":{"content":"b"}}]'),
      '{"choices":[{"delta":{"content":"a"}}],"choices":[{"delta":{"content":"b"}}]}',
      '{"choices":[{"delta":{"content":"a"},"delta":{"content":"b"}}]}',
      '[]',
      '',
    ];
    for (const data of slowOnly) {
      expect(commonChunkContent(data), data).toBeNull();
    }
    expect(slowChunk(slowOnly[0]!).usage).toEqual({ promptTokens: 3, completionTokens: 1, cachedTokens: 2 });
    expect(slowChunk(slowOnly[2]!).error).toBe('boom');
    expect(slowChunk(slowOnly[4]!).content).toBeNull();
    expect(slowChunk(slowOnly[5]!).content).toBe('b');
  });

  it('rejects every truncation of a chunk (never reads past the end it is given)', () => {
    const data = chunk('{"role":"assistant","content":"a\\u00e9\\n"}', ',"x":-1.5e+3');
    expect(commonChunkContent(data)).toBe('a\u00e9\n');
    for (let i = 0; i < data.length; i++) expect(commonChunkContent(data.slice(0, i)), data.slice(0, i)).toBeNull();
  });

  it('agrees with JSON.parse on randomly damaged chunks: whatever it accepts parses to the same content', () => {
    const random = new SeededRandom(7);
    const alphabet = Buffer.from('{}[]":,\\ u0aeE.-+9nullfalsetrue\n\u0001');
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const bytes = Buffer.from(chunk(`{"content":${JSON.stringify(TEXTS[i % TEXTS.length])}}`, i % 3 === 0 ? ',"n":12.5' : ''));
      for (let edits = 1 + random.int(3); edits > 0; edits--) bytes[random.int(bytes.length)] = alphabet[random.int(alphabet.length)]!;
      const text = bytes.toString('utf8');
      const fast = commonChunkContent(text);
      let slow: string | null | undefined;
      try {
        slow = slowChunk(text).content;
      } catch {
        slow = undefined;
      }
      if (fast !== null) {
        accepted++;
        expect(slow, text).toBe(fast);
      }
    }
    // Damage that keeps the text valid JSON of the same shape (a changed letter in a value) is common.
    expect(accepted).toBeGreaterThan(2_000);
  });

  it('rejects what is not JSON, even when the delta looks right', () => {
    for (const data of [
      chunk('{"content":"a"}').slice(0, -1),
      chunk('{"content":"a\\q"}'),
      chunk('{"content":"raw\u0001control"}'),
      chunk('{"content":"a"}').replace('1795842771', '01795842771'),
      chunk('{"content":"a"}').replace('"index":0', '"index":nul'),
      `${chunk('{"content":"a"}')}}`,
    ]) {
      expect(commonChunkContent(data), data).toBeNull();
      expect(() => slowChunk(data), data).toThrow(SyntaxError);
    }
  });
});
