// Where a simulation worker's time goes (not a test): drives the worker's own entry points (`worker_handle`,
// `worker_go_on`, src/web/protocol.rs) on a paused page's copy of the wasm in headless Chromium, as static/worker.js
// does, and sets the time they take beside the simulation alone and the JSON they produce.
//
//   node scripts/bench-worker.mjs [--scenario slow] [--controller static] [--seconds 120] [--repeats 3] [--dist dist]
//
// Three runs of the same scenario, seed and length, best of --repeats each:
//   simulation   `window.loadlab_trace_hash`: the run and its trace hash, no rows sent anywhere (at the scenario's
//                own metrics step, and with what the command line's summary adds, so only a rough reference);
//   worker       a build and an advance to the end through the worker's protocol at the page's 0.5 s step: every
//                row, its weights and terms, and the read-outs, as JSON text, sliced as a worker slices;
//   no rows      the same with a metrics step as long as the run (one row), so what remains beside "simulation"
//                is the slicing and the read-outs;
// and what one answer costs that simulates nothing (the page sends a new target each frame, and each answer carries
// the read-outs).

import { loadavg } from 'node:os';
import { serveDist } from './serve-dist.mjs';
import { launchBrowser } from '../tests/e2e/browser.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const scenario = opt('--scenario', 'slow');
const controller = opt('--controller', 'static');
const seconds = Number(opt('--seconds', '120'));
const repeats = Number(opt('--repeats', '3'));
const dist = opt('--dist', 'dist');
if (!(seconds > 0 && seconds <= 3600) || !(repeats >= 1 && repeats <= 20)) {
  console.error('bench-worker: --seconds must be in (0, 3600] and --repeats in [1, 20]');
  process.exit(2);
}

console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(', ')}`);
const served = await serveDist({ dir: dist, prefix: '/bench/' });
const browser = await launchBrowser();
try {
  const page = await browser.newPage();
  // Reduced motion: the page's own run starts paused, so it takes no CPU from the measurement.
  await page.emulateMedia({ reducedMotion: 'reduce' });
  await page.goto(`${served.url}?scenario=${scenario}&lesson=off`);
  await page.waitForSelector('html[data-loadlab="ready"]', { timeout: 30_000 });
  const result = await page.evaluate(async ({ scenario, controller, seconds, repeats }) => {
    const js = new URL(window.loadlab_worker).searchParams.get('js');
    const b = await import(js);
    const worker = (step) => {
      const t0 = performance.now();
      let bytes = 0, replies = 0, rows = 0, goOnMs = 0;
      const send = (request) => {
        const text = b.worker_handle(JSON.stringify(request));
        bytes += text.length;
        replies += 1;
        const reply = JSON.parse(text);
        if (reply.error) throw new Error(reply.error);
        rows += reply.rows.length;
      };
      const run = { controller, sets: [], seed: 1, duration_s: seconds, time_step_s: step, file: null };
      send({ Build: { build: 1, spec: { scenario, run }, trace_every: 400 } });
      send({ Advance: { build: 1, target: Math.round(seconds * 1e6), watched: 0 } });
      while (b.worker_busy()) {
        const g0 = performance.now();
        const text = b.worker_go_on();
        goOnMs += performance.now() - g0;
        bytes += text.length;
        replies += 1;
        rows += JSON.parse(text).rows.length;
      }
      return { ms: performance.now() - t0, bytes, replies, rows, goOnMs };
    };
    const best = (f) => {
      let out = null;
      for (let i = 0; i < repeats; i++) {
        const r = f();
        if (!out || r.ms < out.ms) out = r;
      }
      return out;
    };
    const sim = best(() => {
      const t0 = performance.now();
      window.loadlab_trace_hash(scenario, controller, seconds, 1);
      return { ms: performance.now() - t0 };
    });
    const rows = best(() => worker(0.5));
    const none = best(() => worker(seconds));
    // An answer to an advance to where the run already is: no simulation, only the reply and its read-outs (the
    // summary, the commands applied, the states, the traced pick), as the page gets one for each target it sends.
    const n = 200;
    const t0 = performance.now();
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      bytes += b.worker_handle(JSON.stringify({ Advance: { build: 1, target: Math.round(seconds * 1e6), watched: 0 } })).length;
    }
    const answer = { ms: (performance.now() - t0) / n, bytes: bytes / n };
    return { sim, rows, none, answer };
  }, { scenario, controller, seconds, repeats });
  const line = (name, r) => {
    const extra = r.bytes === undefined ? '' : `; ${r.replies} replies, ${r.rows} rows, ${(r.bytes / 1e6).toFixed(2)} MB of JSON (${(r.bytes / r.ms / 1e3).toFixed(2)} MB per wall second)`;
    console.log(`${name.padEnd(12)} ${r.ms.toFixed(0).padStart(6)} ms: ${(seconds * 1000 / r.ms).toFixed(0)}x${extra}`);
  };
  console.log(`${scenario} (${controller}), ${seconds} s simulated, seed 1, best of ${repeats}, on the page's main thread:`);
  line('simulation', result.sim);
  line('worker', result.rows);
  line('no rows', result.none);
  console.log(`one answer with read-outs and no simulation: ${result.answer.ms.toFixed(3)} ms, ${(result.answer.bytes / 1e3).toFixed(1)} kB of JSON`);
  console.log(`the worker's time beside the simulation alone: ${(100 * (result.rows.ms / result.sim.ms - 1)).toFixed(1)}% (rows: ${(100 * (result.rows.ms - result.none.ms) / result.sim.ms).toFixed(1)}%)`);
  console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(', ')}`);
  await page.close();
} finally {
  await browser.close();
  served.server.close();
}
