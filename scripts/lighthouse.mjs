// Lighthouse 12.2.3 (package.json) on the built app, served from dist/ WITH compression as a static host serves
// it (scripts/serve-dist.mjs --compress: the .br/.gz copies `make build-web` writes), in Debian's Chromium.
// Prints, for the mobile preset (Lighthouse's default: a throttled mid-range phone) and the desktop preset:
// performance, LCP, TBT, CLS, accessibility, best practices and SEO. A benchmark, not a test: the scores
// depend on the machine, so `make test` does not run it.
//
// Usage: make build-web && node scripts/lighthouse.mjs [--runs N] [--query '?scenario=slow'] [--json out.json]
//   --runs N   runs per preset (default 1); the median of each figure is printed
//   --query    the page's query string (default none: the default scenario)
//   --dir      the built app (default dist)
//   --only     mobile or desktop (default both)
//   --details  also the LCP element and the longest main-thread tasks (of the last run)

import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { serveDist } from './serve-dist.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const runs = Number(opt('--runs', '1'));
const query = opt('--query', '');
const jsonOut = opt('--json', null);
const dir = opt('--dir', 'dist');
const chrome = process.env.CHROME_PATH ?? '/usr/bin/chromium';

function lighthouse(url, preset) {
  const cli = new URL('../node_modules/lighthouse/cli/index.js', import.meta.url).pathname;
  const flags = [
    url,
    '--output=json',
    '--output-path=stdout',
    '--quiet',
    '--only-categories=performance,accessibility,best-practices,seo',
    '--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --disable-sync --no-first-run',
  ];
  if (preset === 'desktop') flags.push('--preset=desktop');
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [cli, ...flags], { env: { ...process.env, CHROME_PATH: chrome } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      if (code !== 0) return fail(new Error(`lighthouse exited with ${code}: ${err.slice(-2000)}`));
      try {
        ok(JSON.parse(out));
      } catch (e) {
        fail(new Error(`lighthouse printed no JSON: ${e.message}; ${err.slice(-2000)}`));
      }
    });
  });
}

function figures(report) {
  const score = (c) => Math.round((report.categories[c]?.score ?? NaN) * 100);
  const audit = (a) => report.audits[a]?.numericValue;
  return {
    performance: score('performance'),
    lcp_ms: Math.round(audit('largest-contentful-paint')),
    tbt_ms: Math.round(audit('total-blocking-time')),
    cls: Number(audit('cumulative-layout-shift').toFixed(3)),
    fcp_ms: Math.round(audit('first-contentful-paint')),
    accessibility: score('accessibility'),
    best_practices: score('best-practices'),
    seo: score('seo'),
  };
}

/** What to look at when a figure is off: the LCP element and the longest main-thread tasks. */
function details(report) {
  const find = (x) => (x && typeof x === 'object' ? (x.type === 'node' ? x : Object.values(x).map(find).find(Boolean)) : null);
  const lcp = find(report.audits['largest-contentful-paint-element']?.details);

  const tasks = (report.audits['long-tasks']?.details?.items ?? [])
    .slice(0, 5)
    .map((t) => `${Math.round(t.duration)} ms at ${Math.round(t.startTime)} ms (${String(t.url).split('/').pop() || '-'})`);
  // An element of boot.js's first screen is gone by the end of the run, so Lighthouse cannot name it.
  const gone = 'not in the final page (the first screen, since replaced by the app)';
  return { lcp: lcp ? `${lcp.selector ?? ''} "${String(lcp.snippet ?? '').slice(0, 80)}"` : gone, tasks };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
};

const { server, url } = await serveDist({ dir, prefix: '/', compress: true });
const results = {};
try {
  for (const preset of opt('--only', 'mobile,desktop').split(',')) {
    const all = [];
    let last = null;
    for (let i = 0; i < runs; i++) {
      last = await lighthouse(url + query, preset);
      all.push(figures(last));
    }
    const row = Object.fromEntries(Object.keys(all[0]).map((k) => [k, median(all.map((r) => r[k]))]));
    results[preset] = { runs: all, median: row };
    console.log(
      `${preset.padEnd(7)} performance ${row.performance}  LCP ${(row.lcp_ms / 1000).toFixed(1)} s  ` +
        `TBT ${row.tbt_ms} ms  CLS ${row.cls}  FCP ${(row.fcp_ms / 1000).toFixed(1)} s  ` +
        `accessibility ${row.accessibility}  best practices ${row.best_practices}  SEO ${row.seo}`,
    );
    if (args.includes('--details')) {
      const d = details(last);
      console.log(`        LCP element: ${d.lcp}\n        long tasks: ${d.tasks.join('; ') || 'none'}`);
    }
  }
} finally {
  server.close();
}
if (jsonOut) await writeFile(jsonOut, JSON.stringify({ url: url + query, chrome, results }, null, 2));
