// Reading ASCII protocol text (HTTP heads, JSON) straight from bytes, without making strings: at
// thousands of requests per second the strings were what the client allocated most (docs/loadgen.md).

export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** The value of a decimal digit, NaN for any other byte. */
export function digit(c: number): number {
  return isDigit(c) ? c - 48 : Number.NaN;
}

/** The value of a hexadecimal digit (either case), -1 for any other byte. */
export function hexValue(c: number): number {
  if (isDigit(c)) return c - 48;
  const lower = c | 32;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

/** buf[start, end) is `word`, byte for byte (a loop: cheaper than a native call for a few bytes). */
export function bytesAre(buf: Buffer, start: number, end: number, word: Buffer): boolean {
  if (end - start !== word.length) return false;
  for (let i = 0; i < word.length; i++) if (buf[start + i] !== word[i]) return false;
  return true;
}

function isSpaceOrTab(c: number): boolean {
  return c === 32 || c === 9;
}

/** buf[start, end) is `lower` (lowercase ASCII), compared case-insensitively. */
export function nameIs(buf: Buffer, start: number, end: number, lower: Buffer): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    const c = buf[start + i]!;
    const l = lower[i]!;
    if (c !== l && !(l >= 97 && l <= 122 && c === l - 32)) return false;
  }
  return true;
}

/** The span trim() and nextItem() found: one shared object, not an array per call. */
export const span = { start: 0, end: 0 };

/** Sets span to [start, end) without leading and trailing spaces and tabs. */
export function trim(buf: Buffer, start: number, end: number): void {
  while (start < end && isSpaceOrTab(buf[start]!)) start++;
  while (end > start && isSpaceOrTab(buf[end - 1]!)) end--;
  span.start = start;
  span.end = end;
}

/**
 * For comma-separated lists: the item at p, trimmed, into span; returns where the next item
 * starts (past `end` after the last one).
 */
export function nextItem(buf: Buffer, p: number, end: number): number {
  let comma = buf.indexOf(44, p);
  if (comma === -1 || comma > end) comma = end;
  trim(buf, p, comma);
  return comma + 1;
}

/** The first `max` bytes of buf[start, end), quoted, for an error message. */
export function excerpt(buf: Buffer, start: number, end: number, max: number): string {
  return JSON.stringify(buf.toString('latin1', start, Math.min(end, start + max)));
}
