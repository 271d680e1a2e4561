// The page's speed benchmark (not a test): the initial load size and the frame times of plain-s1 at 100x real
// time in headless Chromium on this machine. README records its figures.
//
//   node scripts/bench-page.mjs [--seconds 15] [--speed 100] [--scenario plain-s1] [--ab CONTROLLER]   (needs dist/: make build-web)
//
// Frame time is the time the page spends in its requestAnimationFrame callback (simulation slice + chart
// redraw), read from the app's own `window.loadlab_frame_stats()`; when the page does not expose it, the
// benchmark reports the intervals between animation frames instead, which include that work.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';
import { serveDist } from './serve-dist.mjs';
import { launchBrowser } from '../tests/e2e/browser.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const seconds = Number(opt('--seconds', '15'));
const speed = Number(opt('--speed', '100'));
const scenario = opt('--scenario', 'plain-s1');
const ab = opt('--ab', '');
if (!(seconds > 0 && seconds <= 600) || !(speed > 0 && speed <= 1000)) {
  console.error('bench-page: --seconds must be in (0, 600] and --speed in (0, 1000]');
  process.exit(2);
}

// 1. What a first visit downloads before the app runs: the wasm and the JS, compressed as a static host would.
let raw = 0, gzip = 0, brotli = 0;
for (const f of readdirSync('dist').filter((f) => f.endsWith('.wasm') || f.endsWith('.js'))) {
  const bytes = readFileSync(join('dist', f));
  raw += bytes.length;
  gzip += gzipSync(bytes, { level: 9 }).length;
  brotli += brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
}
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(`initial load (wasm + js): ${kb(raw)} raw, ${kb(gzip)} gzip -9, ${kb(brotli)} brotli -11`);

// 2. Frame times while the simulation runs at `speed` x real time.
const served = await serveDist({ dir: 'dist', prefix: '/bench/' });
const browser = await launchBrowser();
try {
  const page = await browser.newPage();
  // lesson=off: free play, so the page runs at once (a scenario with a lesson opens paused). length: a run stops
  // at its length, so the bench asks for one long enough that the page never reaches it while measured.
  const length = Math.min(1_000_000, Math.max(3_600, Math.ceil(speed * seconds * 2)));
  await page.goto(`${served.url}?scenario=${scenario}&speed=${speed}&lesson=off&length=${length}${ab ? `&ab=${ab}` : ''}`);
  await page.waitForSelector('html[data-loadlab="ready"]', { timeout: 30_000 });
  // Let the page warm up, then sample animation-frame intervals alongside the app's own stats.
  await page.waitForTimeout(2000);
  const intervals = await page.evaluate((ms) => new Promise((done) => {
    const out = [];
    let last = performance.now();
    const end = last + ms;
    const tick = (t) => {
      out.push(t - last);
      last = t;
      if (t < end) requestAnimationFrame(tick); else done(out);
    };
    requestAnimationFrame(tick);
  }), seconds * 1000);
  const own = await page.evaluate(() => (typeof window.loadlab_frame_stats === 'function' ? window.loadlab_frame_stats() : null));
  const status = await page.textContent('#status').catch(() => '');
  const sorted = intervals.slice(1).sort((a, b) => a - b);
  const q = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  console.log(`${scenario} at ${speed}x for ${seconds} s: ${sorted.length} frames, interval median ${q(0.5).toFixed(2)} ms, p95 ${q(0.95).toFixed(2)} ms`);
  if (own) {
    const stats = typeof own === 'string' ? JSON.parse(own) : own;
    console.log(`frame time in the page's rAF callback: median ${Number(stats.median_ms).toFixed(2)} ms, p95 ${Number(stats.p95_ms).toFixed(2)} ms over ${stats.count} frames`);
    if (stats.sim_mean_ms !== undefined) {
      console.log(`  of which (means): simulation ${stats.sim_mean_ms.toFixed(2)} ms, chart drawing ${stats.draw_mean_ms.toFixed(2)} ms, snapshot ${stats.snapshot_mean_ms.toFixed(2)} ms (the snapshot's re-render runs after the callback)`);
    }
  } else {
    console.log('the page does not expose loadlab_frame_stats(); the intervals above include its work');
  }
  console.log(`page status: ${status?.trim()}`);
  const live = await page.evaluate(() => (typeof window.loadlab_status === 'function' ? window.loadlab_status() : null));
  if (live) console.log(`loadlab_status: t = ${live.time_s.toFixed(1)} s, asked ${live.speed}x, achieved ${live.achieved_speed.toFixed(1)}x`);
} finally {
  await browser.close();
  served.server.close();
}
