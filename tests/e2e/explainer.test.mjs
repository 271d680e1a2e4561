// End-to-end tests of the explainer (issues 4 and 10): controls, charts, URL state, A/B, embed, export and the
// lessons, in Debian's Chromium. Every test also fails on a console error, an uncaught exception or a request to another origin.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { start, CLI, canvasColours, simTime, waitForSimTime, slide, status, waitForStatus } from './harness.mjs';

let h;
before(async () => { h = await start(); });
after(async () => { await h?.stop(); });

const params = (page) => new URLSearchParams(new URL(page.url()).search);
const CHARTS = ['#chart-conns', '#chart-share', '#chart-weights', '#chart-latency', '#chart-errors', '#chart-workers'];

test('every control has a visible label and every chart a text alternative', async () => {
  const { page, problems } = await h.open('?scenario=slow&controller=pid&speed=20&lesson=off');
  const unlabelled = await page.$$eval('input, select, button', (els) => els
    .filter((el) => el.offsetParent !== null)
    .filter((el) => {
      const id = el.id && document.querySelector(`label[for="${el.id}"]`);
      const wrapped = el.closest('label');
      const aria = el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
      const text = el.tagName === 'BUTTON' && el.textContent.trim();
      return !(id || wrapped || aria || text);
    })
    .map((el) => el.outerHTML.slice(0, 80)));
  assert.deepEqual(unlabelled, [], 'controls without a label');
  await waitForSimTime(page, 3);
  for (const sel of [...CHARTS, '#chart-pid']) {
    const info = await page.$eval(sel, (c) => ({ role: c.getAttribute('role'), label: c.getAttribute('aria-label') }));
    assert.equal(info.role, 'img', `${sel} role`);
    assert.ok(info.label && info.label.length > 10, `${sel} has no aria-label`);
    assert.ok((await canvasColours(page, sel)) > 5, `${sel} looks blank`);
  }
  assert.ok((await page.textContent('#story')).length > 100, 'the story is missing');
  assert.deepEqual(problems, []);
  await page.close();
});

test('letting go of a controller slider writes its value into the URL and restarts the run with it', async () => {
  const { page, problems } = await h.open('?scenario=slow&controller=conn-p&speed=50&lesson=off');
  await waitForSimTime(page, 5);
  const slider = 'input[type="range"][data-param]';
  const key = await page.$eval(slider, (el) => el.dataset.param);
  const build = (await status(page)).build;
  await slide(page, slider, 370);
  await page.waitForFunction((k) => new URLSearchParams(location.search).has(k), key);
  const inUrl = Number(params(page).get(key));
  const shown = Number(await page.$eval(`.param:has(${slider}) input.number-box`, (el) => el.value));
  assert.equal(inUrl, shown, `${key}: the URL says ${inUrl}, the number box ${shown}`);
  // The run restarted from zero with the new value: a new build whose clock is behind the old one.
  await // The run restarted from zero with the new value: a new build whose clock starts again near zero.
  await waitForStatus(page, { build: { ne: build }, time_s: { lt: 5 } });
  assert.deepEqual(problems, []);
  await page.close();
});

test('a log slider reaches the default decade, and arrow keys wait for Enter', async () => {
  const { page, problems } = await h.open('?scenario=slow&controller=pid&speed=20&lesson=off');
  const kp = 'input[data-param="kp"]';
  assert.equal(await page.getAttribute(kp, 'data-log'), 'true');
  const before = page.url();
  await page.focus(kp);
  for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowRight');
  await page.waitForTimeout(300);
  assert.equal(page.url(), before, 'an arrow press restarted the run');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => new URLSearchParams(location.search).has('kp'));
  const kpValue = Number(params(page).get('kp'));
  // Five steps of a log slider from the default 0.025 move it by a few percent, not by 1 as a linear one did.
  assert.ok(kpValue > 0.025 && kpValue < 0.04, `kp = ${kpValue}`);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a shared URL reproduces the same settings', async () => {
  const query = '?scenario=connect-timeout&controller=mw-loadmonitor&seed=42&speed=5&state_ttl_s=5&fault=crash%3Adb1163%4040';
  const { page, problems } = await h.open(query);
  assert.equal(await page.inputValue('#scenario'), 'connect-timeout');
  assert.equal(await page.inputValue('#controller'), 'mw-loadmonitor');
  assert.equal(await page.inputValue('#seed'), '42');
  assert.equal(Number(await page.inputValue('.param:has(input[data-param="state_ttl_s"]) input.number-box')), 5);
  const shared = params(page);
  for (const [k, v] of new URLSearchParams(query)) assert.equal(shared.getAll(k).includes(v), true, `${k}=${v} lost from the URL`);
  // Opening the page's own URL again gives the same settings.
  const { page: again, problems: p2 } = await h.open(new URL(page.url()).search);
  assert.deepEqual([...params(again)].sort(), [...shared].sort());
  assert.deepEqual([...problems, ...p2], []);
  await page.close();
  await again.close();
});

test('a fault button takes effect and is written into the URL', async () => {
  const { page, problems } = await h.open('?scenario=plain-s1&speed=20&lesson=off');
  await waitForSimTime(page, 2);
  await page.click('[data-server="db1119"] button[data-fault="crash"]');
  await page.waitForFunction(() => new URLSearchParams(location.search).getAll('fault').some((f) => f.startsWith('crash:db1119@')));
  await page.click('[data-server="db1119"] button[data-fault="recover"]');
  await page.waitForFunction(() => new URLSearchParams(location.search).getAll('fault').some((f) => f.startsWith('recover:db1119@')));
  assert.deepEqual(problems, []);
  await page.close();
});

test('A/B runs a second controller on the same seed', async () => {
  const { page, problems } = await h.open('?scenario=slow&controller=static&speed=20&lesson=off');
  await page.selectOption('#controller-b', 'p2c');
  await page.waitForFunction(() => new URLSearchParams(location.search).get('ab') === 'p2c');
  await waitForStatus(page, { 'b.requests': { gt: 0 }, time_s: { gt: 1 } });
  const s = await status(page);
  assert.equal(s.b.controller, 'p2c');
  assert.ok(await page.isVisible('#chart-conns-b'), 'no chart for run B');
  assert.deepEqual(problems, []);
  await page.close();
});

test('embed=1 with A/B shows both runs (each chart drawing its own legend), a title and a link, in a 700x520 iframe', async () => {
  const { page, problems } = await h.open('?scenario=slow&ab=mw-loadmonitor&embed=1', { width: 700, height: 520 });
  const compact = await page.evaluate(() => document.documentElement.classList.contains('embed'));
  assert.ok(compact, 'no embed class');
  assert.equal(await page.isVisible('#story'), false, 'the story should be hidden when embedded');
  for (const sel of ['#chart-conns', '#chart-conns-b', '.embed-title', '.embed-title a']) {
    assert.ok(await page.isVisible(sel), `${sel} is not visible`);
    const box = await page.locator(sel).first().boundingBox();
    assert.ok(box.y + box.height <= 520, `${sel} ends at ${box.y + box.height}px, below the 520px iframe`);
  }
  assert.match(await page.getAttribute('.embed-title a', 'href'), /scenario=slow/);
  await waitForStatus(page, { 'b.requests': { gt: 0 }, time_s: { gt: 1 } });
  assert.ok((await canvasColours(page, '#chart-conns-b')) > 5, 'run B is blank');
  const watch = await h.open('?scenario=slow&watch=1', { width: 700, height: 520 });
  assert.equal(await watch.page.isVisible('#play'), false, 'watch=1 shows controls');
  assert.ok(await watch.page.isVisible('#chart-conns'));
  assert.deepEqual([...problems, ...watch.problems], []);
  await watch.page.close();
  await page.close();
});

test('CSV export has the CLI columns and PNG export is a PNG', async () => {
  const { page, problems } = await h.open('?scenario=slow&speed=50&lesson=off');
  await waitForSimTime(page, 3);
  const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
  const text = await (await csv.createReadStream()).toArray().then((chunks) => Buffer.concat(chunks).toString('utf8'));
  const cliHeader = execFileSync(CLI, ['run', '--scenario', 'slow', '--duration', '1'], { encoding: 'utf8' }).split('\n')[0];
  assert.equal(text.split('\n')[0], cliHeader);
  assert.ok(text.split('\n').filter(Boolean).length > 2, 'no rows exported');
  const [png] = await Promise.all([page.waitForEvent('download'), page.click('#export-png')]);
  const bytes = await (await png.createReadStream()).toArray().then((chunks) => Buffer.concat(chunks));
  assert.deepEqual([...bytes.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  // It stands alone: a header with title and settings above the charts (each draws its own legend), so it is taller than the
  // charts it copies (PNG height is bytes 20-23 of the IHDR chunk).
  const pngHeight = bytes.readUInt32BE(20);
  const charts = await page.$$eval('canvas[id^="chart-"]', (cs) => cs.filter((c) => c.clientWidth > 0).reduce((a, c) => a + c.height, 0));
  assert.ok(pngHeight > charts, `PNG is ${pngHeight}px tall, the charts alone ${charts}px`);
  assert.deepEqual(problems, []);
  await page.close();
});

test('slider extremes and the keyboard never break the page', async () => {
  const { page, problems } = await h.open('?scenario=slow&controller=pid&speed=20&lesson=off');
  const ranges = await page.$$eval('input[type="range"]', (els) => els.map((_, i) => i));
  for (const i of ranges) {
    for (const end of ['min', 'max']) {
      await page.$$eval('input[type="range"]', (els, [k, e]) => {
        const el = els[k];
        if (!el) return;
        el.value = el[e];
        el.dispatchEvent(new Event('input', { bubbles: true }));
        el.dispatchEvent(new Event('change', { bubbles: true }));
      }, [i, end]);
    }
  }
  await page.focus('#play');
  const before = await page.getAttribute('#play', 'aria-pressed');
  await page.keyboard.press('Space');
  await page.waitForFunction((b) => document.getElementById('play').getAttribute('aria-pressed') !== b, before);
  await page.keyboard.press('Space');
  await waitForSimTime(page, await simTime(page));
  assert.deepEqual(problems, []);
  await page.close();
});

test('the phone layout does not scroll sideways', async () => {
  const { page, problems } = await h.open('?scenario=slow&lesson=off', { width: 390, height: 844 });
  await waitForSimTime(page, 1);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 391, `page is ${width}px wide at 390px`);
  assert.deepEqual(problems, []);
  await page.close();
});

test('the why-this-server panel explains a recent pick', async () => {
  const { page, problems } = await h.open('?scenario=slow&controller=p2c&speed=20&lesson=off');
  await waitForSimTime(page, 3);
  await page.waitForFunction(() => /db1\d\d\d/.test(document.getElementById('why')?.textContent ?? ''));
  // Held still until asked: the pick shown does not change by itself.
  const held = await page.textContent('#why');
  await waitForSimTime(page, (await simTime(page)) + 2);
  assert.equal(await page.textContent('#why'), held, 'the why panel changed by itself');
  await page.click('#why-next');
  assert.deepEqual(problems, []);
  await page.close();
});
