// End-to-end tests of the built page (dist/), served from a sub-path on 127.0.0.1 and driven by playwright-core
// in Debian's Chromium. Run by `make test` (node --test). Every test fails on a console error, an uncaught
// exception, or a request to any origin but the page's own.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { start, PREFIX, CLI, canvasColours, status, waitForStatus } from './harness.mjs';

let h;
before(async () => { h = await start(); });
after(async () => { await h?.stop(); });
const open = (query, viewport) => h.open(query, viewport);
const chartColours = (page) => canvasColours(page, 'canvas[id^="chart-"]');

test('the page loads from a sub-path, runs, and draws the chart', async () => {
  const { page, problems } = await open('?lesson=off');
  await page.waitForFunction(() => /t = [1-9]/.test(document.getElementById('status')?.textContent ?? ''), null, { timeout: 20_000 });
  assert.ok((await chartColours(page)) > 20, 'the chart canvas looks blank');
  assert.ok(h.served.requests.every((p) => p.startsWith(PREFIX)), `a request left the sub-path: ${h.served.requests}`);
  assert.deepEqual(problems, []);
  await page.close();
});

test('every scenario can be picked, and the URL follows', async () => {
  const { page, problems } = await open();
  const names = await page.$$eval('#scenario option', (os) => os.map((o) => o.value));
  const listed = execFileSync(CLI, ['list'], { encoding: 'utf8' })
    .split('\n\n')[0].split('\n').slice(1).map((l) => l.trim().split(/\s+/)[0]).filter(Boolean);
  // Grouped by incident, so the order may differ from the CLI's list; the set may not.
  assert.deepEqual([...names].sort(), [...listed].sort(), 'the picker should offer exactly the scenarios the CLI lists');
  for (const name of names) {
    const build = (await status(page)).build;
    await page.selectOption('#scenario', name);
    await page.waitForFunction((n) => new URLSearchParams(location.search).get('scenario') === n, name);
    // A fresh run of that scenario exists (a new build), and its chart is drawn.
    await waitForStatus(page, { build: { ne: build } });
    await page.waitForFunction(() => document.querySelector('#chart-conns, canvas[id^="chart-"]')?.dataset.simTime !== undefined);
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
  const { page, problems } = await open('?scenario=no-such-thing&seed=-4&speed=banana&lesson=off');
  const notice = await page.textContent('.notice[role="alert"]');
  for (const part of ['no-such-thing', '-4', 'banana']) assert.ok(notice.includes(part), `notice does not name ${part}: ${notice}`);
  await page.waitForFunction(() => /t = [1-9]/.test(document.getElementById('status')?.textContent ?? ''), null, { timeout: 20_000 });
  assert.deepEqual(problems, []);
  await page.close();
});
