// Upgrade safety: every recorded history (test/replay/histories/<version>/<scenario>/) replays
// against the current workflow code without a nondeterminism error. A history recorded from an
// earlier kvsweep stands for a sweep that was running when its workers were upgraded: if it no
// longer replays, that sweep would be stuck after the upgrade. Record new ones with
// `npm run record-histories` (docs/architecture.md, "Upgrading kvsweep under a running sweep").
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import protos from '@temporalio/proto';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../platform/paths.ts';
import { workflowBundlePath } from '../../workers/workflow-bundle.ts';

// The replay worker logs each state change at INFO: only warnings and errors are worth reading here.
Runtime.install({ logger: new DefaultLogger('WARN') });

const HISTORIES = join(projectRoot, 'test', 'replay', 'histories');

interface Manifest {
  scenario: string;
  what: string;
  histories: Array<{ file: string; workflow_id: string; workflow_type: string; status: string; events: number }>;
}

function corpus(): Array<{ version: string; dir: string; manifest: Manifest }> {
  return readdirSync(HISTORIES).flatMap((version) =>
    readdirSync(join(HISTORIES, version)).map((scenario) => {
      const dir = join(HISTORIES, version, scenario);
      return { version, dir, manifest: JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest };
    }),
  );
}

describe('recorded histories replay against the current workflow code', { timeout: 300_000 }, () => {
  for (const { version, dir, manifest } of corpus()) {
    it(`${version}/${manifest.scenario}: ${manifest.what}`, async () => {
      const codePath = await workflowBundlePath();
      const histories = manifest.histories.map((entry) => {
        const history = protos.temporal.api.history.v1.History.decode(readFileSync(join(dir, entry.file)));
        expect(history.events?.length, entry.file).toBe(entry.events);
        return { workflowId: entry.workflow_id, history };
      });
      // One replay worker for the scenario's histories (a worker each costs seconds to start).
      const failures: string[] = [];
      for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath }, replayName: `${version}/${manifest.scenario}` }, histories)) {
        if (result.error) failures.push(`${result.workflowId} (${result.runId}): ${result.error.message}`);
      }
      expect(failures).toEqual([]);
    });
  }
});

// The SDK's own path for histories users export: `temporal workflow show --output json` read by
// historyFromJSON. It needs one protobufjs for all of @temporalio/* (a second copy's types are
// not "a Type" to the first: package.json names protobufjs 8 so npm hoists one copy).
describe('a history exported as JSON by the Temporal CLI replays', { timeout: 120_000 }, () => {
  const exported = corpus().flatMap(({ dir, manifest }) =>
    manifest.histories.map((entry) => ({ entry, path: join(dir, entry.file.replace(/\.bin$/, '.json')) })).filter(({ path }) => existsSync(path)),
  );
  it(`${exported.length} exported histories parse with historyFromJSON and replay`, async () => {
    expect(exported.length).toBeGreaterThan(0);
    const codePath = await workflowBundlePath();
    for (const { entry, path } of exported) {
      const history = historyFromJSON(JSON.parse(readFileSync(path, 'utf8')));
      // Exported a moment after the binary one: a still-running pool may differ by an event or two.
      expect(Math.abs((history.events?.length ?? 0) - entry.events), path).toBeLessThanOrEqual(5);
      await Worker.runReplayHistory({ workflowBundle: { codePath }, replayName: path }, history, entry.workflow_id);
    }
  });
});
