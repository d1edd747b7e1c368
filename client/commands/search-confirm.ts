// `kvsweep search --confirm ENV`: a sweep file of each knee and its two neighbours (knee / f and
// knee x f), for `kvsweep run` in a live environment. Everything of the original file but its
// experiments is kept; each group becomes one dataset entry with its own rate and policy, keeping
// the original entry's other keys. The oracle exists offline only: its knees are left out.
import { readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { roundSize } from '../../offline/knee.ts';
import type { GroupKnee } from '../../offline/search.ts';

/** Keys of a dataset entry that the confirmation sweep sets itself. */
const REPLACED = new Set(['path', 'cache_size_gb', 'cache_sizes', 'request_rate_per_second', 'request_rates', 'request_rate', 'cache_eviction_strategy', 'use_conversation_evictions']);

type Entry = Record<string, unknown>;

function originalEntry(datasets: unknown, yamlDir: string, knee: GroupKnee): Entry {
  if (!Array.isArray(datasets)) return {};
  const match = datasets.find((d: Entry) => d && typeof d.path === 'string' && resolve(yamlDir, d.path) === knee.dataset_path && (d.name === undefined || d.name === knee.dataset));
  return Object.fromEntries(Object.entries((match ?? {}) as Entry).filter(([key]) => !REPLACED.has(key)));
}

/** Writes `<out>/confirm.yaml` and returns its path. */
export async function confirmSweep(yamlPath: string, tag: string, knees: readonly GroupKnee[], factor: number, out: string): Promise<string> {
  const absolute = resolve(yamlPath);
  const original = (parse(await readFile(absolute, 'utf8')) ?? {}) as Entry;
  // `experiments` is one block or a list of blocks, each with its datasets.
  const blocks = (Array.isArray(original.experiments) ? original.experiments : [original.experiments ?? {}]) as Entry[];
  const originals = blocks.flatMap((b) => (Array.isArray(b?.datasets) ? (b.datasets as unknown[]) : []));
  const datasets = knees
    .filter((k) => k.policy !== 'oracle')
    .map((k) => ({
      ...originalEntry(originals, dirname(absolute), k),
      path: k.dataset_path,
      cache_sizes: [roundSize(k.knee_gb / factor), k.knee_gb, roundSize(k.knee_gb * factor)],
      request_rates: [k.request_rate],
      cache_eviction_strategy: [k.policy],
    }));
  const { environment: _environment, experiments: _experiments, ...rest } = original;
  const sweep = { ...rest, tag: `${tag}-knee`, experiments: { datasets } };
  const file = join(out, 'confirm.yaml');
  await writeFile(file, `# The knees of ${basename(absolute)} and their neighbours (kvsweep search --confirm)\n${stringify(sweep)}`);
  return file;
}
