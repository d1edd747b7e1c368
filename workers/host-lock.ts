// One worker per host id on a machine. A worker that starts stops every process marked with its
// host id (they must be orphans of an earlier worker), so a second live worker under the same id
// would kill the first one's servers, and both would book the same GPUs. The lock is a file in
// the machine's temp folder holding the owner's pid; a lock whose owner is dead is taken over.
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../domain/errors.ts';

function lockPath(hostId: string): string {
  return join(tmpdir(), 'kvsweep-host-locks', `${hostId}.lock`);
}

/** True when pid is a live kvsweep process (a reused pid of another program does not count). */
function aliveKvsweep(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('kvsweep');
  } catch {
    return false;
  }
}

/** Takes the host's lock or throws a UserError naming the live owner; returns the release. */
export function lockHost(hostId: string): () => void {
  const path = lockPath(hostId);
  mkdirSync(join(tmpdir(), 'kvsweep-host-locks'), { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' });
      return () => {
        try {
          if (readFileSync(path, 'utf8') === String(process.pid)) unlinkSync(path);
        } catch {
          // already gone
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number(readFileSync(path, 'utf8').trim());
    if (owner && owner !== process.pid && aliveKvsweep(owner)) {
      throw new UserError(
        `a kvsweep worker for host '${hostId}' already runs on this machine (pid ${owner}); one worker per host. ` +
          'Submit sweeps without --gpus to use it, or give this one another --host-id (and other GPUs).',
      );
    }
    try {
      unlinkSync(path); // its owner died: take it over
    } catch {
      // someone else took it over first; try again
    }
  }
  throw new UserError(`could not take the lock of host '${hostId}' (${path})`);
}
