// The SSE parser must give the same events however the network splits the stream.
import { describe, expect, it } from 'vitest';
import { SseParser } from '../../loadgen/sse.ts';

/** Events (decoded) from the byte chunks; each chunk is overwritten after its push, as a reused read buffer would be. */
function parseAll(chunks: Array<string | Buffer>): string[] {
  const events: string[] = [];
  const parser = new SseParser((bytes, start, end) => events.push(bytes.toString('utf8', start, end)));
  for (const chunk of chunks) {
    const bytes = Buffer.from(chunk);
    parser.push(bytes);
    bytes.fill(0x78);
  }
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

  it('gives the same events for every split of the bytes (multi-byte characters and CR LF cut)', () => {
    const bytes = Buffer.from(STREAM, 'utf8');
    for (let i = 0; i <= bytes.length; i++) {
      expect(parseAll([bytes.subarray(0, i), bytes.subarray(i)]), `split at byte ${i}`).toEqual(EXPECTED);
    }
  });

  it('gives the same events one byte at a time, and for views into a larger buffer', () => {
    const bytes = Buffer.from(STREAM, 'utf8');
    expect(parseAll([...bytes].map((b) => Buffer.from([b])))).toEqual(EXPECTED);
    const framed = Buffer.concat([Buffer.from('garbage\n\n'), bytes, Buffer.from('data: not this\n\n')]);
    const events: string[] = [];
    const parser = new SseParser((b, start, end) => events.push(b.toString('utf8', start, end)));
    parser.push(framed.subarray(9, 9 + bytes.length));
    parser.end();
    expect(events).toEqual(EXPECTED);
  });

  it('keeps an event whose blank line comes in a later push, though the caller reuses its buffer', () => {
    expect(parseAll(['data: {"a":', '1}\n', '\n'])).toEqual(['{"a":1}']);
    expect(parseAll(['data: one\n', 'data: two\n', '\n'])).toEqual(['one\ntwo']);
  });

  it('handles CR-only line ends, and a CR LF cut between pushes', () => {
    expect(parseAll(['data: a\r\r', 'data: b\r', '\n\r\n'])).toEqual(['a', 'b']);
    expect(parseAll(['data: a\r', '', '\n\r\n'])).toEqual(['a']);
  });

  it('delivers a last event that lacks its blank line', () => {
    expect(parseAll(['data: tail'])).toEqual(['tail']);
  });

  it('ignores fields that only start with "data"', () => {
    expect(parseAll(['dataset: x\n\ndata: y\n\n'])).toEqual(['y']);
  });
});
