// Launches Debian's Chromium through playwright-core: headless, sandbox-less (CI containers), and quiet
// (no background network traffic of its own), with a fresh profile every time.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A browser context on a fresh user-data-dir, removed again on close. Has newPage() and close(). */
export async function launchBrowser() {
  const profile = mkdtempSync(join(tmpdir(), 'loadlab-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
  });
  return {
    context,
    async newPage({ viewport, deviceScaleFactor } = {}) {
      if (deviceScaleFactor && deviceScaleFactor !== 1) {
        // A persistent context has one scale factor; pages with another get their own throwaway context.
        const browser = context.browser();
        if (browser) {
          const ctx = await browser.newContext({ viewport, deviceScaleFactor });
          const page = await ctx.newPage();
          page.once('close', () => ctx.close().catch(() => {}));
          return page;
        }
        const page = await context.newPage();
        const session = await context.newCDPSession(page);
        await session.send('Emulation.setDeviceMetricsOverride', {
          width: viewport?.width ?? 1280, height: viewport?.height ?? 800, deviceScaleFactor, mobile: false,
        });
        return page;
      }
      const page = await context.newPage();
      if (viewport) await page.setViewportSize(viewport);
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
