// CPU time of another process, for benchmarks that measure a server beside the client.
import { readFileSync } from 'node:fs';

/** CPU seconds (user + system) process `pid` has used so far: fields 14 and 15 of /proc/PID/stat, in ticks of 10 ms. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Peak resident memory (VmHWM) of process `pid` in MB. */
export function processPeakRssMb(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round(Number(match[1]) / 1024) : NaN;
}
