// End-to-end tests of the whole course in view (issue 20): a lesson step's charts show the stretch it is about
// (Sahana's whole 924.6 s stall in one view, Percona's hours of catch-up as the whole course), the window picker
// says so, and the overview strip's brush sets a stretch the charts then show, double-click following the run
// again. Every expected time comes from the scenario's definition or the incident's arithmetic; nothing waits a
// fixed wall-clock time.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, status, waitForStatus } from './harness.mjs';

let h;
before(async () => { h = await start(); });
after(async () => { await h?.stop(); });

/** The x range a drawn chart canvas says it shows. */
async function canvasSpan(page, selector) {
  return page.$eval(selector, (c) => [Number(c.dataset.xFrom), Number(c.dataset.xTo)]);
}

/** Waits until the chart `selector` was drawn with the status's x range (it redraws a frame or so later). */
async function waitForChartSpan(page, selector) {
  await page.waitForFunction((sel) => {
    const s = window.loadlab_status?.();
    const c = document.querySelector(sel);
    return s && c && Math.abs(Number(c.dataset.xFrom) - s.x_from) < 1e-3 && Math.abs(Number(c.dataset.xTo) - s.x_to) < 1e-3;
  }, selector, { timeout: 30_000 });
}

test("Sahana's stall step shows the whole stall in one view, and the picker says which stretch", async () => {
  const { page, problems } = await h.open('?scenario=sahana-idle-drop&lesson=4', { width: 1280, height: 800 });
  // The step runs to 8100 s and holds there.
  await waitForStatus(page, { lesson_step: 4, time_s: { gt: 8099.9 }, playing: false }, 180_000);
  // Traffic rises at 7000 s (quiet_until_s); the first request on a forgotten flow stalls within a second of
  // it, for the RTO ladder: 0.2·(2¹⁰ − 1) + 6·120 = 924.6 s.
  const stall = 0.2 * (2 ** 10 - 1) + 6 * 120;
  const s = await status(page);
  assert.ok(s.x_from <= 7000 && s.x_to >= 7000 + 1 + stall, `the charts show ${s.x_from}..${s.x_to}`);
  assert.ok(s.x_to - s.x_from < s.time_s / 2, `a stretch about the stall, not the whole run (${s.x_from}..${s.x_to})`);
  await waitForChartSpan(page, '#chart-lanes');
  const [from, to] = await canvasSpan(page, '#chart-lanes');
  assert.ok(from <= 7000 && to >= 7000 + 1 + stall, `the step's chart is drawn over ${from}..${to}`);
  const picked = await page.$eval('#window', (el) => el.options[el.selectedIndex].textContent);
  assert.match(picked, / s to .* s$/, `the picker shows ${picked}`);
  assert.deepEqual(problems, []);
  await page.close();
});

test("Percona's catch-up step shows the whole course; the brush zooms the charts and a double-click follows the run", async () => {
  const { page, problems } = await h.open('?scenario=percona-desync&lesson=3', { width: 1280, height: 800 });
  // The catch-up step is at 25,200 s (seven hours): the whole course from the backup at time zero.
  await waitForStatus(page, { lesson_step: 3, time_s: { gt: 25_199.9 }, playing: false }, 300_000);
  let s = await status(page);
  assert.equal(s.x_from, 0);
  assert.ok(s.x_to >= 25_200, `the charts end at ${s.x_to}`);
  assert.equal(s.view, 'all');
  await waitForChartSpan(page, '#chart-throughput');

  // Drag across the strip from 30% to 60% of its plot (8 px of padding each side, as it is drawn).
  await page.locator('.overview-strip').scrollIntoViewIfNeeded();
  const strip = await page.locator('.overview-strip').boundingBox();
  const pad = 8;
  const plot = strip.width - 2 * pad;
  const at = (f) => strip.x + pad + f * plot;
  const y = strip.y + strip.height / 2;
  await page.mouse.move(at(0.3), y);
  await page.mouse.down();
  await page.mouse.move(at(0.45), y, { steps: 4 });
  await page.mouse.move(at(0.6), y, { steps: 4 });
  await page.mouse.up();
  await waitForStatus(page, { view: { ne: 'all' } });
  s = await status(page);
  // Within two pixels of where the pointer went, on a time axis of overview_end seconds over the plot's width.
  const tolerance = (2 * s.overview_end) / plot + 0.1;
  assert.ok(Math.abs(s.x_from - 0.3 * s.overview_end) < tolerance, `brushed from ${s.x_from}, wanted ${0.3 * s.overview_end}`);
  assert.ok(Math.abs(s.x_to - 0.6 * s.overview_end) < tolerance, `brushed to ${s.x_to}, wanted ${0.6 * s.overview_end}`);
  await waitForChartSpan(page, '#chart-throughput');
  assert.match(new URL(page.url()).searchParams.get('window') ?? '', /^[0-9.]+\.\.[0-9.]+$/, 'the link carries the stretch');

  // The right arrow moves the stretch a tenth of its width later.
  const brushed = s;
  await page.focus('.overview-strip');
  await page.keyboard.press('ArrowRight');
  await waitForStatus(page, { x_from: { gt: brushed.x_from } });
  s = await status(page);
  const width = brushed.x_to - brushed.x_from;
  assert.ok(Math.abs(s.x_from - (brushed.x_from + width / 10)) < 0.2, `moved to ${s.x_from}`);

  // A double-click follows the run again: the whole course.
  await page.dblclick('.overview-strip');
  await waitForStatus(page, { view: 'all' });
  s = await status(page);
  assert.equal(s.x_from, 0);
  await waitForChartSpan(page, '#chart-throughput');
  assert.deepEqual(problems, []);
  await page.close();
});
