import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { Test } from 'tap';

/** Debian's chromium (`apt-get install chromium`; .ci/run installs it when missing). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * A headless chromium on a fresh profile folder of its own (removed on
 * close), driven by playwright-core: no browser download, the system's.
 */
export async function launchBrowser(
  viewport = { width: 1280, height: 900 },
  /** The page's time zone (an IANA name); the machine's when absent. */
  timezoneId?: string,
): Promise<BrowserContext & { closeAll(): Promise<void> }> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sk-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport, ...(timezoneId === undefined ? {} : { timezoneId }) });
  return Object.assign(context, {
    async closeAll(): Promise<void> {
      await context.close().catch(() => undefined);
      fs.rmSync(profile, { recursive: true, force: true });
    },
  });
}

/** One page of a headless Chromium of the test's own, closed (profile and all) when the test ends. */
export async function browserPage(t: Test, viewport?: { width: number; height: number }, timezoneId?: string): Promise<Page> {
  const browser = await launchBrowser(viewport, timezoneId);
  t.teardown(() => browser.closeAll());
  return browser.newPage();
}
