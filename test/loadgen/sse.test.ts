// The SSE parser must give the same events however the network splits the stream.
import { describe, expect, it } from 'vitest';
import { StringDecoder } from 'node:string_decoder';
import { SseParser } from '../../loadgen/sse.ts';

function parseAll(chunks: string[]): string[] {
  const events: string[] = [];
  const parser = new SseParser((data) => events.push(data));
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return events;
}

const STREAM =
  ': keep-alive comment\n\n' +
  'data: {"choices":[{"delta":{"content":"héllo ☃"}}]}\n\n' +
  'event: message\r\nid: 7\r\ndata: {"a":1}\r\n\r\n' +
  'data:no-space\n\n' +
  'data: line one\ndata: line two\n\n' +
  'data\n\n' +
  'data: [DONE]\n\n';
const EXPECTED = ['{"choices":[{"delta":{"content":"héllo ☃"}}]}', '{"a":1}', 'no-space', 'line one\nline two', '', '[DONE]'];

describe('SseParser', () => {
  it('parses a whole stream', () => {
    expect(parseAll([STREAM])).toEqual(EXPECTED);
  });

  it('gives the same events for every split point (text)', () => {
    for (let i = 0; i <= STREAM.length; i++) {
      expect(parseAll([STREAM.slice(0, i), STREAM.slice(i)]), `split at ${i}`).toEqual(EXPECTED);
    }
  });

  it('gives the same events one character at a time', () => {
    expect(parseAll([...STREAM])).toEqual(EXPECTED);
  });

  it('gives the same events for every split of the UTF-8 bytes (multi-byte characters cut)', () => {
    const bytes = Buffer.from(STREAM, 'utf8');
    for (let i = 0; i <= bytes.length; i++) {
      const decoder = new StringDecoder('utf8');
      const chunks = [decoder.write(bytes.subarray(0, i)), decoder.write(bytes.subarray(i)), decoder.end()];
      expect(parseAll(chunks), `byte split at ${i}`).toEqual(EXPECTED);
    }
  });

  it('handles CR-only line ends, and a CR LF cut between pushes', () => {
    expect(parseAll(['data: a\r\r', 'data: b\r', '\n\r\n'])).toEqual(['a', 'b']);
  });

  it('delivers a last event that lacks its blank line', () => {
    expect(parseAll(['data: tail'])).toEqual(['tail']);
  });

  it('ignores fields that only start with "data"', () => {
    expect(parseAll(['dataset: x\n\ndata: y\n\n'])).toEqual(['y']);
  });
});
