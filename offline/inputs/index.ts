// Reads any offline input into a request stream.
import type { InputKind, RequestStream } from './stream.ts';
import { readTraceCsv } from './trace-csv.ts';
import { readRequestsJsonl } from './requests-jsonl.ts';
import { readServerLog } from './server-log.ts';

export type { InputKind, RequestStream } from './stream.ts';

export interface InputSource {
  kind: InputKind;
  /** The trace CSV, the requests.jsonl (or .jsonl.gz), or the server log of the old tool's pair. */
  path: string;
}

/** The first `numPrompts` turns (by time) of the input; throws UserError on unusable input. */
export function loadRequestStream(source: InputSource, numPrompts: number | null): Promise<RequestStream> {
  switch (source.kind) {
    case 'trace_csv':
      return readTraceCsv(source.path, numPrompts);
    case 'requests_jsonl':
      return readRequestsJsonl(source.path, numPrompts);
    case 'server_log':
      return readServerLog(source.path, numPrompts);
  }
}
