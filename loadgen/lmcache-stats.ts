// The LMCache fork's statistics endpoint, as the old benchmark client read it: `GET <url>` answers
// JSON with `lmcache_stats` (requests, query_tokens, hit_tokens, retrieved_tokens, hit_rate,
// retrieved_rate) and `conversation_stats` (the fork's conversation analytics). The fork serves it
// on its own port, 9000 + the first GPU's id. The client reads it before and after the run; counts
// become deltas, rates and averages are reported as the server gives them. An endpoint that does
// not answer is a notice, never a failure: upstream LMCache has no such endpoint.
import type { ServerAuth } from './auth.ts';
import type { CacheStatistics, LmcacheStatsEndpoint } from './result-schema.ts';

const CALL_TIMEOUT_MS = 5_000;

export type LmcacheStatsSnapshot =
  | { ok: true; lmcache: Record<string, unknown>; conversation: Record<string, unknown> }
  | { ok: false; detail: string };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One read of the endpoint; never throws. */
export async function readLmcacheStats(url: string, auth: ServerAuth): Promise<LmcacheStatsSnapshot> {
  let response: Response;
  try {
    response = await fetch(url, { headers: auth.headers, signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { ok: false, detail: `GET ${url} failed: ${cause?.code ?? cause?.message ?? (error as Error).message}` };
  }
  const text = await response.text().catch(() => '');
  if (!response.ok) return { ok: false, detail: `GET ${url} answered HTTP ${response.status}` };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, detail: `GET ${url} answered something that is not JSON` };
  }
  if (!isObject(body) || !isObject(body.lmcache_stats)) return { ok: false, detail: `GET ${url} answered JSON without an lmcache_stats object` };
  return { ok: true, lmcache: body.lmcache_stats, conversation: isObject(body.conversation_stats) ? body.conversation_stats : {} };
}

/** A figure that is not a running count: reported as the server gives it, not as a delta. */
function isLevel(name: string): boolean {
  return /(rate|ratio|avg|average|mean|percent|fraction|median|_per_|usage|max|min)/i.test(name);
}

type Scalar = number | string | boolean | null;

function scalar(value: unknown): Scalar {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (value === null || value === undefined) return null;
  return JSON.stringify(value);
}

/** The figures of a run from the reads before and after it (pure). */
export function lmcacheStatsFigures(url: string, before: LmcacheStatsSnapshot, after: LmcacheStatsSnapshot): LmcacheStatsEndpoint {
  if (!after.ok) return { url, status: 'unavailable', detail: after.detail, figures: {}, conversation: {} };
  const figures: Record<string, number | null> = {};
  const notes: string[] = [];
  for (const [name, value] of Object.entries(after.lmcache)) {
    if (typeof value !== 'number' || !Number.isFinite(value)) continue;
    const earlier = before.ok ? before.lmcache[name] : undefined;
    if (isLevel(name) || typeof earlier !== 'number') {
      figures[name] = value;
      if (!isLevel(name)) notes.push(`${name} has no reading before the run: the value since the server started`);
    } else if (value < earlier) {
      figures[name] = null;
      notes.push(`${name} went down during the run (server restarted?): no delta`);
    } else {
      figures[name] = value - earlier;
    }
  }
  const conversation: Record<string, Scalar> = {};
  for (const [name, value] of Object.entries(after.conversation)) conversation[name] = scalar(value);
  const served = before.ok && Object.entries(before.lmcache).some(([name, v]) => !isLevel(name) && typeof v === 'number' && v > 0);
  if (served) notes.push('the server had served requests before the run: its rates cover those too');
  const detail = ['read before and after the run; counts are deltas, rates as the server reports them', ...notes].join('; ');
  return { url, status: 'ok', detail, figures, conversation };
}

/**
 * Reads the endpoint before the run (a notice when it does not answer); the function it returns
 * reads it again after the run and puts the figures, or what is missing and why, into the run's
 * cache statistics. Without a URL, nothing is read.
 */
export async function beginLmcacheStats(url: string | null, auth: ServerAuth, log: (line: string) => void): Promise<(stats: CacheStatistics) => Promise<void>> {
  if (url === null) return async () => {};
  const before = await readLmcacheStats(url, auth);
  log(before.ok ? `LMCache stats: reading ${url} before and after the run` : `LMCache stats: ${before.detail}: no lmcache_stats figures for this run (the endpoint is the LMCache fork's)`);
  return async (stats) => {
    const endpoint = lmcacheStatsFigures(url, before, await readLmcacheStats(url, auth));
    stats.lmcache_stats_endpoint = endpoint;
    if (endpoint.status !== 'ok') {
      stats.missing_figures.push({ figures: "lmcache_stats and conversation_stats (the LMCache fork's statistics endpoint)", reason: `${endpoint.detail} (upstream LMCache has no such endpoint)` });
    }
  };
}
