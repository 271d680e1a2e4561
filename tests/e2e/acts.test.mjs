// End-to-end tests of lessons that act (issue 20): a step's buttons do what its text says and the link records
// it; a lesson about one controller runs it; a typed value out of range says so; a run stops at its length and
// can be made longer; and challenges are judged live on the run.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, status, waitForStatus } from './harness.mjs';

let h;
before(async () => { h = await start(); });
after(async () => { await h?.stop(); });

const params = (page) => new URLSearchParams(new URL(page.url()).search);

test('a lesson runs the controller its text is about, and its buttons compare another', async () => {
  const { page, problems } = await h.open('?scenario=refuse');
  assert.equal(params(page).get('controller'), 'least-conn', 'the refuse lesson runs least-conn');
  await page.click('#lesson-next');
  await waitForStatus(page, { lesson_step: 1 });
  const button = page.locator('.lesson-act', { hasText: 'Compare with conn-p' });
  await button.click();
  await page.waitForFunction(() => new URLSearchParams(location.search).get('ab') === 'conn-p');
  await page.waitForFunction(() => document.querySelector('.lesson-act.on')?.textContent.includes('conn-p'));
  await waitForStatus(page, { 'b.requests': { gt: 0 } }, 30_000);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a controller parameter out of range is named in the notice, not applied and not silently reverted', async () => {
  // The same one validator as a scenario key (controls.test.mjs types 99999999 into slow_factor): pid's kp is
  // from 0 to 100 by its parameter table.
  const { page, problems } = await h.open('?scenario=slow&controller=pid&lesson=off&speed=5');
  // kp's number box, found by the parameter its slider sets (its visible name is the plain label).
  const box = '.param:has(input[data-param="kp"]) input.number-box';
  const build = (await status(page)).build;
  await page.fill(box, '1000');
  await page.press(box, 'Enter');
  await page.waitForSelector('.notice', { timeout: 15_000 });
  // Named by its label, as its control is; the key stays in the link and the command line.
  assert.match(await page.textContent('.notice'), /Proportional gain.*1000/);
  assert.equal(params(page).get('kp'), null, 'the link did not take it');
  assert.equal((await status(page)).build, build, 'the run did not restart');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a run ends at its length, says so, and can run twice as long', async () => {
  const { page, problems } = await h.open('?scenario=galera-full-crash&lesson=off&speed=100');
  await waitForStatus(page, { ended: true }, 30_000);
  const s = await status(page);
  assert.equal(s.time_s, s.end_s, 'the clock stops at the end');
  assert.match(await page.textContent('#status'), /end of run/);
  await page.click('#extend');
  await page.waitForFunction(() => new URLSearchParams(location.search).get('length') === String(2 * 60));
  await waitForStatus(page, { time_s: { gt: 61 } }, 30_000);
  assert.deepEqual(problems, []);
  await page.close();
});

test('challenges are judged on the run: the incident misses, the fix meets', async () => {
  for (const [query, want] of [['', 'missed'], ['&trx_commit=1', 'met']]) {
    const { page, problems } = await h.open(`?scenario=galera-full-crash&lesson=off&speed=100${query}`);
    await page.waitForSelector('#challenges .verdict');
    await page.waitForFunction((w) => document.querySelector('#challenges .verdict')?.dataset.verdict === w, want, { timeout: 30_000 });
    assert.deepEqual(problems, [], query);
    await page.close();
  }
});

test('the charts keep the whole course in view, and a window shows the recent part', async () => {
  // Percona's lesson step "hours of catch-up" runs to 25,200 s: its charts span the whole run from zero.
  const { page, problems } = await h.open('?scenario=percona-desync&lesson=3', { width: 1280, height: 800 });
  await waitForStatus(page, { lesson_step: 3 });
  await page.waitForFunction(() => !/Running to/.test(document.getElementById('lesson-numbers')?.textContent ?? ''), null, { timeout: 60_000 });
  const chart = 'canvas[id^="chart-"]';
  await page.waitForFunction((sel) => Number(document.querySelector(sel)?.dataset.xTo) >= 25_000, chart, { timeout: 30_000 });
  assert.equal(Number(await page.getAttribute(chart, 'data-x-from')), 0, 'the chart starts at zero');
  await page.selectOption('#window', '1800');
  await page.waitForFunction((sel) => Number(document.querySelector(sel)?.dataset.xFrom) >= 23_000, chart, { timeout: 30_000 });
  assert.deepEqual(problems, []);
  await page.close();
});

test('the full-crash lesson bootstraps the node its button names, and a second choice is refused in words', async () => {
  const { page, problems } = await h.open('?scenario=galera-full-crash&lesson=2');
  await waitForStatus(page, { lesson_step: 2 });
  await page.waitForFunction(() => /positions read back/.test(document.getElementById('lesson-numbers')?.textContent ?? ''), null, { timeout: 30_000 });
  assert.match(await page.textContent('#lesson-numbers'), /node2 loses/);
  await page.click('.lesson-act:text-is("Bootstrap node2")');
  await page.waitForFunction(() => /bootstrapping node2 loses/.test(document.getElementById('lesson-numbers')?.textContent ?? ''), null, { timeout: 30_000 });
  assert.match(page.url(), /bootstrap%3Anode2|bootstrap:node2/, 'the link records the choice');
  await page.click('.lesson-act:text-is("Bootstrap node3")');
  await page.waitForSelector('.notice', { timeout: 15_000 });
  assert.match(await page.textContent('.notice'), /already restarted from node2/);
  assert.match(await page.textContent('#lesson-numbers'), /bootstrapping node2 loses/, 'the refused choice changed nothing');
  assert.deepEqual(problems, []);
  await page.close();
});
