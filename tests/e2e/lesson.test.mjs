// End-to-end tests of the lessons and the rough edges issue 10 lists: the page opens paused with the lesson and
// a drawn chart on the first screen, Next runs to the step where the slow lesson's site goes down, Step redraws
// a paused chart, every scenario key has a labelled control, and a huge surge leaves the page responsive.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, canvasColours, canvasFingerprint, status, waitForStatus } from './harness.mjs';

let h;
before(async () => { h = await start(); });
after(async () => { await h?.stop(); });

test('the page opens paused at t = 0 with the picture and the lesson on the first screen, and a drawn chart', async () => {
  for (const viewport of [{ width: 1280, height: 800 }, { width: 390, height: 844 }]) {
    const { page, problems } = await h.open('', viewport);
    await waitForStatus(page, { lesson_step: 0 });
    const s = await status(page);
    assert.equal(s.playing, false);
    assert.equal(s.time_s, 0);
    await page.waitForSelector('#picture svg');
    const lesson = await page.locator('#lesson').boundingBox();
    const picture = await page.locator('#picture svg').boundingBox();
    const chart = await page.locator('#chart-conns').boundingBox();
    if (viewport.width === 1280) {
      for (const [name, box] of [['lesson', lesson], ['picture', picture]]) {
        assert.ok(box.y + Math.min(box.height, 300) <= viewport.height, `${name} ends at ${box.y + box.height}px, below the first screen`);
      }
      assert.ok(picture.x + picture.width <= lesson.x + 1, 'the lesson is not beside the picture');
    } else {
      // On a phone the story and the lesson card (its title, text and buttons) fill the first screen; the picture
      // and the charts come after it.
      await lessonOnFirstScreen(page, viewport);
      assert.ok(picture.y >= lesson.y + lesson.height - 1, 'on a phone the picture comes after the lesson');
    }
    assert.ok(chart.y >= picture.y + picture.height - 1, 'the charts follow the picture');
    assert.ok((await canvasColours(page, '#chart-conns')) > 5, 'the chart is not drawn');
    assert.deepEqual(problems, []);
    await page.close();
  }
});

/** The lesson card's title, its text and its step's buttons end within the first screen. */
async function lessonOnFirstScreen(page, viewport) {
  for (const sel of ['#lesson-title', '.lesson-text', '.lesson-actions']) {
    if ((await page.locator(sel).count()) === 0) continue;
    const box = await page.locator(sel).first().boundingBox();
    assert.ok(box.y + box.height <= viewport.height, `${sel} ends at ${box.y + box.height}px, below the ${viewport.height}px first screen`);
  }
}

test('on a phone the full-crash bootstrap step shows its text and its three bootstrap buttons on the first screen', async () => {
  const viewport = { width: 390, height: 844 };
  const { page, problems } = await h.open('?scenario=galera-full-crash&lesson=2', viewport);
  await waitForStatus(page, { lesson_step: 2 });
  // With the step's numbers in (a long list of what each choice loses), not while it still runs to the step.
  await page.waitForFunction(() => /positions read back/.test(document.getElementById('lesson-numbers')?.textContent ?? ''), null, { timeout: 30_000 });
  await lessonOnFirstScreen(page, viewport);
  const labels = await page.locator('.lesson-act').allTextContents();
  for (const n of [1, 2, 3]) assert.ok(labels.includes(`Bootstrap node${n}`), `no Bootstrap node${n} in ${labels}`);
  assert.deepEqual(problems, []);
  await page.close();
});

test('Next runs the slow lesson to the step where static weights reject requests; Back replays', async () => {
  const { page, problems } = await h.open('?scenario=slow&controller=static');
  assert.ok(new URLSearchParams(new URL(page.url()).search).get('workers'), 'the lesson sets a finite worker pool');
  let step = 0;
  let s = await status(page);
  // Next until a step's numbers come from a run that has rejected requests (the lesson says the site is down).
  while (s.rejected === 0) {
    const count = await page.locator('#lesson').getAttribute('data-step');
    assert.ok(Number(count) < 6, 'no lesson step shows rejected requests');
    await page.click('#lesson-next');
    step += 1;
    await waitForStatus(page, { lesson_step: step });
    const at = await page.textContent('#lesson-numbers');
    await page.waitForFunction(() => !/Running to/.test(document.getElementById('lesson-numbers')?.textContent ?? ''), null, { timeout: 30_000 });
    s = await status(page);
    assert.equal(s.playing, false, `step ${step}: the lesson should hold at its moment (${at})`);
  }
  assert.ok(s.rejected > 0 && s.time_s > 30, `step ${step} at t = ${s.time_s}: ${s.rejected} rejected`);
  assert.match(await page.textContent('#lesson-numbers'), /rejected/);
  // Back replays from the seed: a new build, at an earlier time.
  const build = s.build;
  await page.click('#lesson-back');
  await waitForStatus(page, { build: { ne: build }, lesson_step: { ne: null } });
  await page.waitForFunction(() => !/Running to/.test(document.getElementById('lesson-numbers')?.textContent ?? ''), null, { timeout: 30_000 });
  assert.ok((await status(page)).time_s < s.time_s, 'Back did not go back in time');
  await page.click('#lesson-skip');
  await waitForStatus(page, { lesson_step: null, playing: true });
  assert.deepEqual(problems, []);
  await page.close();
});

test('Step redraws a paused chart', async () => {
  const { page, problems } = await h.open('?scenario=plain-s1&lesson=off&speed=20');
  await waitForStatus(page, { time_s: { gt: 2 } });
  await page.click('#play');
  await waitForStatus(page, { playing: false });
  await page.waitForTimeout(300);
  const before = await canvasFingerprint(page, '#chart-conns');
  const t0 = (await status(page)).time_s;
  await page.click('#step');
  await waitForStatus(page, { time_s: { gt: t0 } });
  await page.waitForTimeout(300);
  assert.notEqual(await canvasFingerprint(page, '#chart-conns'), before, 'Step did not redraw the chart');
  assert.deepEqual(problems, []);
  await page.close();
});

test('every scenario key has a labelled control', async () => {
  for (const scenario of ['slow', 'mmc']) {
    const { page, problems } = await h.open(`?scenario=${scenario}&lesson=off`);
    const keys = await page.$$eval('[data-key]', (els) => els.map((el) => {
      const label = el.id && document.querySelector(`label[for="${el.id}"]`);
      const tech = el.closest('.param')?.querySelector('details.tech code');
      return { key: el.dataset.key, label: label ? label.textContent : '', tech: tech ? tech.textContent : '' };
    }));
    const names = keys.map((k) => k.key);
    for (const k of (scenario === 'slow' ? ['fault_at', 'recover_at', 'slow_factor', 'workers', 'capacity', 'breaker_conns', 'rate_scale'] : ['utilization', 'servers', 'slots'])) {
      assert.ok(names.includes(k), `${scenario}: no control for ${k} (${names.join(', ')})`);
    }
    // Each is named in plain words; its key, as links spell it, waits under its technical details.
    for (const k of keys) {
      assert.ok(k.label.trim().length > 0 && !k.label.includes('_'), `${k.key} has no plain label (${k.label})`);
      assert.equal(k.tech, k.key, `${k.key}'s technical details do not name its key`);
    }
    assert.deepEqual(problems, []);
    await page.close();
  }
});

test('a huge surge in the URL leaves the page responsive and says how fast it really runs', async () => {
  const { page, problems } = await h.open('?scenario=plain-s1&lesson=off&surge=1000@1&speed=100');
  await waitForStatus(page, { time_s: { gt: 1 } });
  await page.waitForTimeout(1500);
  // The page still answers a click: pausing takes effect (Playwright's own action timeout bounds the wait, generous for a loaded machine: a frozen page never answers).
  await page.click('#play', { timeout: 15_000 });
  await waitForStatus(page, { playing: false }, 15_000);
  await page.click('#play');
  await page.waitForTimeout(1500);
  const s = await status(page);
  assert.ok(s.achieved_speed < s.speed, `achieved ${s.achieved_speed}× of ${s.speed}×`);
  assert.match(await page.textContent('#status'), /running at/);
  assert.deepEqual(problems, []);
  await page.close();
});
