// The page's speed benchmark (not a test): the initial load size, and for a run at a speed in headless Chromium on
// this machine the speed achieved and the frame times. README records its figures.
//
//   node scripts/bench-page.mjs [--seconds 15] [--speed 100] [--scenario plain-s1] [--ab CONTROLLER] [--dist dist]
//   node scripts/bench-page.mjs --figures [--seconds 10] [--dist dist]
//
// --figures measures issue 22's page figures one after the other: `slow` with A/B (mw-loadmonitor) at 100x, `slow`
// at 1000x, and `plain-s1` at 100x, and prints them as a table. Needs dist/ (make build-web); --dist measures
// another build (the same page before a change, say).
//
// Speed achieved is the rate of the simulated time the page's status reports against the wall clock: the slope
// over every frame's reading in the window (the first-to-last figure is printed beside it, and the page's own
// `achieved_speed`: it is smoothed, and in A/B it follows the slower run). Frame time is the interval between
// animation frames (60 fps is 16.7 ms), and the time the page spends in its requestAnimationFrame callback, read
// from `window.loadlab_frame_stats()`.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';
import { serveDist } from './serve-dist.mjs';
import { launchBrowser } from '../tests/e2e/browser.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
// The simulated clock's rate against the wall clock over the window: the least-squares slope of every frame's
// reading. A run's clock reaches the page in reports (a worker sends one at most every 100 ms), so one reading
// can be up to a report old; the first and last readings alone move the figure by up to ±1% at 100x over 10 s.
function slope(points) {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) * (x - mx);
  }
  return sxx > 0 ? sxy / sxx : NaN;
}

const figures = args.includes('--figures');
const seconds = Number(opt('--seconds', figures ? '10' : '15'));
const speed = Number(opt('--speed', '100'));
const scenario = opt('--scenario', 'plain-s1');
const ab = opt('--ab', '');
const dist = opt('--dist', 'dist');
if (!(seconds > 0 && seconds <= 600) || !(speed > 0 && speed <= 1000)) {
  console.error('bench-page: --seconds must be in (0, 600] and --speed in (0, 1000]');
  process.exit(2);
}

// 1. What a first visit downloads before the app runs: the wasm and the JS, compressed as a static host would.
let raw = 0, gzip = 0, brotli = 0;
for (const f of readdirSync(dist).filter((f) => f.endsWith('.wasm') || f.endsWith('.js'))) {
  const bytes = readFileSync(join(dist, f));
  raw += bytes.length;
  gzip += gzipSync(bytes, { level: 9 }).length;
  brotli += brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
}
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(`initial load (wasm + js): ${kb(raw)} raw, ${kb(gzip)} gzip -9, ${kb(brotli)} brotli -11`);
console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(', ')}`);

/** Runs `scenario` (A/B with `ab` if given) at `speed` for `seconds` and returns what was measured. */
async function measure(browser, url, { scenario, speed, ab }) {
  const page = await browser.newPage();
  try {
    // lesson=off: free play, so the page runs at once (a scenario with a lesson opens paused). length: a run stops
    // at its length, so the bench asks for one long enough that the page never reaches it while measured.
    const length = Math.min(1_000_000, Math.max(3_600, Math.ceil(speed * (seconds + 5) * 2)));
    await page.goto(`${url}?scenario=${scenario}&speed=${speed}&lesson=off&length=${length}${ab ? `&ab=${ab}` : ''}`);
    await page.waitForSelector('html[data-loadlab="ready"]', { timeout: 30_000 });
    // Let the page warm up, then sample animation-frame intervals and the simulated clock over the window.
    await page.waitForTimeout(2000);
    const sampled = await page.evaluate((ms) => new Promise((done) => {
      const out = [];
      const clock = [];
      const t0 = performance.now();
      const sim0 = window.loadlab_status()?.time_s ?? 0;
      let last = t0;
      const tick = (t) => {
        out.push(t - last);
        last = t;
        clock.push([(t - t0) / 1000, window.loadlab_status()?.time_s ?? 0]);
        if (t < t0 + ms) requestAnimationFrame(tick);
        else done({ intervals: out, clock, wall_s: (performance.now() - t0) / 1000, sim_s: (window.loadlab_status()?.time_s ?? 0) - sim0 });
      };
      requestAnimationFrame(tick);
    }), seconds * 1000);
    const own = await page.evaluate(() => (typeof window.loadlab_frame_stats === 'function' ? window.loadlab_frame_stats() : null));
    const live = await page.evaluate(() => window.loadlab_status());
    const status = (await page.textContent('#status').catch(() => ''))?.trim();
    const sorted = sampled.intervals.slice(1).sort((a, b) => a - b);
    const q = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
    const stats = own ? (typeof own === 'string' ? JSON.parse(own) : own) : null;
    return {
      frames: sorted.length,
      median: q(0.5),
      p95: q(0.95),
      achieved: slope(sampled.clock),
      endToEnd: sampled.sim_s / sampled.wall_s,
      smoothed: live?.achieved_speed ?? NaN,
      workers: live?.workers === true,
      stats,
      status,
    };
  } finally {
    await page.close();
  }
}

function report(config, m) {
  const name = `${config.scenario}${config.ab ? ` A/B ${config.ab}` : ''} at ${config.speed}x`;
  console.log(`${name} for ${seconds} s (${m.workers ? 'runs in Web Workers' : 'runs on the main thread'}): achieved ${m.achieved.toFixed(1)}x (first to last reading ${m.endToEnd.toFixed(1)}x; page's smoothed figure ${m.smoothed.toFixed(1)}x)`);
  console.log(`  ${m.frames} frames, interval median ${m.median.toFixed(2)} ms, p95 ${m.p95.toFixed(2)} ms`);
  if (m.stats) {
    const s = m.stats;
    console.log(`  in the rAF callback: median ${Number(s.median_ms).toFixed(2)} ms, p95 ${Number(s.p95_ms).toFixed(2)} ms over ${s.count} frames`);
    if (s.sim_mean_ms !== undefined) {
      console.log(`  of which (means): simulation ${s.sim_mean_ms.toFixed(2)} ms, chart drawing ${s.draw_mean_ms.toFixed(2)} ms, snapshot ${s.snapshot_mean_ms.toFixed(2)} ms`);
    }
  }
  console.log(`  page status: ${m.status}`);
}

const configs = figures
  ? [
      { scenario: 'slow', speed: 100, ab: 'mw-loadmonitor' },
      { scenario: 'slow', speed: 1000, ab: '' },
      { scenario: 'plain-s1', speed: 100, ab: '' },
    ]
  : [{ scenario, speed, ab }];

const served = await serveDist({ dir: dist, prefix: '/bench/' });
const browser = await launchBrowser();
try {
  const results = [];
  for (const config of configs) {
    const m = await measure(browser, served.url, config);
    report(config, m);
    results.push([config, m]);
  }
  if (figures) {
    console.log('\n| page figure | achieved | frame interval median / p95 |');
    console.log('| --- | --- | --- |');
    for (const [c, m] of results) {
      console.log(`| ${c.scenario}${c.ab ? ` A/B ${c.ab}` : ''} at ${c.speed}x | ${m.achieved.toFixed(1)}x | ${m.median.toFixed(1)} / ${m.p95.toFixed(1)} ms |`);
    }
  }
  console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(', ')}`);
} finally {
  await browser.close();
  served.server.close();
}
