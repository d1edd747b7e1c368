// The sweep seen through the production server's visibility store (PostgreSQL): list and count
// queries on kvsweep's search attributes, as `temporal workflow list --query` and the Web UI send
// them, and the Temporal Web UI server itself in a real browser, as in test/webui/web-ui.test.ts.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import type { Client } from '@temporalio/client';
import type { Page } from 'playwright-core';
import { launchChromium, provisionChromium } from '../report/chromium.ts';
import { startWebUi, type Provisioned } from './stack.ts';

export interface WebUiCheck {
  record: Provisioned;
  client: Client;
  address: string;
  sweepId: string;
  tag: string;
  ids: string[];
  logDir: string;
}

/** Workflow ids a visibility query lists, once the count settles on `expected` (visibility lags). */
async function listed(client: Client, query: string, expected: number): Promise<string[]> {
  let ids: string[] = [];
  for (let i = 0; i < 150; i++) {
    ids = [];
    for await (const execution of client.workflow.list({ query })) ids.push(execution.workflowId);
    if (ids.length === expected) break;
    await sleep(200);
  }
  const { count } = await client.workflow.count(query);
  expect(count, query).toBe(expected);
  return ids.sort();
}

async function waitForText(page: Page, text: string | RegExp, timeoutMs = 60_000): Promise<void> {
  await page.getByText(text, { exact: false }).first().waitFor({ state: 'visible', timeout: timeoutMs });
}

export async function checkSweepInWebUi(c: WebUiCheck): Promise<Record<string, unknown>> {
  const children = c.ids.map((id) => `${c.sweepId}/${id}`).sort();
  const tp2 = children.filter((id) => id.includes('/sim-tp2_'));
  const small = children.filter((id) => id.includes('_c0.016gb_'));
  expect(tp2.length).toBeGreaterThan(0);
  expect(small.length).toBeGreaterThan(1);
  const experiments = `KvsweepTag="${c.tag}" AND WorkflowType="ExperimentWorkflow"`;
  expect(await listed(c.client, experiments, children.length)).toEqual(children);
  expect(await listed(c.client, `${experiments} AND KvsweepModel="sim-tp2"`, tp2.length)).toEqual(tp2);
  expect(await listed(c.client, `KvsweepTag="${c.tag}" AND KvsweepCacheSizeGb=0.016`, small.length)).toEqual(small);
  expect(await listed(c.client, `${experiments} AND KvsweepStatus="succeeded"`, children.length)).toEqual(children);
  expect(await listed(c.client, `KvsweepSweepId="${c.sweepId}" AND WorkflowType="SweepWorkflow" AND KvsweepStatus="completed"`, 1)).toEqual([c.sweepId]);

  const ui = await startWebUi(c.record, c.address, join(c.logDir, 'temporal-ui.log'));
  const browser = await launchChromium(await provisionChromium());
  try {
    const page = await browser.context.newPage();
    const started = performance.now();
    // The sweep's page: its id and type; a TP=2 experiment's page: its type and its steps, each
    // with the summary that says what it did and on which host.
    await page.goto(`${ui.url}/namespaces/default/workflows/${encodeURIComponent(c.sweepId)}`);
    await waitForText(page, c.sweepId);
    await waitForText(page, 'SweepWorkflow');
    await page.screenshot({ path: join(c.logDir, 'web-ui-sweep.png'), fullPage: true });
    const experiment = tp2.find((id) => id.endsWith('_c0.016gb_r10_lru'))!;
    await page.goto(`${ui.url}/namespaces/default/workflows/${encodeURIComponent(experiment)}`);
    await waitForText(page, 'ExperimentWorkflow');
    await waitForText(page, 'replay tp2 at rate 10');
    // Two GPUs of one host: the TP=2 placement.
    await waitForText(page, /start sim server for sim-tp2 on gpu-node-\d-\d+ GPU \d+,\d+/);
    await waitForText(page, 'tear down the server on gpu-node-');
    await page.screenshot({ path: join(c.logDir, 'web-ui-experiment.png'), fullPage: true });
    // The experiments list, filtered by kvsweep's search attributes in the UI's own query box URL.
    await page.goto(`${ui.url}/namespaces/default/workflows?query=${encodeURIComponent(`KvsweepTag="${c.tag}" AND KvsweepCacheSizeGb=0.016`)}`);
    for (const id of small) await waitForText(page, id);
    const other = children.find((id) => !small.includes(id))!;
    expect(await page.getByText(other).count()).toBe(0);
    await page.goto(`${ui.url}/namespaces/default/workflows?query=${encodeURIComponent(`KvsweepTag="${c.tag}" AND KvsweepModel="sim-tp2"`)}`);
    for (const id of tp2) await waitForText(page, id);
    await page.screenshot({ path: join(c.logDir, 'web-ui-tp2.png'), fullPage: true });
    return { ui_url: ui.url, ui_seconds: (performance.now() - started) / 1000, screenshots: ['web-ui-sweep.png', 'web-ui-experiment.png', 'web-ui-tp2.png'].map((name) => join(c.logDir, name)) };
  } finally {
    await browser.close();
    await ui.stop();
  }
}
