// Table-driven tests of the trace rules: timestamps, lengths, headers, and ordering.
import { describe, expect, it } from 'vitest';
import { UserError } from '../../domain/errors.ts';
import { assembleTurns, checkHeader, parseLength, parseRow, parseTimestamp, type RowCounts, type TraceRow } from '../../loadgen/trace-parse.ts';

describe('parseTimestamp', () => {
  const base = Date.UTC(2025, 4, 29, 5, 0, 7);
  it.each([
    ['2025-05-29 05:00:07.053', base + 53],
    ['2025-05-29 05:00:07', base],
    ['2025-05-29T05:00:07.053Z', base + 53],
    ['2025-05-29T05:00:07.053+02:00', base + 53 - 2 * 3_600_000],
    ['2025-05-29 05:00:07.0535', base + 53.5],
    ['2025-05-29 05:00:07.123456', base + 123.456],
    [' 2025-05-29 05:00:07.5 ', base + 500],
    ['1748494807.053', 1748494807053],
    // The other forms pandas.to_datetime reads.
    ['2025/05/29 05:00:07', base],
    ['2025-5-29 5:00:07', base],
    ['2025-05-29 05:00', base - 7000],
    ['2025-05-29', Date.UTC(2025, 4, 29)],
    ['2025-05-29T05:00:07,053', base + 53],
    ['2025-05-29 05:00:07.053 UTC', base + 53],
    ['2025-05-29T05:00:07.053z', base + 53],
    ['2025-05-29T05:00:07-0130', base + 90 * 60_000],
    ['2025-05-29T05:00:07+02', base - 2 * 3_600_000],
  ])('%s', (text, expected) => {
    expect(parseTimestamp(text)).toBeCloseTo(expected, 3);
  });
  it.each(['', 'yesterday', '2025-13-01 00:00:00', '2025-02-30 00:00:00', '2025-05-29 24:00:00', '2025/05-29 05:00:07', '05:00:07', '29/05/2025', '2025-05-29 05:00:07 CEST'])(
    'rejects %j',
    (text) => {
      expect(parseTimestamp(text)).toBeNull();
    },
  );
});

describe('parseLength', () => {
  it.each([
    ['27', 27],
    ['27.0', 27],
    ['27.6', 28],
    [' 3 ', 3],
    ['0', 0],
    ['-5', -5],
    ['1e2', 100],
    ['', null],
    ['NaN', null],
    ['nan', null],
    ['NA', null],
    ['null', null],
    ['<NA>', null],
    ['abc', 'invalid'],
    ['12tokens', 'invalid'],
  ] as const)('%j -> %j', (text, expected) => {
    expect(parseLength(text)).toBe(expected);
  });
});

describe('checkHeader', () => {
  it('accepts the four columns, with or without ModelName', () => {
    expect(() => checkHeader(['@timestamp', 'ConversationId', 'CustomerQueryLength', 'GenerativeModelResponseLength'], 'f.csv')).not.toThrow();
    expect(() =>
      checkHeader(['@timestamp', 'ConversationId', 'CustomerQueryLength', 'GenerativeModelResponseLength', 'ModelName'], 'f.csv'),
    ).not.toThrow();
  });
  it.each([
    [['timestamp', 'ConversationId', 'CustomerQueryLength', 'GenerativeModelResponseLength'], "missing column '@timestamp'"],
    [['@timestamp', 'CustomerQueryLength'], "missing columns 'ConversationId', 'GenerativeModelResponseLength'"],
  ])('names what is missing: %j', (columns, message) => {
    expect(() => checkHeader(columns, 'f.csv')).toThrow(UserError);
    expect(() => checkHeader(columns, 'f.csv')).toThrow(message);
  });
});

describe('parseRow', () => {
  const fresh = (): RowCounts => ({ rowsRead: 0, droppedMissingQuery: 0, droppedNonPositiveQuery: 0, defaultedReplyLength: 0, raisedReplyLength: 0 });
  const record = (overrides: Record<string, string>): Record<string, string> => ({
    '@timestamp': '2025-05-29 05:00:07.053',
    ConversationId: 'abc-1',
    CustomerQueryLength: '27.0',
    GenerativeModelResponseLength: '64',
    ...overrides,
  });
  it('reads a row, rounding float lengths', () => {
    const counts = fresh();
    expect(parseRow(record({}), 2, 'f.csv', counts)).toMatchObject({ conversationId: 'abc-1', queryTokens: 27, replyTokens: 64, line: 2, modelName: null });
    expect(counts.rowsRead).toBe(1);
  });
  it.each([['0'], ['-3'], ['0.4']])('drops and counts a query length of %s', (q) => {
    const counts = fresh();
    expect(parseRow(record({ CustomerQueryLength: q }), 2, 'f.csv', counts)).toBeNull();
    expect(counts.droppedNonPositiveQuery).toBe(1);
  });
  it.each([[''], ['NaN'], [' nan '], ['NA']])('drops and counts a missing query length (%j), as the old loader did', (q) => {
    const counts = fresh();
    expect(parseRow(record({ CustomerQueryLength: q }), 2, 'f.csv', counts)).toBeNull();
    expect(counts).toMatchObject({ rowsRead: 1, droppedMissingQuery: 1, droppedNonPositiveQuery: 0 });
  });
  it.each([[''], ['NaN']])('a missing reply length (%j) becomes 128 and is counted', (r) => {
    const counts = fresh();
    expect(parseRow(record({ GenerativeModelResponseLength: r }), 2, 'f.csv', counts)?.replyTokens).toBe(128);
    expect(counts.defaultedReplyLength).toBe(1);
  });
  it('a reply length of 0 is raised to 1 and counted', () => {
    const counts = fresh();
    expect(parseRow(record({ GenerativeModelResponseLength: '0' }), 2, 'f.csv', counts)?.replyTokens).toBe(1);
    expect(counts.raisedReplyLength).toBe(1);
  });
  it('keeps ModelName when present', () => {
    expect(parseRow(record({ ModelName: 'qwen' }), 2, 'f.csv', fresh())?.modelName).toBe('qwen');
  });
  it.each([
    [{ '@timestamp': '29/05/2025' }, "f.csv line 7: bad @timestamp '29/05/2025'"],
    [{ ConversationId: ' ' }, 'f.csv line 7: empty ConversationId'],
    [{ CustomerQueryLength: 'many' }, "f.csv line 7: bad CustomerQueryLength 'many'"],
    [{ GenerativeModelResponseLength: 'x' }, "f.csv line 7: bad GenerativeModelResponseLength 'x'"],
  ])('rejects %j with the line', (overrides, message) => {
    expect(() => parseRow(record(overrides), 7, 'f.csv', fresh())).toThrow(message);
  });
});

describe('assembleTurns', () => {
  const row = (t: number, id: string, line: number): TraceRow => ({ timestampMs: t, conversationId: id, queryTokens: 1, replyTokens: 1, modelName: null, line });
  it('sorts by time (file order breaks ties), numbers turns per conversation, offsets from the first', () => {
    const turns = assembleTurns([row(3000, 'a', 2), row(1000, 'b', 3), row(1000, 'a', 4), row(2500, 'b', 5), row(1000, 'b', 6)], null);
    expect(turns.map((t) => [t.index, t.offsetMs, t.conversationId, t.turn, t.line])).toEqual([
      [0, 0, 'b', 1, 3],
      [1, 0, 'a', 1, 4],
      [2, 0, 'b', 2, 6],
      [3, 1500, 'b', 3, 5],
      [4, 2000, 'a', 2, 2],
    ]);
  });
  it('keeps at most `limit` rows, the earliest', () => {
    const turns = assembleTurns([row(3000, 'a', 2), row(1000, 'b', 3), row(2000, 'c', 4)], 2);
    expect(turns.map((t) => t.conversationId)).toEqual(['b', 'c']);
  });
});
