// Debian's Chromium driven by Playwright for real-browser tests. The browser comes from
// scripts/provision-chromium.sh (apt, when /usr/bin/chromium is missing), never from a download of
// Playwright's own builds; every run gets a fresh profile.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { projectRoot } from '../../platform/paths.ts';

const PROVISION = join(projectRoot, 'scripts', 'provision-chromium.sh');

/** Installs Chromium if needed and returns its path; throws with the script's output when it cannot. */
export function provisionChromium(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [PROVISION], { timeout: 600_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${PROVISION} failed (${error.message.split('\n')[0]}):\n${stdout}${stderr}`));
      else resolve(stdout.trim().split('\t')[0]!);
    });
  });
}

/** Flags for a quiet, offline-friendly headless browser (no sync, updates or background fetches). */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export interface TestBrowser {
  context: BrowserContext;
  /** Closes the browser (its process exits) and removes the profile. */
  close: () => Promise<void>;
}

/** Launches the browser with a fresh --user-data-dir (Playwright's persistent context takes it). */
export async function launchChromium(executablePath: string): Promise<TestBrowser> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'kvsweep-chromium-profile-'));
  const context = await chromium.launchPersistentContext(userDataDir, { executablePath, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1400, height: 1000 } });
  return {
    context,
    close: async () => {
      await context.close().catch(() => {});
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
