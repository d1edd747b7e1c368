// Timing as a client sees it: fixed timings within a millisecond at the median, modelled timings
// never earlier than the model and sped up by --speed. Timestamps per SSE event over raw HTTP.
import { Agent, request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { idleRoundTripMs } from '../support/round-trip.ts';
import { performance } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { killAll, startSim } from './sim-process.ts';
import { resolveModel } from '../../simulator/models.ts';
import { kvBytesPerTokenPerDevice } from '../../simulator/memory.ts';
import { H100, rooflineTiming } from '../../simulator/timing.ts';

afterAll(async () => {
  agent.destroy();
  await killAll();
});

// Keep-alive, as load generators do: TTFT then excludes connection set-up.
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/** Streams one chat completion; returns TTFT, the gaps between content chunks and the last token's time, in ms. */
function timedStream(baseUrl: string, body: Record<string, unknown>): Promise<{ ttft: number; itls: number[]; last: number }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const times: number[] = [];
    let buffer = '';
    const req = request(`${baseUrl}/v1/chat/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const now = performance.now();
        buffer += chunk;
        let i: number;
        while ((i = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          if (event.includes('"content":"') && !event.includes('"content":""')) times.push(now);
        }
      });
      res.on('end', () => resolve({ ttft: times[0]! - start, itls: times.slice(1).map((t, k) => t - times[k]!), last: times[times.length - 1]! - start }));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ stream: true, ignore_eos: true, ...body }));
  });
}

/**
 * 1 ms (the issue's tolerance) on a machine with a spare core. Other developers' test runs share
 * these 2 cores: a descheduled client reads late, or two tokens in one read, so an overloaded
 * machine gets 10 ms. The lower bounds (never early) hold whatever the load.
 */
const tolerance = (): number => (loadavg()[0]! < cpus().length ? 1 : 10);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

describe('fixed timings', () => {
  // A client's TTFT also carries the machine's idle HTTP round trip (both processes wake from
  // sleep: about 1 ms on this VM, 0.3 ms back to back), measured here against the same server; ITL,
  // the gap between two chunks of one stream, carries none. Up to three rounds: a burst of load from
  // elsewhere shifts a whole round, a wrong timer every round.
  it('--fixed-ttft-ms / --fixed-itl-ms: the median TTFT (plus the idle round trip) and ITL within 1 ms', async () => {
    const sim = await startSim(['kvsweep/sim-small', '--port', '0', '--fixed-ttft-ms', '40', '--fixed-itl-ms', '8']);
    const roundTrip = await idleRoundTripMs(`${sim.baseUrl}/health`);
    await timedStream(sim.baseUrl, { model: 'kvsweep/sim-small', messages: [{ role: 'user', content: 'warm-up' }], max_tokens: 3 });
    const rounds: Array<{ ttft_error: number; itl_error: number; load: number }> = [];
    const within = (r: { ttft_error: number; itl_error: number }) => r.ttft_error <= 1 + roundTrip && Math.abs(r.itl_error) <= 1;
    for (let round = 0; round < 3 && !rounds.some(within); round++) {
      const ttfts: number[] = [];
      const itls: number[] = [];
      for (let i = 0; i < 12; i++) {
        const r = await timedStream(sim.baseUrl, { model: 'kvsweep/sim-small', messages: [{ role: 'user', content: `q${round}-${i}` }], max_tokens: 20 });
        ttfts.push(r.ttft);
        itls.push(...r.itls);
        expect(r.itls).toHaveLength(19);
        // Never early: the first token no sooner than TTFT, the last no sooner than TTFT + 19 x ITL.
        expect(r.ttft).toBeGreaterThanOrEqual(40);
        expect(r.last).toBeGreaterThanOrEqual(40 + 19 * 8);
      }
      rounds.push({ ttft_error: median(ttfts) - 40, itl_error: median(itls) - 8, load: loadavg()[0]! });
    }
    expect(rounds.some(within), `idle round trip ${roundTrip.toFixed(3)} ms; rounds ${JSON.stringify(rounds)}`).toBe(true);
    await sim.kill();
  });

  it('--speed divides fixed timings too', async () => {
    const sim = await startSim(['kvsweep/sim-small', '--port', '0', '--fixed-ttft-ms', '200', '--fixed-itl-ms', '100', '--speed', '10']);
    const r = await timedStream(sim.baseUrl, { model: 'kvsweep/sim-small', messages: [{ role: 'user', content: 'q' }], max_tokens: 6 });
    // (200 + 5 x 100) / 10 ms for the sixth token; never earlier.
    expect(r.ttft).toBeGreaterThanOrEqual(20);
    expect(r.last).toBeGreaterThanOrEqual(70);
    expect(r.last).toBeLessThan(70 + 5 * tolerance() + 40);
    await sim.kill();
  });
});

describe('modelled timings', () => {
  const model = 'meta-llama/Llama-3.1-8B-Instruct';
  const g = resolveModel(model);
  const kv = kvBytesPerTokenPerDevice(g, 2, { tensorParallel: 1, pipelineParallel: 1 });
  const timing = rooflineTiming(g, H100, { tensorParallel: 1, weightBytes: g.weightBytes, kvBytesPerToken: kv, kvBytesPerTokenPerDevice: kv, fp8: false });
  const content = 'lorem '.repeat(3000);
  const prompt = 3000 + 8;
  // One request alone: a prefill step of the whole prompt, then one decode step per token.
  const prefill = timing.stepSeconds({ newTokens: prompt, contextTokens: prompt, attentionPairs: (prompt * (prompt + 1)) / 2, loadedTokens: 0 }) * 1000;
  const decode = timing.stepSeconds({ newTokens: 1, contextTokens: prompt + 1, attentionPairs: prompt + 1, loadedTokens: 0 }) * 1000;

  it('an idle H100 serves an 8B model\'s 3,000-token prompt in the model\'s time, never sooner', async () => {
    const sim = await startSim([model, '--port', '0', '--max-model-len', '8192']);
    const r = await timedStream(sim.baseUrl, { model, messages: [{ role: 'user', content }], max_tokens: 10 });
    expect(prefill).toBeGreaterThan(80);
    expect(prefill).toBeLessThan(200);
    expect(r.ttft).toBeGreaterThanOrEqual(prefill);
    expect(r.ttft).toBeLessThan(prefill * 2 + 50);
    // Each step's deadline is absolute: the tenth token never comes before prefill + 9 decode steps.
    expect(r.last).toBeGreaterThanOrEqual(prefill + 9 * (decode - 0.1));
    expect(r.last).toBeLessThan(2 * (prefill + 9 * decode) + 50);
    await sim.kill();
  });

  it('--speed 20 runs the same work twenty times faster', async () => {
    const sim = await startSim([model, '--port', '0', '--max-model-len', '8192', '--speed', '20']);
    const r = await timedStream(sim.baseUrl, { model, messages: [{ role: 'user', content }], max_tokens: 10 });
    expect(r.ttft).toBeGreaterThanOrEqual(prefill / 20);
    expect(r.ttft).toBeLessThan(prefill / 20 + 40);
    await sim.kill();
  });

  it('a second identical prompt is faster: its prefix comes from the cache', async () => {
    const sim = await startSim([model, '--port', '0', '--max-model-len', '8192']);
    const ask = { model, messages: [{ role: 'user', content }], max_tokens: 2 };
    const cold = await timedStream(sim.baseUrl, ask);
    const warm = await timedStream(sim.baseUrl, ask);
    expect(warm.ttft).toBeLessThan(cold.ttft / 2);
    await sim.kill();
  });
});
