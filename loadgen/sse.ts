// Incremental Server-Sent Events parser over the response's bytes. A network read can end
// anywhere (mid-line, between the CR and LF, inside a multi-byte character), so a partial line
// is kept to the next push and an event is dispatched only at its blank line. It works on bytes,
// not decoded text, because at thousands of requests per second the decoded stream was the
// largest thing the client allocated per request (docs/loadgen.md); line ends and field names
// are ASCII, so nothing needs decoding to find them.
import { bytesAre } from './bytes.ts';

/** Receives one event's data as bytes: valid only during the call. */
export type SseDataHandler = (bytes: Buffer, start: number, end: number) => void;

const LF = 10;
const CR = 13;
const NEWLINE = Buffer.from('\n');
const DATA = Buffer.from('data');

export class SseParser {
  /** A line not yet ended at the previous push (a copy). */
  private pending: Buffer | null = null;
  /** The last push ended with CR: a LF at the start of the next one belongs to it. */
  private skipLeadingLf = false;
  /** The current event's data: a view of the line that carried it, or joined lines. */
  private data: Buffer | null = null;
  private dataStart = 0;
  private dataEnd = 0;

  constructor(private readonly onData: SseDataHandler) {}

  /** Feeds bytes; calls onData for every complete event that has data. */
  push(input: Buffer): void {
    let buffer = input;
    let start = 0;
    if (this.skipLeadingLf && buffer.length > 0) {
      this.skipLeadingLf = false;
      if (buffer[0] === LF) start = 1;
    }
    if (this.pending !== null) {
      buffer = Buffer.concat([this.pending, buffer.subarray(start)]);
      start = 0;
      this.pending = null;
    }
    const length = buffer.length;
    // Where the next CR / LF are; searched again only once passed (not once per line).
    let cr = -2;
    let lf = -2;
    while (start < length) {
      if (cr !== -1 && cr < start) cr = buffer.indexOf(CR, start);
      if (lf !== -1 && lf < start) lf = buffer.indexOf(LF, start);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        end = cr;
        if (cr + 1 < length) next = buffer[cr + 1] === LF ? cr + 2 : cr + 1;
        else {
          next = cr + 1;
          this.skipLeadingLf = true;
        }
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else break;
      this.line(buffer, start, end);
      start = next;
    }
    if (start < length) this.pending = Buffer.from(buffer.subarray(start));
    // An event still open keeps its data past this call: copy it out of the caller's buffer.
    if (this.data === input) {
      this.data = Buffer.from(this.data.subarray(this.dataStart, this.dataEnd));
      this.dataStart = 0;
      this.dataEnd = this.data.length;
    }
  }

  /** The stream ended: an event without its closing blank line is still delivered. */
  end(): void {
    const pending = this.pending;
    this.pending = null;
    if (pending !== null) this.line(pending, 0, pending.length);
    this.dispatch();
  }

  private line(buffer: Buffer, start: number, end: number): void {
    if (start === end) {
      this.dispatch();
      return;
    }
    // Fields other than data (event, id, retry) and comments (':') carry nothing we use.
    if (end - start < DATA.length || !bytesAre(buffer, start, start + DATA.length, DATA)) return;
    let valueStart = start + DATA.length;
    if (valueStart < end) {
      if (buffer[valueStart] !== 58 /* : */) return;
      valueStart++;
      if (buffer[valueStart] === 32 /* space */ && valueStart < end) valueStart++;
    }
    if (this.data === null) {
      this.data = buffer;
      this.dataStart = valueStart;
      this.dataEnd = end;
    } else {
      // A second data line in one event (rare): the lines are joined with LF.
      this.data = Buffer.concat([this.data.subarray(this.dataStart, this.dataEnd), NEWLINE, buffer.subarray(valueStart, end)]);
      this.dataStart = 0;
      this.dataEnd = this.data.length;
    }
  }

  private dispatch(): void {
    const data = this.data;
    if (data === null) return;
    this.data = null;
    this.onData(data, this.dataStart, this.dataEnd);
  }
}
