// End-to-end tests of the built page (dist/), served from a sub-path on 127.0.0.1 and driven by playwright-core
// in Debian's Chromium. Run by `make test` (node --test). Every test fails on a console error, an uncaught
// exception, or a request to any origin but the page's own.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { serveDist } from '../../scripts/serve-dist.mjs';
import { launchBrowser } from './browser.mjs';

const PREFIX = '/runbooks/db/loadlab/';
const CLI = process.env.LOADLAB_CLI ?? 'target/release/loadlab';
let served;
let browser;

before(async () => {
  served = await serveDist({ dir: 'dist', prefix: PREFIX });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  served?.server.close();
});

/** Opens the page with `query`, watching for console errors and foreign requests; waits until it is running. */
async function open(query = '', viewport) {
  const page = await browser.newPage({ viewport });
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
  await page.waitForSelector('#scenario', { timeout: 30_000 });
  return { page, problems };
}

/** Distinct colours on the chart canvas: a blank canvas has one, a drawn chart hundreds. */
async function chartColours(page) {
  return page.evaluate(() => {
    const c = document.getElementById('chart');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const seen = new Set();
    for (let i = 0; i < d.length; i += 4 * 7) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    return seen.size;
  });
}

/** Simulated seconds shown in the status line. */
async function simTime(page) {
  const text = await page.textContent('#status');
  const m = /t = ([0-9.]+) s/.exec(text ?? '');
  return m ? Number(m[1]) : NaN;
}

test('the page loads from a sub-path, runs, and draws the chart', async () => {
  const { page, problems } = await open();
  await page.waitForFunction(() => /t = [1-9]/.test(document.getElementById('status')?.textContent ?? ''), null, { timeout: 20_000 });
  assert.ok((await chartColours(page)) > 20, 'the chart canvas looks blank');
  assert.ok(served.requests.every((p) => p.startsWith(PREFIX)), `a request left the sub-path: ${served.requests}`);
  assert.deepEqual(problems, []);
  await page.close();
});

test('every scenario can be picked, and the URL follows', async () => {
  const { page, problems } = await open();
  const names = await page.$$eval('#scenario option', (os) => os.map((o) => o.value));
  const listed = execFileSync(CLI, ['list'], { encoding: 'utf8' })
    .split('\n\n')[0].split('\n').slice(1).map((l) => l.trim().split(/\s+/)[0]).filter(Boolean);
  assert.deepEqual(names, listed, 'the picker should offer exactly the scenarios the CLI lists');
  for (const name of names) {
    await page.selectOption('#scenario', name);
    await page.waitForFunction((n) => new URLSearchParams(location.search).get('scenario') === n, name);
    const t0 = await simTime(page);
    await page.waitForFunction((t) => {
      const m = /t = ([0-9.]+) s/.exec(document.getElementById('status')?.textContent ?? '');
      return m && Number(m[1]) > t;
    }, t0, { timeout: 20_000 });
    assert.ok((await chartColours(page)) > 20, `${name}: blank chart`);
  }
  assert.deepEqual(problems, []);
  await page.close();
});

test('the browser build reproduces the native trace hash', async () => {
  const { page, problems } = await open();
  const native = JSON.parse(execFileSync(CLI, ['run', '--scenario', 'plain-s1', '--duration', '5', '--seed', '7', '--format', 'json'], { encoding: 'utf8' })).summary.trace_hash;
  const wasm = await page.evaluate(() => window.loadlab_trace_hash('plain-s1', 'static', 5, 7));
  assert.match(native, /^[0-9a-f]{16}$/);
  assert.equal(wasm, native);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a bad URL shows a notice naming what was ignored, and the page still runs', async () => {
  const { page, problems } = await open('?scenario=no-such-thing&seed=-4&speed=banana');
  const notice = await page.textContent('.notice[role="alert"]');
  for (const part of ['no-such-thing', '-4', 'banana']) assert.ok(notice.includes(part), `notice does not name ${part}: ${notice}`);
  await page.waitForFunction(() => /t = [1-9]/.test(document.getElementById('status')?.textContent ?? ''), null, { timeout: 20_000 });
  assert.deepEqual(problems, []);
  await page.close();
});
