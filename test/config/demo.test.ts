// configs/demo.yaml must stay a valid sweep of at least 3 cache sizes x lru and conversation_aware
// on the simulator. Until the demo trace is committed, the check copies the file next to a
// fixture trace; once configs/traces/demo-chat.csv exists, the real file is planned as it is.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { hermetic, planSweep, scratchDir, TRACE_PATH } from './support.ts';

const CONFIGS = fileURLToPath(new URL('../../configs/', import.meta.url));
const scratch: Array<{ cleanup: () => void }> = [];
afterEach(() => {
  for (const s of scratch.splice(0)) s.cleanup();
});

function demoPath(): string {
  if (existsSync(join(CONFIGS, 'traces/demo-chat.csv'))) return join(CONFIGS, 'demo.yaml');
  const s = scratchDir();
  scratch.push(s);
  mkdirSync(join(s.dir, 'traces'));
  copyFileSync(TRACE_PATH, join(s.dir, 'traces/demo-chat.csv'));
  copyFileSync(join(CONFIGS, 'demo.yaml'), join(s.dir, 'demo.yaml'));
  return join(s.dir, 'demo.yaml');
}

describe('configs/demo.yaml', () => {
  it('plans at least 3 cache sizes x lru and conversation_aware on the simulator', async () => {
    const { resolved, experiments } = await planSweep(demoPath(), { ...hermetic, variables: { KVSWEEP_ENV: 'lmcache' } });
    expect(resolved.environment).toMatchObject({ name: 'sim', chosen_by: 'sweep file' });
    const sizes = new Set(experiments.map((e) => e.cache_size_gb));
    expect(sizes.size).toBeGreaterThanOrEqual(3);
    for (const size of sizes) {
      expect(experiments.filter((e) => e.cache_size_gb === size).map((e) => e.eviction_strategy).sort()).toEqual(['conversation_aware', 'lru']);
    }
    expect(experiments.every((e) => e.server!.argv[0] === '{kvsweep}' && e.dataset.name === 'demo-chat')).toBe(true);
  });
});
