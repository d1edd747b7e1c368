// Incremental Server-Sent Events parser: a network read can end anywhere (mid-line, between the
// CR and LF, inside a multi-byte character — the caller decodes UTF-8 with a streaming decoder),
// so lines are assembled across pushes and an event is dispatched only at its blank line.

export class SseParser {
  private pending = '';
  private data: string | null = null;
  /** The last push ended with CR: a LF at the start of the next one belongs to it. */
  private skipLeadingLf = false;

  constructor(private readonly onData: (data: string) => void) {}

  /** Feeds decoded text; calls onData for every complete event that has data. */
  push(text: string): void {
    let chunk = text;
    if (this.skipLeadingLf) {
      this.skipLeadingLf = false;
      if (chunk.startsWith('\n')) chunk = chunk.slice(1);
    }
    const buffer = this.pending === '' ? chunk : this.pending + chunk;
    let start = 0;
    const length = buffer.length;
    for (;;) {
      const lf = buffer.indexOf('\n', start);
      const cr = buffer.indexOf('\r', start);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        end = cr;
        if (cr + 1 < length) next = buffer.charCodeAt(cr + 1) === 10 ? cr + 2 : cr + 1;
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
    this.pending = start >= length ? '' : buffer.slice(start);
  }

  /** The stream ended: an event without its closing blank line is still delivered. */
  end(): void {
    if (this.pending !== '') this.line(this.pending, 0, this.pending.length);
    this.pending = '';
    this.dispatch();
  }

  private line(buffer: string, start: number, end: number): void {
    if (start === end) {
      this.dispatch();
      return;
    }
    // Fields other than data (event, id, retry) and comments (':') carry nothing we use.
    if (buffer.startsWith('data', start)) {
      let valueStart = start + 4;
      if (valueStart === end) {
        this.data = this.data === null ? '' : `${this.data}\n`;
        return;
      }
      if (buffer.charCodeAt(valueStart) !== 58 /* : */) return;
      valueStart++;
      if (buffer.charCodeAt(valueStart) === 32 /* space */) valueStart++;
      const value = buffer.slice(valueStart, end);
      this.data = this.data === null ? value : `${this.data}\n${value}`;
    }
  }

  private dispatch(): void {
    if (this.data === null) return;
    const data = this.data;
    this.data = null;
    this.onData(data);
  }
}
