// The fast chunk reader must give JSON.parse's answer for every chunk it accepts, accept the
// chunks vLLM and the simulator really send, and leave everything else to JSON.parse.
import { describe, expect, it } from 'vitest';
import { commonChunkContent, slowChunk } from '../../loadgen/stream-chunk.ts';

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
    ];
    for (const data of slowOnly) {
      expect(commonChunkContent(data), data).toBeNull();
    }
    expect(slowChunk(slowOnly[0]!).usage).toEqual({ promptTokens: 3, completionTokens: 1, cachedTokens: 2 });
    expect(slowChunk(slowOnly[2]!).error).toBe('boom');
    expect(slowChunk(slowOnly[4]!).content).toBeNull();
    expect(slowChunk(slowOnly[5]!).content).toBe('b');
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
