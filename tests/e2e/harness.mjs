// Shared by the end-to-end tests: the built app served from a sub-path, one browser, and a page opener that
// records console errors, uncaught exceptions and requests to any other origin.

import { serveDist } from '../../scripts/serve-dist.mjs';
import { launchBrowser } from './browser.mjs';

export const PREFIX = '/runbooks/db/loadlab/';
export const CLI = process.env.LOADLAB_CLI ?? 'target/release/loadlab';

/** Starts the server and the browser; call `stop()` when done. */
export async function start() {
  const served = await serveDist({ dir: 'dist', prefix: PREFIX });
  const browser = await launchBrowser();
  return {
    served,
    browser,
    /**
     * Opens the page at `query`; resolves when the app is running. `problems` collects what must not happen.
     * `init`, if given, runs in the page before any of its scripts (playwright's addInitScript).
     */
    async open(query = '', viewport, init) {
      const page = await browser.newPage({ viewport });
      if (init) await page.addInitScript(init);
      const problems = [];
      const origin = new URL(served.url).origin;
      page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
      page.on('pageerror', (e) => problems.push(`exception: ${e.message}`));
      page.on('request', (r) => {
        const url = new URL(r.url());
        if (!['data:', 'blob:'].includes(url.protocol) && url.origin !== origin) problems.push(`foreign request: ${r.url()}`);
      });
      await page.goto(served.url + query);
      await page.waitForSelector('html[data-loadlab="ready"]', { timeout: 30_000 });
      await page.waitForSelector('#status', { state: 'attached', timeout: 30_000 });
      return { page, problems };
    },
    async stop() {
      await browser.close();
      served.server.close();
    },
  };
}

/** Distinct colours on a canvas (sampled): a blank canvas has one, a drawn chart hundreds. */
export async function canvasColours(page, selector) {
  return page.$eval(selector, (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const seen = new Set();
    for (let i = 0; i < d.length; i += 4 * 7) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    return seen.size;
  });
}

/** A cheap fingerprint of a canvas's pixels, to see that it was redrawn differently. */
export async function canvasFingerprint(page, selector) {
  return page.$eval(selector, (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let h = 2166136261;
    for (let i = 0; i < d.length; i += 97) h = Math.imul(h ^ d[i], 16777619) >>> 0;
    return h;
  });
}

/** Sets a range input's value the way a person dragging it would, firing input and change. */
export async function slide(page, selector, value) {
  await page.$eval(selector, (el, v) => {
    el.value = String(v);
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  }, value);
}

/** Simulated seconds in the status line (`t = 12.5 s …`). */
export async function simTime(page) {
  const m = /t = ([0-9.]+) s/.exec((await page.textContent('#status')) ?? '');
  return m ? Number(m[1]) : NaN;
}

/** Waits until the simulated clock passes `seconds`. */
export async function waitForSimTime(page, seconds, timeout = 20_000) {
  await page.waitForFunction((t) => {
    const m = /t = ([0-9.]+) s/.exec(document.getElementById('status')?.textContent ?? '');
    return m && Number(m[1]) > t;
  }, seconds, { timeout });
}

/** The page's own status object (`window.loadlab_status()`). */
export async function status(page) {
  return page.evaluate(() => window.loadlab_status());
}

/**
 * Waits until the page's status object matches `want`: each key (`time_s`, `b.requests`) equals the value given,
 * or meets `{ gt }`, `{ lt }` or `{ ne }`. Declarative, because the page's CSP forbids evaluating source text.
 */
export async function waitForStatus(page, want, timeout = 20_000) {
  await page.waitForFunction((conditions) => {
    const s = window.loadlab_status?.();
    if (!s) return false;
    return Object.entries(conditions).every(([path, c]) => {
      const v = path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), s);
      if (c !== null && typeof c === 'object') {
        if ('gt' in c && !(v > c.gt)) return false;
        if ('lt' in c && !(v < c.lt)) return false;
        if ('ne' in c && !(v !== c.ne)) return false;
        return v !== undefined;
      }
      return v === c;
    });
  }, want, { timeout });
}
