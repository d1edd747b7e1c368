// The Temporal Web UI, in a real browser (Debian's Chromium driven by Playwright), on a sweep that
// kvsweep ran: the sweep is found with its readable id and summary, its experiments are children
// named <sweep id>/<experiment id>, and the search attributes filter them.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startDevServer, type DevServer } from '../../client/dev-server.ts';
import { connectClient } from '../../platform/temporal.ts';
import { freePort, freePortRange } from '../support/ports.ts';
import { runKvsweep, startWorker, type TestProcess } from '../support/processes.ts';
import { writeSweepFile } from '../support/sweeps.ts';
import { launchChromium, provisionChromium, type TestBrowser } from '../report/chromium.ts';

let server: DevServer;
let worker: TestProcess;
let browser: TestBrowser;
let address: string;
const tag = `webui${process.pid}`;
const gpuClass = `webui-${process.pid}`;

beforeAll(async () => {
  const executable = await provisionChromium();
  const port = await freePort();
  address = `127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), 'kvsweep-webui-server-'));
  server = await startDevServer({ address, dbFile: null, uiPort: await freePort(), logPath: join(dir, 'server.log') });
  worker = await startWorker({ address, hostId: `webui-${process.pid}`, gpus: 2, gpuClass, portBase: await freePortRange(200) });
  browser = await launchChromium(executable);
}, 600_000);
afterAll(async () => {
  await browser?.close();
  await worker?.kill('SIGTERM');
  await server?.stop();
});

async function waitForText(page: Page, text: string, timeoutMs = 30_000): Promise<void> {
  await page.getByText(text, { exact: false }).first().waitFor({ state: 'visible', timeout: timeoutMs });
}

describe('the Temporal Web UI on a kvsweep sweep', { timeout: 300_000 }, () => {
  it('finds the sweep, its experiments, and filters them by a search attribute', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvsweep-webui-'));
    const yaml = writeSweepFile({ tag, dir, gpuClass, cacheSizes: [0.001, 0.05] });
    const sweepId = `sweep/${tag}/ui`;
    const env = { TEMPORAL_ADDRESS: address, KVSWEEP_HOME: join(dir, 'home') };
    const started = await runKvsweep(['run', '--yaml', yaml, '--sweep-id', sweepId, '--detach'], env);
    expect(started.code, started.output).toBe(0);
    const client = await connectClient(address, 'default');
    await client.workflow.getHandle(sweepId).result();
    await client.connection.close();

    const page = await browser.context.newPage();
    const ui = server.uiUrl!;
    // The sweep's own page: its readable id, its type and the summary kvsweep gave it.
    await page.goto(`${ui}/namespaces/default/workflows/${encodeURIComponent(sweepId)}`);
    await waitForText(page, sweepId);
    await waitForText(page, 'SweepWorkflow');
    // Its children, each with the summary line that says which configuration it is.
    await waitForText(page, 'sim-small · chat-small · 0.05 GB · rate 10 · lru');
    await waitForText(page, 'sim-small · chat-small · 0.001 GB · rate 10 · lru');
    await page.screenshot({ path: join(dir, 'web-ui-sweep.png'), fullPage: true });
    console.log(`Web UI screenshot: ${join(dir, 'web-ui-sweep.png')}`);

    // An experiment's page: each step says what it did and where.
    await page.goto(`${ui}/namespaces/default/workflows/${encodeURIComponent(`${sweepId}/sim-small_chat-small_c0.05gb_r10_lru`)}`);
    await waitForText(page, 'ExperimentWorkflow');
    await waitForText(page, 'replay chat-small at rate 10');
    await waitForText(page, 'tear down the server on');

    // Experiments filtered by a kvsweep search attribute.
    const query = `KvsweepTag="${tag}" AND WorkflowType="ExperimentWorkflow"`;
    await page.goto(`${ui}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
    await waitForText(page, `${sweepId}/sim-small_chat-small_c0.001gb_r10_lru`);
    await waitForText(page, `${sweepId}/sim-small_chat-small_c0.05gb_r10_lru`);
    const screenshot = join(dir, 'web-ui-experiments.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`Web UI screenshot: ${screenshot}`);

    // The filter really filters: another cache size's attribute leaves one experiment.
    const narrow = `KvsweepTag="${tag}" AND KvsweepCacheSizeGb=0.05`;
    await page.goto(`${ui}/namespaces/default/workflows?query=${encodeURIComponent(narrow)}`);
    await waitForText(page, `${sweepId}/sim-small_chat-small_c0.05gb_r10_lru`);
    expect(await page.getByText(`${sweepId}/sim-small_chat-small_c0.001gb_r10_lru`).count()).toBe(0);
    await page.close();
  });
});
