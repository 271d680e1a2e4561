// End-to-end tests of the controls beside the chart (issue 20): the lesson card carries the controls its step is
// about and they apply as the settings panel's do; a refused value is said in a notice; a slider moved with the
// keys says how it applies; every fault and operator action says what it does in visible text; on a phone the
// lesson card stays in view after Next. Every test also fails on a console error or an uncaught exception.

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
  // It is named in plain words (the key table's label), not by its key; the key waits, collapsed, under the
  // control's technical details, as links spell it.
  assert.match(cardLabel, /^Offered load per slot/, cardLabel);
  assert.ok(!cardLabel.includes('utilization'), cardLabel);
  const tech = '#lesson-controls .param:has([data-key="utilization"]) details.tech';
  assert.equal(await page.getAttribute(tech, 'open'), null, 'the technical details are open');
  assert.equal(await page.textContent(`${tech} code`), 'utilization');
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
  for (const [key, label] of [['full_swing_conns', 'Connection gap for a full swing'], ['kp', 'Proportional gain']]) {
    assert.ok(await page.isVisible(`#lesson-controls input[type="range"][data-param="${key}"]`), `no ${key} on the card`);
    // The visible name of a lesson control is its label, never its key.
    const shown = await page.textContent(`#lesson-controls label[for="lesson-param-${key}"] .param-label`);
    assert.equal(shown, label);
  }
  assert.ok((await page.$$('#lesson-controls .param')).length <= 3, 'more than three controls on the card');
  const { page: first, problems: p2 } = await h.open('?scenario=quiet&lesson=0');
  await waitForStatus(first, { lesson_step: 0 }, 60_000);
  assert.equal(await first.$('#lesson-controls'), null, 'a step without actions shows controls');
  assert.deepEqual([...problems, ...p2], []);
  await page.close();
  await first.close();
});

test('a typed value out of range is said in a notice and the link is unchanged', async () => {
  const { page, problems } = await h.open('?scenario=slow&lesson=off&speed=20');
  await waitForStatus(page, { time_s: { gt: 1 } });
  const box = '#keys .param:has(#key-slow_factor) input.number-box';
  const before = page.url();
  const build = (await status(page)).build;
  await page.fill(box, '99999999');
  await page.press(box, 'Enter');
  await page.waitForSelector('.notice', { timeout: 15_000 });
  const notice = await page.textContent('.notice');
  // The page names the setting as its control does, by its label, not its key.
  assert.match(notice, /Slowdown of the slow server/, notice);
  assert.doesNotMatch(notice, /slow_factor/, notice);
  assert.match(notice, /99999999/, notice);
  // The notice is on screen where the reader typed, far down the page.
  const noticeBox = await page.locator('.notice').boundingBox();
  assert.ok(noticeBox.y >= 0 && noticeBox.y < page.viewportSize().height, `the notice is off screen (y ${noticeBox.y})`);
  assert.equal(page.url(), before, 'a refused value changed the link');
  assert.equal((await status(page)).build, build, 'a refused value restarted the run');
  // The box shows the value in effect again, not the refused one.
  assert.notEqual(await page.inputValue(box), '99999999');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a slider moved with the arrow keys says that Enter applies it', async () => {
  const { page, problems } = await h.open('?scenario=slow&controller=pid&lesson=off&speed=20');
  const kp = '#param-kp';
  const before = page.url();
  await page.focus(kp);
  await page.keyboard.press('ArrowRight');
  const hint = page.locator('.param:has(#param-kp) .hint[role="status"]');
  await hint.waitFor({ state: 'visible', timeout: 15_000 });
  assert.match(await hint.textContent(), /Enter/);
  assert.equal(page.url(), before, 'an arrow press applied the value');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => new URLSearchParams(location.search).has('kp'), null, { timeout: 15_000 });
  await hint.waitFor({ state: 'hidden', timeout: 15_000 });
  assert.deepEqual(problems, []);
  await page.close();
});

test('every fault and operator action says what it does in visible text, also on a phone', async () => {
  for (const [scenario, viewport] of [['plain-s1', { width: 1280, height: 800 }], ['koha-memcached-blackhole', { width: 390, height: 844 }]]) {
    const { page, problems } = await h.open(`?scenario=${scenario}&lesson=off`, viewport);
    await page.waitForSelector('#commands button[data-fault], #commands button[data-verb]');
    const described = await page.$$eval('#commands button[data-fault], #commands button[data-verb]', (buttons) => buttons.map((b) => {
      const help = document.getElementById(b.getAttribute('aria-describedby') ?? '');
      const box = help?.getBoundingClientRect();
      return { verb: b.dataset.fault ?? b.dataset.verb, text: help?.textContent ?? '', shown: !!box && box.width > 0 && box.height > 0 };
    }));
    assert.ok(described.length > 0, `${scenario}: no action buttons`);
    for (const d of described) {
      assert.ok(d.shown && d.text.length > 10, `${scenario}: ${d.verb} has no visible words (${JSON.stringify(d)})`);
    }
    assert.deepEqual(problems, []);
    await page.close();
  }
});

test('on a phone, the lesson card is in view after every Next', async () => {
  const { page, problems } = await h.open('?scenario=slow&speed=100', { width: 390, height: 844 });
  await waitForStatus(page, { lesson_step: 0 });
  for (let step = 1; ; step++) {
    const next = page.locator('#lesson-next');
    if ((await next.textContent()).includes('Free play')) break;
    await next.scrollIntoViewIfNeeded();
    await next.click();
    await waitForStatus(page, { lesson_step: step }, 60_000);
    // The card's top is on screen once the page has laid out the new step (it may grow while the run catches up).
    await page.waitForFunction(() => {
      const r = document.getElementById('lesson')?.getBoundingClientRect();
      return r && r.top >= -1 && r.top < window.innerHeight * 0.75;
    }, null, { timeout: 15_000 });
    assert.equal(await page.getAttribute('#lesson', 'data-step'), String(step));
  }
  assert.deepEqual(problems, []);
  await page.close();
});
