// A lease's processes are stopped by exact key: stopping attempt 1 of an experiment leaves attempts
// 10-19 of the same experiment running on the same host (their request ids start with attempt 1's).
// Real processes in their own groups, found through the worker's map and through /proc markers.
import { afterEach, describe, expect, it } from 'vitest';
import { createHostActivities } from '../../activities/host.ts';
import { HostProcesses } from '../../activities/host-processes.ts';
import { leaseProcessKeys, leaseRequestId } from '../../domain/names.ts';
import { killMarkedProcesses, markedKeys } from '../support/processes.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const IDLE = [process.execPath, '-e', 'setInterval(() => {}, 1000)'];
const EXPERIMENT = 'sweep/lease-keys/2026-12-07/sim-small_chat_c0.01gb_r10_lru';

function hostActivities(hostId: string, processes: HostProcesses) {
  return createHostActivities({ hostId, incarnation: 'test', processes, portBase: 0, portCount: 0, kvsweepArgv: [], teardownGraceMs: 2_000 });
}

/** Starts the server and client of attempts 1, 10 and 11 of one experiment. */
async function startAttempts(processes: HostProcesses, dir: string): Promise<void> {
  for (const attempt of [1, 10, 11]) {
    const keys = leaseProcessKeys(leaseRequestId(EXPERIMENT, attempt));
    for (const key of [keys.server, keys.client]) {
      await processes.start(key, IDLE, { env: {}, logPath: join(dir, `${attempt}-${key.endsWith('client') ? 'client' : 'server'}.log`) });
    }
  }
}

describe('stopping the processes of one lease', () => {
  const hosts: string[] = [];
  afterEach(() => hosts.splice(0).forEach((host) => killMarkedProcesses(host)));
  const newHost = () => {
    const hostId = `lease-keys-${process.pid}-${hosts.length}`;
    hosts.push(hostId);
    return hostId;
  };

  it('attempt 1 stops its own server and client, not those of attempts 10 and 11 (started by this worker)', async () => {
    const hostId = newHost();
    const processes = new HostProcesses(hostId);
    await startAttempts(processes, mkdtempSync(join(tmpdir(), 'kvsweep-lease-keys-')));

    const { stopped } = await hostActivities(hostId, processes).stopLeaseProcesses({ request_id: leaseRequestId(EXPERIMENT, 1) });

    expect(stopped).toBe(2);
    expect(markedKeys(hostId).sort()).toEqual([`${EXPERIMENT}#10`, `${EXPERIMENT}#10/client`, `${EXPERIMENT}#11`, `${EXPERIMENT}#11/client`]);
  });

  it('the same when an earlier worker on the host started them (found by their /proc markers)', async () => {
    const hostId = newHost();
    await startAttempts(new HostProcesses(hostId), mkdtempSync(join(tmpdir(), 'kvsweep-lease-keys-')));
    const restarted = new HostProcesses(hostId); // knows none of them

    const { stopped } = await hostActivities(hostId, restarted).stopLeaseProcesses({ request_id: leaseRequestId(EXPERIMENT, 1) });

    expect(stopped).toBe(2);
    expect(markedKeys(hostId).sort()).toEqual([`${EXPERIMENT}#10`, `${EXPERIMENT}#10/client`, `${EXPERIMENT}#11`, `${EXPERIMENT}#11/client`]);
  });
});
