// Times as the old tool computes them, checked against values printed by Python 3.11
// (`timedelta(seconds=x)` in microseconds; `datetime.strptime(...).timestamp()` in UTC).
import { describe, expect, it } from 'vitest';
import { logLineSeconds, loggedSeconds, parseTraceMicros, timedeltaMicros } from '../../offline/old-simulator/timestamps.ts';

describe('old tool time arithmetic', () => {
  it.each([
    [118 / 50, 2_360_000],
    [1 / 3, 333_333],
    [5e-7, 0],
    [2.5e-6, 2],
    [1.5e-6, 2],
    [7 / 50, 140_000],
    [2047 / 50, 40_940_000],
    [123.4567895, 123_456_789],
  ])('timedelta(seconds=%s) = %i us', (x, micros) => {
    expect(timedeltaMicros(x)).toBe(micros);
  });

  it.each([
    ['[2025-05-29 05:00:09,857] LMCache INFO: [Observability] on_lookup: conv_1_2', 1748494809.857],
    ['2025-01-01 00:00:00,000 Send conv_id: 1', 1735689600],
    ['2024-02-29 23:59:59,999 Done conv_id: 1', 1709251199.999],
    ['2024-02-30 00:00:00,000 Done conv_id: 1', 0],
    ['no time here', 0],
  ])('%s -> %s', (line, seconds) => {
    expect(logLineSeconds(line)).toBe(seconds);
  });

  it('a trace time written to a log and read back is cut to milliseconds', () => {
    const micros = parseTraceMicros('2025-05-29 05:00:09.857999')!;
    expect(loggedSeconds(micros)).toBe(1748494809.857);
    expect(parseTraceMicros('2025-05-29T05:00:09')).toBe(1748494809 * 1e6);
    expect(parseTraceMicros('29/05/2025')).toBeUndefined();
  });
});
