// Line-by-line reading of large log files in fixed chunks: a 1M-request log pair is ~400 MB, more
// than one string should hold.
import { closeSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { UserError } from '../../domain/errors.ts';

const CHUNK = 8 * 1024 * 1024;

/** Calls `onLine` with each line (without its newline or surrounding whitespace) and its 1-based number. */
export function forEachLine(path: string, what: string, onLine: (line: string, lineNumber: number) => void): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new UserError(`cannot read the ${what} ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  try {
    const buffer = Buffer.allocUnsafe(CHUNK);
    // The decoder keeps a multi-byte character cut by a chunk's end for the next chunk.
    const decoder = new StringDecoder('utf8');
    let carry = '';
    let lineNumber = 0;
    for (;;) {
      const read = readSync(fd, buffer, 0, CHUNK, null);
      if (read === 0) break;
      const lines = (carry + decoder.write(buffer.subarray(0, read))).split('\n');
      carry = lines.pop()!;
      for (const line of lines) onLine(line.trim(), ++lineNumber);
    }
    carry += decoder.end();
    if (carry.length > 0) onLine(carry.trim(), ++lineNumber);
  } finally {
    closeSync(fd);
  }
}
