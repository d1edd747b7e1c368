// Every file kvsweep writes at run time goes under KVSWEEP_HOME: an installation folder may be
// read-only (a system-wide npm install, a container image).
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chooseDataDir, dataDir, projectRoot } from '../../platform/paths.ts';
import { workflowBundlePath } from '../../workers/workflow-bundle.ts';

const saved = process.env.KVSWEEP_HOME;
afterEach(() => {
  if (saved === undefined) delete process.env.KVSWEEP_HOME;
  else process.env.KVSWEEP_HOME = saved;
});

describe('KVSWEEP_HOME', () => {
  it('is the data folder when set; .kvsweep in the installation otherwise', () => {
    delete process.env.KVSWEEP_HOME;
    expect(dataDir()).toBe(join(projectRoot, '.kvsweep'));
    process.env.KVSWEEP_HOME = '/srv/kvsweep-data';
    expect(dataDir()).toBe('/srv/kvsweep-data');
  });

  it('falls back to ~/.kvsweep when the installation is read-only and KVSWEEP_HOME is not set', () => {
    const base = { installation: '/usr/lib/node_modules/kvsweep', home: '/home/ada' };
    expect(chooseDataDir({ ...base, kvsweepHome: undefined, installationWritable: true })).toBe('/usr/lib/node_modules/kvsweep/.kvsweep');
    expect(chooseDataDir({ ...base, kvsweepHome: undefined, installationWritable: false })).toBe('/home/ada/.kvsweep');
    expect(chooseDataDir({ ...base, kvsweepHome: '/srv/kvsweep', installationWritable: false })).toBe('/srv/kvsweep');
  });

  it('holds the cached workflow bundle', async () => {
    const home = mkdtempSync(join(tmpdir(), 'kvsweep-home-'));
    process.env.KVSWEEP_HOME = home;
    const path = await workflowBundlePath();
    expect(path.startsWith(join(home, 'cache') + '/')).toBe(true);
    expect(existsSync(path)).toBe(true);
  }, 120_000);
});
