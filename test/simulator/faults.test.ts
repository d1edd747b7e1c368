// Each fault flag produces the failure it names.
import { afterAll, describe, expect, it } from 'vitest';
import { chat, killAll, spawnSim, startSim } from './sim-process.ts';

const MODEL = 'kvsweep/sim-small';
const ASK = { model: MODEL, messages: [{ role: 'user', content: 'hello' }], max_tokens: 4 };
afterAll(killAll);

async function status(baseUrl: string): Promise<number> {
  const r = await fetch(`${baseUrl}/v1/chat/completions`, { method: 'POST', body: JSON.stringify(ASK) });
  await r.text();
  return r.status;
}

describe('faults', () => {
  it('--fail-startup: exits 1 during start-up, never ready', async () => {
    const sim = await spawnSim([MODEL, '--port', '0', '--fail-startup', '--startup-delay', '0.4']);
    expect(await sim.exited).toBe(1);
    expect(sim.output()).toMatch(/ERROR .*simulated start-up failure \(--fail-startup\)/);
    expect(sim.output()).not.toMatch(/Application startup complete/);
  });

  it('--never-ready: listens, but /health stays 503 and start-up never completes', async () => {
    const sim = await spawnSim([MODEL, '--port', '0', '--never-ready']);
    const deadline = Date.now() + 1500;
    const statuses = new Set<number>();
    while (Date.now() < deadline) {
      const r = await fetch(`${sim.baseUrl}/health`).catch(() => undefined);
      if (r) statuses.add(r.status);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect([...statuses]).toEqual([503]);
    expect(await status(sim.baseUrl)).toBe(503);
    expect(sim.output()).not.toMatch(/Application startup complete/);
    expect(sim.child.exitCode).toBeNull();
    await sim.kill();
  });

  it('--crash-after-requests N: serves N requests, then exits 1', async () => {
    const sim = await startSim([MODEL, '--port', '0', '--speed', 'inf', '--crash-after-requests', '3']);
    for (let i = 0; i < 3; i++) expect((await chat(sim.baseUrl, ASK)).completionTokens).toBe(4);
    expect(await sim.exited).toBe(1);
    expect(sim.output()).toMatch(/ERROR .*EngineCore encountered a fatal error: --crash-after-requests 3/);
    await expect(fetch(`${sim.baseUrl}/health`)).rejects.toThrow();
  });

  it('--error-rate F: answers that share of requests with HTTP 500, the same ones under the same seed', async () => {
    const run = async (seed: string): Promise<number[]> => {
      const sim = await startSim([MODEL, '--port', '0', '--speed', 'inf', '--error-rate', '0.3', '--seed', seed]);
      const statuses: number[] = [];
      for (let i = 0; i < 60; i++) statuses.push(await status(sim.baseUrl));
      await sim.kill();
      return statuses;
    };
    const [a, b, c] = await Promise.all([run('1'), run('1'), run('2')]);
    const errors = a.filter((s) => s === 500).length;
    expect(errors).toBeGreaterThan(6);
    expect(errors).toBeLessThan(32);
    expect(a.every((s) => s === 200 || s === 500)).toBe(true);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    const all = await startSim([MODEL, '--port', '0', '--error-rate', '1']);
    const r = await fetch(`${all.baseUrl}/v1/chat/completions`, { method: 'POST', body: JSON.stringify(ASK) });
    expect(r.status).toBe(500);
    expect(await r.json()).toEqual({ error: { message: 'simulated internal server error (--error-rate)', type: 'InternalServerError', param: null, code: 500 } });
    await all.kill();
  });
});
