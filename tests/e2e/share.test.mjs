// End-to-end tests of sharing and embedding (issue 21): the share panel's link and iframe carry the whole run
// and the moment; a link with at= opens there; every scenario's embed fits a 700×520 frame with a heading; an
// embed of a lesson step shows its caption.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { start, CLI, status, waitForStatus } from './harness.mjs';

let h;
before(async () => { h = await start(); });
after(async () => { await h?.stop(); });

const SCENARIOS = JSON.parse(execFileSync(CLI, ['list', '--format', 'json'], { encoding: 'utf8' }))
  .scenarios.map((s) => s.name);

test('the share panel gives a link and an iframe that carry the run and the moment', async () => {
  const { page, problems } = await h.open('?scenario=slow&controller=p2c&lesson=off&speed=20&fault_at=20');
  await waitForStatus(page, { time_s: { gt: 25 } });
  await page.click('#play');
  await waitForStatus(page, { playing: false });
  const t = (await status(page)).time_s;
  await page.click('#share');
  const link = new URL(await page.inputValue('#share-link'));
  const q = link.searchParams;
  assert.equal(q.get('scenario'), 'slow');
  assert.equal(q.get('controller'), 'p2c');
  assert.equal(q.get('fault_at'), '20');
  assert.ok(Math.abs(Number(q.get('at')) - t) <= 0.05 + 1e-9, `at=${q.get('at')} for t=${t}`);
  const snippet = await page.inputValue('#share-embed');
  assert.match(snippet, /^<iframe src="[^"]+" width="700" height="520" title="loadlab: [^"]+"/);
  const src = new URL(snippet.match(/src="([^"]+)"/)[1].replaceAll('&amp;', '&'));
  assert.equal(src.searchParams.get('embed'), '1');
  assert.equal(src.searchParams.get('at'), q.get('at'));
  // The link opens at that moment, with the same settings.
  const again = await h.open(link.search, { width: 1280, height: 800 });
  await waitForStatus(again.page, { time_s: { gt: Number(q.get('at')) - 0.01 } });
  const p2 = new URLSearchParams(new URL(again.page.url()).search);
  for (const k of ['scenario', 'controller', 'fault_at', 'seed']) assert.equal(p2.get(k), q.get(k), k);
  assert.deepEqual([...problems, ...again.problems], []);
  await again.page.close();
  await page.close();
});

test('every scenario embeds in 700x520 with a heading and nothing cut off', async () => {
  for (const name of SCENARIOS) {
    for (const ab of name === 'slow' ? ['', '&ab=mw-loadmonitor'] : ['']) {
      const { page, problems } = await h.open(`?scenario=${name}&embed=1${ab}`, { width: 700, height: 520 });
      await waitForStatus(page, { time_s: { gt: 0 } });
      await page.waitForTimeout(500);
      const size = await page.evaluate(() => ({
        h: document.documentElement.scrollHeight, w: document.documentElement.scrollWidth,
      }));
      assert.ok(size.h <= 520 && size.w <= 700, `${name}${ab}: ${size.w}x${size.h} in a 700x520 frame`);
      const heading = await page.$$eval('h1', (els) => els.some((e) => e.offsetParent !== null && e.textContent.trim()));
      assert.ok(heading, `${name}: no visible h1`);
      assert.deepEqual(problems, [], name);
      await page.close();
    }
  }
});

test('an embed of a lesson step shows what to look at', async () => {
  const { page, problems } = await h.open('?scenario=connect-timeout&embed=1&lesson=2', { width: 700, height: 520 });
  const caption = await page.waitForSelector('#embed-caption');
  assert.match(await caption.textContent(), /Connects pile up/);
  assert.deepEqual(problems, []);
  await page.close();
});
