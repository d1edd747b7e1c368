// A host never starts a server for a lease that is no longer its own: one granted to an earlier
// incarnation of its worker (restarted, or re-registered after the pool declared it lost), or one
// the pool already had it stop (its attempt given up). Also when that happens while the start is
// under way. Real processes in their own groups, found by their /proc markers.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { planSweep } from '../../config-files/load-sweep.ts';
import { createHostActivities, type HostDeps } from '../../activities/host.ts';
import { HostProcesses } from '../../activities/host-processes.ts';
import { expandSweep } from '../../domain/config/expand.ts';
import type { ExperimentSpec } from '../../domain/experiment.ts';
import { experimentWorkflowId, leaseRequestId } from '../../domain/names.ts';
import { killMarkedProcesses, markedKeys } from '../support/processes.ts';
import { writeSweepFile } from '../support/sweeps.ts';
import { freePortRange } from '../support/ports.ts';

/** Stands in for kvsweep: the simulator's arguments follow `--` and are ignored; it just idles. */
const IDLE_KVSWEEP = [process.execPath, '-e', 'setInterval(() => {}, 1000)', '--'];

describe('a host refuses to start a server for a lease that is not its own any more', () => {
  const hosts: string[] = [];
  afterEach(() => hosts.splice(0).forEach((host) => killMarkedProcesses(host)));

  async function setUp() {
    const hostId = `stale-start-${process.pid}-${hosts.length}`;
    hosts.push(hostId);
    const dir = mkdtempSync(join(tmpdir(), 'kvsweep-stale-start-'));
    const spec: ExperimentSpec = expandSweep((await planSweep(writeSweepFile({ tag: 'stale', dir }))).resolved)[0]!;
    const deps: HostDeps = {
      hostId,
      incarnation: 'incarnation-2',
      processes: new HostProcesses(hostId),
      portBase: await freePortRange(20),
      portCount: 20,
      kvsweepArgv: IDLE_KVSWEEP,
      teardownGraceMs: 2_000,
    };
    const sweepId = 'sweep/stale/1';
    const requestId = leaseRequestId(experimentWorkflowId(sweepId, spec.id), 1);
    const start = (incarnation?: string) =>
      createdActivities.startServer({ spec, sweep_id: sweepId, results_dir: join(dir, 'results'), attempt: 1, gpu_ids: ['0'], request_id: requestId, ...(incarnation ? { incarnation } : {}) });
    const createdActivities = createHostActivities(deps);
    return { hostId, deps, requestId, start, activities: createdActivities };
  }

  /** The failure's type, or 'none' when the promise fulfilled. */
  const failureType = (promise: Promise<unknown>) =>
    promise.then(
      () => 'none',
      (error: unknown) => (error instanceof ApplicationFailure ? error.type : String(error)),
    );

  it("starts the server of this incarnation's lease, and of a lease from a workflow that does not send the incarnation", async () => {
    const { hostId, requestId, start } = await setUp();
    const handle = await start('incarnation-2');
    expect(handle.key).toBe(requestId);
    expect(markedKeys(hostId)).toEqual([requestId]);
    expect((await start()).pid).toBe(handle.pid); // the retried start finds its process
  });

  it("refuses a lease of the worker's earlier incarnation, starting nothing", async () => {
    const { hostId, start } = await setUp();
    expect(await failureType(start('incarnation-1'))).toBe('StaleIncarnation');
    expect(markedKeys(hostId)).toEqual([]);
  });

  it('refuses a lease the pool had it stop, even before that lease ever started', async () => {
    const { hostId, requestId, start, activities } = await setUp();
    await activities.stopLeaseProcesses({ request_id: requestId });
    expect(await failureType(start('incarnation-2'))).toBe('StaleIncarnation');
    expect(markedKeys(hostId)).toEqual([]);
  });

  it('a start under way when its lease is stopped stops the process it spawned', async () => {
    const { hostId, requestId, start, activities } = await setUp();
    const starting = failureType(start('incarnation-2'));
    // Stopping finds nothing yet: the start has not spawned its process.
    expect(await activities.stopLeaseProcesses({ request_id: requestId })).toEqual({ stopped: 0 });
    expect(await starting).toBe('StaleIncarnation');
    expect(markedKeys(hostId)).toEqual([]);
  });

  it('a start under way when the worker re-registers as a new incarnation stops the process it spawned', async () => {
    const { hostId, deps, start } = await setUp();
    const starting = failureType(start('incarnation-2'));
    deps.incarnation = 'incarnation-3'; // what the worker does first when the pool declared it lost
    expect(await starting).toBe('StaleIncarnation');
    expect(markedKeys(hostId)).toEqual([]);
  });
});
