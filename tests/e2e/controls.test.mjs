// End-to-end tests of the controls beside the chart (issue 20): the lesson card carries the controls its step is
// about and they apply as the settings panel's do. Every test also fails on a console error or an uncaught
// exception.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, slide, status, waitForStatus } from './harness.mjs';

let h;
before(async () => { h = await start(); });
after(async () => { await h?.stop(); });

const params = (page) => new URLSearchParams(new URL(page.url()).search);

test("a step that sets a key carries that key's control, and moving it restarts the run with the key in the link", async () => {
  // mmc's second step says "raise utilization towards 1" and has a button that sets it.
  const { page, problems } = await h.open('?scenario=mmc&lesson=1&speed=50');
  await waitForStatus(page, { lesson_step: 1, time_s: { gt: 29 } }, 60_000);
  const slider = '#lesson-controls input[type="range"][data-key="utilization"]';
  assert.ok(await page.isVisible(slider), 'no utilization slider on the lesson card');
  // The card's control is the settings panel's widget: the same label words and range as the panel's.
  const cardLabel = await page.textContent('#lesson-controls label[for="lesson-key-utilization"]');
  const panelLabel = await page.textContent('#keys label[for="key-utilization"]');
  assert.equal(cardLabel, panelLabel);
  assert.equal(params(page).has('utilization'), false);
  const build = (await status(page)).build;
  await slide(page, slider, 900);
  await page.waitForFunction(() => new URLSearchParams(location.search).has('utilization'), null, { timeout: 30_000 });
  const inUrl = Number(params(page).get('utilization'));
  const shown = Number(await page.inputValue('#lesson-controls .param:has([data-key="utilization"]) input.number-box'));
  assert.equal(inUrl, shown, `the link says ${inUrl}, the card's box ${shown}`);
  // utilization's range is 0 to 0.999 (its key table), on a linear slider of 1000 positions: position 900 is
  // nine tenths of it.
  assert.equal(await page.getAttribute(slider, 'data-log'), 'false');
  assert.ok(Math.abs(inUrl - 0.9 * 0.999) < 1e-4, `utilization ${inUrl}`);
  // The run restarted with it (a new build) and the lesson stays on its step; the panel's slider agrees.
  await waitForStatus(page, { build: { ne: build }, lesson_step: 1 }, 30_000);
  assert.equal(Number(await page.inputValue('#keys .param:has([data-key="utilization"]) input.number-box')), inUrl);
  assert.deepEqual(problems, []);
  await page.close();
});

test("a step that compares controllers carries their main parameters; a step without actions carries none", async () => {
  // quiet's second step runs conn-p and compares it with pid: pid's kp sits on the card, not only 3,000 px down.
  const { page, problems } = await h.open('?scenario=quiet&lesson=1');
  await waitForStatus(page, { lesson_step: 1 }, 60_000);
  for (const key of ['full_swing_conns', 'kp']) {
    assert.ok(await page.isVisible(`#lesson-controls input[type="range"][data-param="${key}"]`), `no ${key} on the card`);
  }
  assert.ok((await page.$$('#lesson-controls .param')).length <= 3, 'more than three controls on the card');
  const { page: first, problems: p2 } = await h.open('?scenario=quiet&lesson=0');
  await waitForStatus(first, { lesson_step: 0 }, 60_000);
  assert.equal(await first.$('#lesson-controls'), null, 'a step without actions shows controls');
  assert.deepEqual([...problems, ...p2], []);
  await page.close();
  await first.close();
});
