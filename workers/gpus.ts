// The GPUs a worker offers: counted by nvidia-smi when it is installed, or given by --gpus N
// (simulated devices for the simulator, or a subset of a real host's devices).
import { execa } from 'execa';
import { UserError } from '../domain/errors.ts';

export interface DetectedGpus {
  ids: string[];
  /** A GPU class name from the product name, e.g. `nvidia-h100-80gb-hbm3`. */
  className: string | undefined;
  source: 'nvidia-smi' | 'flag';
}

/** Lists GPUs with nvidia-smi; undefined when it is not installed or sees none. */
export async function queryNvidiaSmi(): Promise<{ ids: string[]; names: string[] } | undefined> {
  const result = await execa('nvidia-smi', ['--query-gpu=index,name', '--format=csv,noheader'], { reject: false, timeout: 10_000 });
  if (result.failed || result.exitCode !== 0) return undefined;
  const rows = result.stdout.split('\n').map((line) => line.split(',').map((cell) => cell.trim())).filter((row) => row[0] !== '');
  if (rows.length === 0) return undefined;
  return { ids: rows.map((row) => row[0]!), names: rows.map((row) => row[1] ?? 'gpu') };
}

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

/** Resolves `--gpus N|auto` to device ids. */
export async function resolveGpus(flag: string): Promise<DetectedGpus> {
  const smi = await queryNvidiaSmi();
  if (flag === 'auto') {
    if (!smi) return { ids: [], className: undefined, source: 'nvidia-smi' };
    return { ids: smi.ids, className: slug(smi.names[0]!), source: 'nvidia-smi' };
  }
  if (!/^\d+$/.test(flag)) throw new UserError(`--gpus: expected a number or 'auto', got '${flag}'`);
  const count = Number(flag);
  if (smi && count > smi.ids.length) throw new UserError(`--gpus ${count}: nvidia-smi sees only ${smi.ids.length} GPUs on this host`);
  return {
    ids: Array.from({ length: count }, (_, i) => smi?.ids[i] ?? String(i)),
    className: smi ? slug(smi.names[0]!) : undefined,
    source: 'flag',
  };
}
