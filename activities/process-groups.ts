// Process groups of the servers and clients a worker starts. Each runs in its own session (group
// leader), so one signal to the group reaches every subprocess (vLLM's engine cores included).
// Every process carries KVSWEEP_HOST_ID and KVSWEEP_PROCESS_KEY in its environment: a restarted
// worker finds what an earlier worker on the same host left running by that marker in
// /proc/<pid>/environ, so it never kills a process that is not its own, even after pid reuse.
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export const HOST_MARKER = 'KVSWEEP_HOST_ID';
export const KEY_MARKER = 'KVSWEEP_PROCESS_KEY';

export interface MarkedProcess {
  pid: number;
  pgid: number;
  key: string;
}

/** Reads pid, process group and kvsweep markers of every process this user can see. */
export async function listMarkedProcesses(hostId: string): Promise<MarkedProcess[]> {
  const found: MarkedProcess[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      const environ = await readFile(`/proc/${pid}/environ`, 'latin1');
      const vars = environ.split('\0');
      if (!vars.includes(`${HOST_MARKER}=${hostId}`)) continue;
      const keyVar = vars.find((v) => v.startsWith(`${KEY_MARKER}=`));
      if (!keyVar) continue;
      const pgid = await processGroupOf(pid);
      if (pgid !== undefined) found.push({ pid, pgid, key: keyVar.slice(KEY_MARKER.length + 1) });
    } catch {
      // The process ended while we looked, or is not ours to read.
    }
  }
  return found;
}

/** The process group id from /proc/<pid>/stat (field 5, after the parenthesised command name). */
export async function processGroupOf(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = fields[0];
    if (state === 'Z') return undefined; // a zombie holds nothing but its pid
    return Number(fields[2]);
  } catch {
    return undefined;
  }
}

/** True while any live process of the group exists. */
export async function groupAlive(pgid: number): Promise<boolean> {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  // kill(…, 0) also succeeds for zombies not yet reaped; look for a live member.
  for (const entry of await readdir('/proc')) {
    if (/^\d+$/.test(entry) && (await processGroupOf(Number(entry))) === pgid) return true;
  }
  return false;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

export interface GroupStopReport {
  pgid: number;
  /** How the group ended: it was already gone, left on SIGTERM, or needed SIGKILL. */
  ended: 'already-gone' | 'sigterm' | 'sigkill';
  durationMs: number;
}

/**
 * Stops a process group: SIGTERM, then SIGKILL after `graceMs`, and waits until no member is left.
 * Throws if the group survives SIGKILL for 5 s (a process stuck in the kernel).
 */
export async function stopGroup(pgid: number, graceMs: number): Promise<GroupStopReport> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  if (!(await groupAlive(pgid))) return { pgid, ended: 'already-gone', durationMs: 0 };
  signalGroup(pgid, 'SIGTERM');
  if (await waitGroupGone(pgid, graceMs)) return { pgid, ended: 'sigterm', durationMs: elapsed() };
  signalGroup(pgid, 'SIGKILL');
  if (await waitGroupGone(pgid, 5_000)) return { pgid, ended: 'sigkill', durationMs: elapsed() };
  throw new Error(`process group ${pgid} is still alive 5 s after SIGKILL`);
}

async function waitGroupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (!(await groupAlive(pgid))) return true;
    if (performance.now() >= deadline) return false;
    await sleep(25);
  }
}
