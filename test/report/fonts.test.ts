// PNG plots have text on a machine without fonts (a GPU node, a slim container): resvg is given
// the DejaVu Sans that kvsweep ships (npm dejavu-fonts-ttf), not the system's. Checked in a child
// process whose fontconfig lists no font at all: the chart's title puts pixels where it stands,
// compared with the same chart with the title's text removed.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { projectRoot } from '../../platform/paths.ts';

interface Difference {
  count: number;
  box: { left: number; top: number; right: number; bottom: number };
  width: number;
  height: number;
}

it('draws the title of a chart with no system font available', async () => {
  const fontconfig = mkdtempSync(join(tmpdir(), 'kvsweep-no-fonts-'));
  writeFileSync(join(fontconfig, 'fonts.conf'), '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig></fontconfig>\n');
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(projectRoot, 'test', 'report', 'fixtures', 'render-title.ts')], {
    cwd: projectRoot,
    env: { ...process.env, FONTCONFIG_FILE: join(fontconfig, 'fonts.conf'), FONTCONFIG_PATH: fontconfig, HOME: fontconfig, XDG_DATA_HOME: fontconfig },
  });
  const { shipped, systemOnly } = JSON.parse(stdout) as { shipped: Difference; systemOnly: Difference };
  // The child really has no fonts: resvg told to use the system's draws no text at all.
  expect(systemOnly.count).toBe(0);
  // kvsweep's renderer draws the title: thousands of pixels, all in a band at the top, left-aligned.
  expect(shipped.count).toBeGreaterThan(2_000);
  expect(shipped.box.top).toBeGreaterThanOrEqual(0);
  expect(shipped.box.bottom).toBeLessThan(80);
  expect(shipped.box.left).toBeLessThan(60);
  expect(shipped.box.right - shipped.box.left).toBeGreaterThan(300);
});
