// The runs in Web Workers (src/web/workers.rs, static/worker.js) and the main-thread path the page falls back to
// where there are none: both reproduce the native trace hashes, for A and B; a live command recorded in the link
// replays event for event in the other mode and natively; a lesson's Next lands at the same moment with the same
// numbers in both.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { start, CLI, status, waitForStatus, waitForSimTime } from './harness.mjs';

let h;
before(async () => { h = await start(); });
after(async () => { await h?.stop(); });

/** An init script: the page then finds no Web Workers, as in a browser without them. */
const withoutWorkers = () => { delete window.Worker; };

/** The native trace hash of the page's run (the page's chart step is 0.5 s). */
function nativeHash(scenario, controller, seconds, seed, sets = []) {
  const args = ['run', '--scenario', scenario, '--controller', controller, '--duration', String(seconds), '--seed', String(seed),
    '--time-step', '0.5', ...sets.flatMap((s) => ['--set', s]), '--format', 'json'];
  return JSON.parse(execFileSync(CLI, args, { encoding: 'utf8' })).summary.trace_hash;
}

for (const [mode, init] of [['in Web Workers', undefined], ['on the main thread (no Worker)', withoutWorkers]]) {
  test(`${mode}, runs A and B reproduce the native trace hashes`, async () => {
    for (const [scenario, a, b, seconds, seed] of [['plain-s1', 'static', 'p2c', 5, 7], ['slow', 'static', 'mw-loadmonitor', 40, 3]]) {
      const { page, problems } = await h.open(`?scenario=${scenario}&controller=${a}&ab=${b}&seed=${seed}&length=${seconds}&lesson=off&speed=100`, undefined, init);
      await waitForStatus(page, { ended: true }, 60_000);
      const s = await status(page);
      assert.equal(s.workers, init === undefined, `${scenario}: where the runs ran`);
      assert.equal(s.time_s, seconds);
      assert.equal(s.trace_hash, nativeHash(scenario, a, seconds, seed), `${scenario}: run A`);
      assert.equal(s.b.trace_hash, nativeHash(scenario, b, seconds, seed), `${scenario}: run B`);
      assert.deepEqual(problems, []);
      await page.close();
    }
  });
}

test('a live command in a worker lands in the link at a moment that replays event for event, on the main thread and natively', async () => {
  const seconds = 12;
  const { page, problems } = await h.open(`?scenario=plain-s1&seed=5&length=${seconds}&lesson=off&speed=4`);
  assert.equal((await status(page)).workers, true);
  await waitForSimTime(page, 2);
  await page.click('[data-server="db1119"] button[data-fault="crash"]');
  await page.waitForFunction(() => new URLSearchParams(location.search).getAll('fault').some((f) => f.startsWith('crash:db1119@')));
  await waitForStatus(page, { ended: true }, 60_000);
  const live = await status(page);
  const query = new URL(page.url()).search;
  const fault = new URLSearchParams(query).getAll('fault').find((f) => f.startsWith('crash:db1119@'));
  await page.close();
  const { page: replay, problems: p2 } = await h.open(query.replace(/speed=[^&]*/, 'speed=100'), undefined, withoutWorkers);
  await waitForStatus(replay, { ended: true }, 60_000);
  const replayed = await status(replay);
  assert.equal(replayed.workers, false);
  assert.equal(replayed.trace_hash, live.trace_hash, `the link (${fault}) replays the live run`);
  assert.equal(live.trace_hash, nativeHash('plain-s1', 'static', seconds, 5, [`fault=${fault}`]), 'and so does the command line');
  assert.ok(live.failed > 0 || live.rejected > 0 || live.requests > 0);
  assert.deepEqual([...problems, ...p2], []);
  await replay.close();
});

test('a lesson\'s Next lands at the same moment with the same numbers in a worker and on the main thread', async () => {
  const seen = [];
  for (const init of [undefined, withoutWorkers]) {
    const { page, problems } = await h.open('?scenario=slow&controller=static&ab=mw-loadmonitor', undefined, init);
    await page.click('#lesson-next');
    await waitForStatus(page, { lesson_step: 1 });
    await page.waitForFunction(() => !/Running to/.test(document.getElementById('lesson-numbers')?.textContent ?? ''), null, { timeout: 30_000 });
    const s = await status(page);
    assert.equal(s.workers, init === undefined);
    assert.equal(s.playing, false, 'the lesson holds at its moment');
    seen.push({ time_s: s.time_s, numbers: await page.textContent('#lesson-numbers'), a: s.trace_hash, b: s.b.trace_hash, requests: s.requests });
    assert.deepEqual(problems, []);
    await page.close();
  }
  assert.ok(seen[0].time_s > 0);
  assert.deepEqual(seen[0], seen[1]);
});

test('a worker that cannot start hands the run to the main thread, which runs it from the start', async () => {
  // boot.js names the worker's script in window.loadlab_worker; here it names one that is not there.
  const missing = () => {
    const url = new URL('no-such-worker.js', document.baseURI).href;
    Object.defineProperty(window, 'loadlab_worker', { get: () => url, set: () => {}, configurable: false });
  };
  const { page, problems } = await h.open('?scenario=plain-s1&seed=7&length=5&lesson=off&speed=20', undefined, missing);
  await waitForStatus(page, { ended: true }, 60_000);
  const s = await status(page);
  assert.equal(s.workers, false);
  assert.equal(s.trace_hash, nativeHash('plain-s1', 'static', 5, 7));
  // The browser reports the missing script itself; nothing else may go wrong.
  assert.deepEqual(problems.filter((p) => !/404|Failed to load resource/.test(p)), []);
  await page.close();
});

/** Clicks db1119's crash button and, in the same task (so run A's worker cannot answer in between), `then`. */
async function crashThen(page, then) {
  await page.evaluate((next) => {
    document.querySelector('[data-server="db1119"] button[data-fault="crash"]').click();
    if (next === 'restart') document.getElementById('restart').click();
    else {
      const select = document.getElementById('scenario');
      select.value = next;
      select.dispatchEvent(new Event('change', { bubbles: true }));
    }
  }, then);
}

/** The link's recorded crash of db1119, if it has one (`crash:db1119@2.000001`). */
const recordedCrash = (page) => new URLSearchParams(new URL(page.url()).search).getAll('fault').find((f) => f.startsWith('crash:db1119@'));

test('a live command clicked just before a restart, before run A\'s worker answers, is applied in the new run and recorded in the link', async () => {
  const seconds = 12;
  const { page, problems } = await h.open(`?scenario=plain-s1&seed=5&length=${seconds}&lesson=off&speed=4`);
  assert.equal((await status(page)).workers, true);
  await waitForSimTime(page, 2);
  const build = (await status(page)).build;
  await crashThen(page, 'restart');
  await page.waitForFunction(() => new URLSearchParams(location.search).getAll('fault').some((f) => f.startsWith('crash:db1119@')), null, { timeout: 15_000 });
  await waitForStatus(page, { ended: true }, 60_000);
  const s = await status(page);
  assert.ok(s.build > build, 'the run started again');
  assert.equal(s.workers, true);
  const fault = recordedCrash(page);
  assert.ok(Number(fault.split('@')[1]) >= 2, `the command keeps the moment it was clicked at (${fault})`);
  assert.equal(s.trace_hash, nativeHash('plain-s1', 'static', seconds, 5, [`fault=${fault}`]), 'the new run replays the link event for event');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a live command clicked just before another scenario starts is refused with a reason the reader sees', async () => {
  const { page, problems } = await h.open('?scenario=plain-s1&seed=5&lesson=off&speed=4');
  await waitForSimTime(page, 1);
  await crashThen(page, 'slow');
  await page.waitForSelector('.notice', { timeout: 15_000 });
  assert.match(await page.textContent('.notice'), /crash:db1119 was not applied: a new run started before it took effect/);
  assert.equal(new URL(page.url()).searchParams.get('scenario'), 'slow');
  assert.equal(recordedCrash(page), undefined, 'nothing was recorded');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a worker that fails mid-run hands the run to the main thread, which replays the link with the commands recorded since and goes on from where it was', async () => {
  // Keeps the page's workers where the test can reach them.
  const capture = () => {
    const Native = window.Worker;
    window.loadlab_test_workers = [];
    window.Worker = class extends Native {
      constructor(...args) {
        super(...args);
        window.loadlab_test_workers.push(this);
      }
    };
  };
  const seconds = 12;
  const { page, problems } = await h.open(`?scenario=plain-s1&seed=5&length=${seconds}&lesson=off&speed=2`, undefined, capture);
  assert.equal((await status(page)).workers, true);
  await waitForSimTime(page, 2);
  await page.click('[data-server="db1119"] button[data-fault="crash"]');
  await page.waitForFunction(() => new URLSearchParams(location.search).getAll('fault').some((f) => f.startsWith('crash:db1119@')));
  await waitForSimTime(page, 4);
  const reached = (await status(page)).time_s;
  await page.evaluate(() => window.loadlab_test_workers[0].dispatchEvent(new ErrorEvent('error', { message: 'stopped on purpose' })));
  await waitForStatus(page, { workers: false });
  // The main thread replays to where the worker had got, then goes on: the clock is not back near zero for long.
  await waitForStatus(page, { time_s: { gt: reached } }, 10_000);
  await waitForStatus(page, { ended: true }, 60_000);
  const s = await status(page);
  assert.equal(s.trace_hash, nativeHash('plain-s1', 'static', seconds, 5, [`fault=${recordedCrash(page)}`]), 'the recorded crash is in the replayed run');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a run in a worker that cannot keep up with the speed asked says so in the status line, steadily', async () => {
  // Five times the production traffic: natively about 140 simulated seconds a wall second on this 2-core machine,
  // so 1000× stays out of reach on a machine several times faster.
  const { page, problems } = await h.open('?scenario=slow&controller=static&lesson=off&length=3600&speed=1000&seed=1&rate_scale=5');
  assert.equal((await status(page)).workers, true);
  await waitForStatus(page, { behind: true }, 20_000);
  const text = await page.textContent('#status');
  assert.match(text, /running at \d+× of the 1000× asked \(this device cannot keep up\)/);
  // Once it says so, it keeps saying so while the run stays behind (no flicker between snapshots).
  for (let i = 0; i < 8; i++) {
    await page.waitForTimeout(250);
    assert.match(await page.textContent('#status'), /of the 1000× asked/);
  }
  assert.deepEqual(problems, []);
  await page.close();
});
