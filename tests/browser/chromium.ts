import { access, constants, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext, BrowserContextOptions } from 'playwright-core';
import { ROOT } from '../support/relayHarness.ts';

/** Debian's chromium package; `.ci/run` installs it when missing. Never a downloaded browser. */
export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = path.join(ROOT, '.data', 'screenshots');

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface Chromium {
  context: BrowserContext;
  close(): Promise<void>;
}

/** A real headless Chromium with a fresh profile, removed again on close. */
export async function launchChromium(options: BrowserContextOptions = {}): Promise<Chromium> {
  await access(CHROMIUM, constants.X_OK).catch(() => {
    throw new Error(
      `${CHROMIUM}: Debian's chromium is not installed; run \`apt-get install -y chromium\` (.ci/run does it)`,
    );
  });
  const profile = await mkdtemp(path.join(tmpdir(), 'cosell-chromium-'));
  await mkdir(SCREENSHOTS, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    ...options,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}

export const screenshotPath = (name: string) => path.join(SCREENSHOTS, `${name}.png`);
