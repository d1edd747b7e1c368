// The calls around a run against servers that lack an endpoint or refuse: a small HTTP server on
// loopback plays those servers (the simulator always has /tokenize and resets when it can).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { calibratePrompts, checkServer, resetPrefixCache } from '../../loadgen/server-api.ts';

let server: http.Server;
let base: string;
let resetAnswer: { status: number; body: string } = { status: 200, body: '' };
beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/v1/models') {
      res.end(JSON.stringify({ data: [{ id: 'served' }] }));
    } else if (req.url === '/reset_prefix_cache') {
      res.statusCode = resetAnswer.status;
      res.end(resetAnswer.body);
    } else {
      res.statusCode = 404;
      res.end(JSON.stringify({ detail: 'Not Found' }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe('server calls', () => {
  it('without /tokenize, assumes one token per word and says why', async () => {
    const calibration = await calibratePrompts(base, 'served');
    expect(calibration).toMatchObject({ source: 'assumed', tokensPerWord: 1, templateBaseTokens: 0 });
    expect(calibration.detail).toMatch(/POST \/tokenize answered HTTP 404/);
  });

  it.each([
    [{ status: 200, body: '' }, 'ok'],
    [{ status: 200, body: '{"reset": true}' }, 'ok'],
    [{ status: 200, body: '{"reset": false}' }, 'failed'],
    [{ status: 200, body: 'false' }, 'failed'],
    [{ status: 500, body: 'boom' }, 'failed'],
    [{ status: 404, body: '' }, 'unsupported'],
  ] as const)('reset answered %j is %s', async (answer, status) => {
    resetAnswer = answer;
    expect((await resetPrefixCache(base)).status).toBe(status);
  });

  it('checks that the model is served', async () => {
    await expect(checkServer(base, 'served')).resolves.toBeUndefined();
    await expect(checkServer(base, 'other')).rejects.toThrow("does not serve model 'other' (it serves: served)");
  });
});
