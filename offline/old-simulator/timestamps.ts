// Timestamps as the old simulator reads them: `[YYYY-MM-DD HH:MM:SS,mmm]` anywhere in a line
// (server log), else `YYYY-MM-DD HH:MM:SS,mmm` at its start (client log); seconds = whole seconds +
// microseconds / 1e6, computed in that order so every float equals the old tool's. The old tool
// reads them in the machine's time zone; here they are UTC (the same differences, except across a
// daylight-saving change). A line whose time does not parse gets 0, as there.

const BRACKETED = /\[([\d-]+) ([\d:,]+)\]/;
const LEADING = /^([\d-]+) ([\d:,]+)/;
const PARTS = /^(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{1,2}):(\d{1,2})\.(\d{1,6})$/;

/** Seconds since the epoch of "YYYY-MM-DD HH:MM:SS.ffffff" (1-6 fraction digits), or undefined. */
export function parseDateTime(text: string): number | undefined {
  const m = PARTS.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  if (new Date(ms).getUTCDate() !== day) return undefined;
  const micros = Number(m[7]!.padEnd(6, '0'));
  return ms / 1000 + micros / 1e6;
}

/** Seconds of a log line's timestamp; 0 when it has none that parses. */
export function logLineSeconds(line: string): number {
  const m = BRACKETED.exec(line) ?? LEADING.exec(line);
  if (!m) return 0;
  return parseDateTime(`${m[1]} ${m[2]!.replaceAll(',', '.')}`) ?? 0;
}

const CSV_TIME = /^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,6}))?$/;

/** Whole microseconds since the epoch of a trace timestamp (UTC; fraction optional), or undefined. */
export function parseTraceMicros(text: string): number | undefined {
  const m = CSV_TIME.exec(text.trim());
  if (!m) return undefined;
  const seconds = parseDateTime(`${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}:${m[6]}.0`);
  if (seconds === undefined) return undefined;
  return seconds * 1e6 + Number((m[7] ?? '0').padEnd(6, '0'));
}

/**
 * Microseconds of a `timedelta(seconds=x)` for x >= 0, rounded as Python does: the whole seconds
 * exact, the fraction's whole microseconds exact, what is left rounded half to even.
 */
export function timedeltaMicros(x: number): number {
  const whole = Math.trunc(x);
  const fraction = 1e6 * (x - whole);
  const wholeMicros = Math.trunc(fraction);
  const sum = whole * 1e6 + wholeMicros;
  const leftover = fraction - wholeMicros;
  let rounded = Math.round(leftover);
  if (Math.abs(rounded - leftover) === 0.5) {
    const odd = sum % 2;
    rounded = 2 * Math.round((leftover + odd) * 0.5) - odd;
  }
  return sum + rounded;
}

/** The seconds the old tool reads back from a log line written for `micros` (cut to milliseconds). */
export function loggedSeconds(micros: number): number {
  const seconds = Math.floor(micros / 1e6);
  const millis = Math.floor((micros - seconds * 1e6) / 1000);
  return seconds + (millis * 1000) / 1e6;
}
