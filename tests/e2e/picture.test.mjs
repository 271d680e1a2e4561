// End-to-end tests of the story-first page and the live picture of each system (issue 19): for every
// scenario the human title, the story and the picture are on the first screen (and before the controls on a
// phone); each model's picture moves as the run plays; clicking a part and choosing an action applies
// it, the URL records it and the run shows it; and the picture's numbers are the newest row's.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { start, CLI, status, waitForStatus } from './harness.mjs';

let h;
before(async () => { h = await start(); });
after(async () => { await h?.stop(); });

const SCENARIOS = JSON.parse(execFileSync(CLI, ['list', '--format', 'json'], { encoding: 'utf8' }))
  .scenarios.map((s) => s.name);

/** The picture's text and bar widths, to see that it moved. */
const fingerprint = (page) => page.$eval('#picture svg', (svg) =>
  [...svg.querySelectorAll('text')].map((t) => t.textContent).join('|')
  + [...svg.querySelectorAll('.bar-fill')].map((r) => r.getAttribute('width')).join(','));

test('every scenario opens with its title, its story and a picture of the system on the first screen', async () => {
  assert.ok(SCENARIOS.length >= 12, `${SCENARIOS.length} scenarios`);
  for (const name of SCENARIOS) {
    for (const viewport of [{ width: 1280, height: 800 }, { width: 390, height: 844 }]) {
      const { page, problems } = await h.open(`?scenario=${name}`, viewport);
      await page.waitForSelector('#picture svg .part');
      const title = (await page.textContent('#headline')).trim();
      assert.ok(title.length > 20 && title !== name, `${name}: the title is ${JSON.stringify(title)}`);
      assert.equal(await page.title(), `${title} · loadlab`);
      const box = async (sel) => page.locator(sel).first().boundingBox();
      const [head, brief, picture] = [await box('#headline'), await box('#brief'), await box('#picture svg')];
      if (viewport.width === 1280) {
        const lesson = await box('#lesson');
        for (const [what, b] of [['title', head], ['story', brief], ['picture', picture], ['lesson', lesson]]) {
          assert.ok(b && b.y >= 0 && b.y + Math.min(b.height, 120) <= viewport.height, `${name}: the ${what} is not on the first screen (${JSON.stringify(b)})`);
        }
        assert.ok(picture.y + picture.height <= viewport.height, `${name}: the picture ends at ${picture.y + picture.height}px`);
      } else {
        const controls = await box('.time-bar');
        const pickers = await box('section.bar');
        assert.ok(head.y < brief.y && brief.y < picture.y, `${name}: title, story, picture in that order`);
        assert.ok(picture.y + picture.height <= controls.y + 1 && picture.y < pickers.y, `${name}: the picture comes before the controls`);
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(width <= viewport.width + 1, `${name}: ${width}px wide at ${viewport.width}px`);
      }
      assert.deepEqual(problems, [], name);
      await page.close();
    }
  }
});

test('each model\'s picture moves as the run plays', async () => {
  // Each opens a few seconds before its incident (at=), so the next simulated seconds show something happen.
  // No wall-clock bound: a loaded machine plays slower, and the picture must still move with the run.
  const moments = { slow: 25, 'sahana-idle-drop': 6995, 'koha-memcached-blackhole': 25, 'percona-desync': 55, 'galera-hyperconverged': 295 };
  for (const [name, at] of Object.entries(moments)) {
    const { page, problems } = await h.open(`?scenario=${name}&lesson=off&speed=20&at=${at}`);
    await page.waitForSelector('#picture svg .part');
    await waitForStatus(page, { time_s: { gt: at }, playing: true }, 60_000);
    const before = await fingerprint(page);
    await page.waitForFunction((b) => {
      const svg = document.querySelector('#picture svg');
      const now = [...svg.querySelectorAll('text')].map((t) => t.textContent).join('|')
        + [...svg.querySelectorAll('.bar-fill')].map((r) => r.getAttribute('width')).join(',');
      return now !== b;
    }, before, { timeout: 60_000 });
    // Sahana's site is quiet at first (a request every ten seconds): its dots come with the traffic.
    if (name !== 'sahana-idle-drop') await page.waitForSelector('#picture svg circle.dot', { timeout: 60_000 });
    assert.deepEqual(problems, [], name);
    await page.close();
  }
});

test('clicking a part offers its actions, and one applies: the URL records it and the picture shows it', async () => {
  const cases = [
    { scenario: 'plain-s1', part: 'db1119', verb: 'crash', shows: /crashed/ },
    { scenario: 'koha-memcached-blackhole', part: 'koha2', verb: 'power-off', shows: /HAProxy: out/ },
    { scenario: 'sahana-idle-drop', part: 'w1', verb: 'expire-flow', shows: /flow: (forgotten|resending|closed)/ },
    { scenario: 'percona-desync', part: 'node2', verb: 'desync-on', shows: /desynced/ },
  ];
  for (const c of cases) {
    const { page, problems } = await h.open(`?scenario=${c.scenario}&lesson=off&speed=20`);
    const part = `#picture g.part[data-name="${c.part}"]`;
    await page.waitForSelector(part);
    await page.click(part);
    await page.waitForSelector('#part-actions');
    assert.ok((await page.textContent('#part-actions')).includes(c.part), `${c.scenario}: the panel names ${c.part}`);
    const help = await page.textContent(`#part-actions li:has(button[data-verb="${c.verb}"]) .verb-help`);
    assert.ok(help.trim().length > 10, `${c.scenario}: ${c.verb} says what it does`);
    await page.click(`#part-actions button[data-verb="${c.verb}"]`);
    await page.waitForFunction((want) => decodeURIComponent(location.search).includes(want), `${c.verb}:${c.part}@`);
    await page.waitForFunction(({ sel, source }) => new RegExp(source).test(document.querySelector(sel)?.getAttribute('aria-label') ?? ''),
      { sel: part, source: c.shows.source }, { timeout: 30_000 });
    assert.deepEqual(problems, [], c.scenario);
    await page.close();
  }
});

test('the picture\'s numbers are the newest row\'s', async () => {
  const { page, problems } = await h.open('?scenario=slow&controller=static&lesson=off&speed=20');
  await waitForStatus(page, { time_s: { gt: 40 } }, 30_000);
  await page.click('#play');
  await waitForStatus(page, { playing: false });
  // A paused page renders the snapshot it published: wait for the picture to settle, then compare.
  await page.waitForTimeout(600);
  const s = await status(page);
  for (const server of ['db1119', 'db1163', 'db1106']) {
    const shown = Number(await page.getAttribute(`#picture g.part[data-name="${server}"] .bar-fill`, 'data-value'));
    assert.equal(shown, s.now[`${server}.active_conns`], `${server}: the picture and the row differ`);
  }
  assert.deepEqual(problems, []);
  await page.close();
});
