// Bare `kvsweep`: the demo, exactly as a new user runs it, with nothing running beforehand: it must
// start the embedded Temporal dev server and a local worker, run configs/demo.yaml to the end, print
// the Web UI link, the summary and where the results are, and leave nothing running.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isListening } from '../../platform/temporal.ts';
import { freePort } from '../support/ports.ts';
import { markedProcesses, runKvsweep } from '../support/processes.ts';

describe('npx kvsweep (the demo)', { timeout: 300_000 }, () => {
  it('runs the demo sweep on an embedded server and a local worker, then stops them', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const uiPort = Number(address.split(':')[1]) + 1000;
    const cwd = mkdtempSync(join(tmpdir(), 'kvsweep-demo-'));
    const home = join(cwd, '.kvsweep-home');
    const started = Date.now();
    const localHost = `demo-local-${process.pid}`;
    const { code, output } = await runKvsweep([], { TEMPORAL_ADDRESS: address, KVSWEEP_HOME: home, KVSWEEP_LOCAL_HOST_ID: localHost }, 280_000, cwd);
    const seconds = Math.round((Date.now() - started) / 1000);
    console.log(`demo: exit ${code} in ${seconds} s`);
    expect(code, output).toBe(0);
    expect(output).toContain(`Started the embedded Temporal dev server at ${address}`);
    expect(output).toContain(`http://127.0.0.1:${uiPort}/namespaces/default/workflows/sweep%2Fdemo%2F`);
    expect(output).toMatch(/Total experiments:\s+6/);
    expect(output).toMatch(/Successful:\s+6/);
    expect(output).toMatch(/Report:\s+\S+report.html/);
    const resultsDir = /^Results:\s+(\S+)$/m.exec(output)![1]!;
    expect(resultsDir.startsWith(join(cwd, 'logs', 'demo_'))).toBe(true);
    const summary = JSON.parse(readFileSync(join(resultsDir, 'summary.json'), 'utf8')) as Array<{ configuration: { cache_size_gb: number; eviction_strategy: string }; cache_statistics: { external_prefix_cache_hit_rate: number } }>;
    // Cache effects are visible: with LRU the largest CPU tier finds more than the smallest.
    const lru = (size: number) => summary.find((e) => e.configuration.eviction_strategy === 'lru' && e.configuration.cache_size_gb === size)!.cache_statistics.external_prefix_cache_hit_rate;
    expect(lru(8)).toBeGreaterThan(lru(0.5) + 0.1);
    expect(existsSync(join(home, 'temporal', 'dev.db'))).toBe(true);
    expect(await isListening(address)).toBe(false);
    expect(markedProcesses(localHost)).toEqual([]);
  });
});
