// Embeds that behave on a shared page (issue 21): an embed scrolled out of view holds its run and goes on from the
// same moment when it is back; under prefers-reduced-motion nothing plays until the reader presses Play; and the
// first screen (boot.js, from stories.js) shows the scenario's headline and story before the wasm has loaded.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, status, waitForStatus } from './harness.mjs';

let h;
before(async () => { h = await start(); });
after(async () => { await h?.stop(); });

/** Records console errors and uncaught exceptions of a page and of every frame in it. */
function watch(page) {
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`exception: ${e.message}`));
  return problems;
}

test('an embed scrolled out of view stops advancing, and goes on from there when it is back', async () => {
  const page = await h.browser.newPage({ viewport: { width: 1000, height: 700 } });
  const problems = watch(page);
  // A runbook page on the same origin (a cross-origin frame might be throttled by the browser anyway): the embed,
  // then text long enough to scroll it away.
  const host = `${h.served.url}runbook-host.html`;
  await page.route(host, (route) => route.fulfill({
    contentType: 'text/html; charset=utf-8',
    body: `<!doctype html><html lang="en"><title>runbook</title><body style="margin:0">
      <h1>Runbook</h1>
      <iframe id="embed" src="./?scenario=slow&embed=1" width="700" height="520" title="loadlab"></iframe>
      <div style="height:4000px">the rest of the runbook</div></body></html>`,
  }));
  await page.goto(host);
  const frame = await (await page.waitForSelector('#embed')).contentFrame();
  await frame.waitForSelector('html[data-loadlab="ready"]', { timeout: 30_000 });
  await waitForStatus(frame, { playing: true, time_s: { gt: 1 } });

  await page.evaluate(() => window.scrollTo(0, 3000));
  await frame.waitForSelector('html[data-loadlab-offscreen]', { state: 'attached', timeout: 10_000 });
  // Whatever frame was under way when it scrolled away has ended by now.
  await page.waitForTimeout(300);
  const held = (await status(frame)).time_s;
  await page.waitForTimeout(1500);
  const still = await status(frame);
  assert.equal(still.time_s, held, 'the scrolled-away embed kept simulating');
  assert.equal(still.playing, true, 'holding an embed off screen must not pause it: it goes on when it is back');

  await page.evaluate(() => window.scrollTo(0, 0));
  await frame.waitForSelector('html:not([data-loadlab-offscreen])', { state: 'attached', timeout: 10_000 });
  await waitForStatus(frame, { time_s: { gt: held } });
  // It went on from where it was, not from a jump over the time it was away.
  assert.ok((await status(frame)).time_s < held + 30, 'the embed jumped ahead after being scrolled back');
  assert.deepEqual(problems, []);
  await page.close();
});

test('under prefers-reduced-motion an embed does not play until Play is pressed, watch=1 included', async () => {
  const page = await h.browser.newPage({ viewport: { width: 700, height: 520 } });
  const problems = watch(page);
  await page.emulateMedia({ reducedMotion: 'reduce' });
  await page.goto(`${h.served.url}?scenario=slow&embed=1`);
  await page.waitForSelector('html[data-loadlab="ready"]', { timeout: 30_000 });
  await waitForStatus(page, { playing: false });
  await page.waitForTimeout(1000);
  // A bare embed opens a little before its incident (slow's replica slows at 30 s), in one jump, then holds.
  const opened = (await status(page)).time_s;
  assert.ok(opened < 30, `the embed opened at ${opened} s, past the incident`);
  await page.waitForTimeout(1000);
  assert.equal((await status(page)).time_s, opened, 'the run moved by itself under reduced motion');
  assert.equal((await page.textContent('#play')).trim(), 'Play');
  await page.click('#play');
  await waitForStatus(page, { playing: true, time_s: { gt: 0 } });

  // watch=1 hides the controls, but not the one that starts a run that waits for the reader.
  await page.goto(`${h.served.url}?scenario=slow&watch=1`);
  await page.waitForSelector('html[data-loadlab="ready"]', { timeout: 30_000 });
  await waitForStatus(page, { playing: false });
  assert.ok(await page.isVisible('#play'), 'watch=1 under reduced motion has no Play button');
  assert.equal(await page.isVisible('#seed'), false, 'watch=1 shows more than the Play button');
  const fits = await page.evaluate(() => document.documentElement.scrollHeight <= window.innerHeight);
  assert.ok(fits, 'watch=1 with its Play button does not fit 700x520');
  await page.click('#play');
  await waitForStatus(page, { playing: true, time_s: { gt: 0 } });
  assert.deepEqual(problems, []);
  await page.close();
});

test('the first screen shows the headline and story before the wasm loads, and the app takes its place', async () => {
  const page = await h.browser.newPage({ viewport: { width: 412, height: 823 } });
  const problems = watch(page);
  // Hold the wasm back: what shows then is boot.js's first screen alone.
  let release;
  const held = new Promise((ok) => { release = ok; });
  await page.route(/_bg\.wasm$/, async (route) => { await held; await route.continue(); });
  await page.goto(`${h.served.url}?scenario=slow`);
  await page.waitForSelector('#first-screen #headline');
  const first = {
    headline: await page.textContent('#first-screen #headline'),
    brief: await page.textContent('#first-screen #brief'),
  };
  assert.ok(first.headline.length > 10 && first.brief.length > 40, `first screen: ${JSON.stringify(first)}`);
  assert.ok(await page.isVisible('#first-screen .picture-box'), 'no box where the picture goes');
  release();
  await page.waitForSelector('html[data-loadlab="ready"]', { timeout: 30_000 });
  assert.equal(await page.$('#first-screen'), null, 'the first screen stayed after the app was shown');
  assert.equal(await page.textContent('#app #headline'), first.headline, 'the app says another headline');
  assert.equal(await page.textContent('#app #brief'), first.brief, 'the app tells another story');
  assert.deepEqual(problems, []);
  await page.close();
});
