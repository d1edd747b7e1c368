// `Authorization: Bearer $OPENAI_API_KEY` on every request to the server, as OpenAI's clients and
// the old benchmark client send it: a server started with `--api-key` answers 401 without it.
// The key is never printed.
import { UserError } from '../domain/errors.ts';

export interface ServerAuth {
  /** For fetch: `{ authorization: 'Bearer ...' }`, or `{}` without a key. */
  headers: Record<string, string>;
  /** The same as raw HTTP/1.1 header lines (each ending in CRLF), for loadgen/http1.ts. */
  headerLines: string;
  /** Whether a key is sent (for the log; never the key). */
  sent: boolean;
}

export const NO_AUTH: ServerAuth = { headers: {}, headerLines: '', sent: false };

/** The auth of a run from the environment; a key that cannot be a header value is a UserError. */
export function authFromEnv(env: NodeJS.ProcessEnv = process.env): ServerAuth {
  const key = env.OPENAI_API_KEY;
  if (key === undefined || key === '') return NO_AUTH;
  // Visible ASCII only: anything else could end the header line early or be rejected by the server.
  if (!/^[\x21-\x7e]+$/.test(key)) throw new UserError('OPENAI_API_KEY holds a space or a character outside visible ASCII: it cannot be sent as a Bearer token');
  const value = `Bearer ${key}`;
  return { headers: { authorization: value }, headerLines: `authorization: ${value}\r\n`, sent: true };
}
