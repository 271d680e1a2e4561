// Takes screenshots of the built app at desktop and phone sizes: the first screen of every scenario, every lesson
// step of slow, connect-timeout and large-write, and the main free-play states (pid, A/B, embed, watch-only, mmc,
// a bad URL). SHOTS_ONLY=first stops after the first screens.
//
// node scripts/screenshots.mjs [OUT_DIR]   (default /tmp/shots; needs dist/ from `trunk build`)

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { serveDist } from './serve-dist.mjs';
import { launchBrowser } from '../tests/e2e/browser.mjs';

const out = process.argv[2] ?? '/tmp/shots';
mkdirSync(out, { recursive: true });
const { server, url } = await serveDist({ dir: 'dist', prefix: '/shots/sub/' });
const browser = await launchBrowser();
const SIZES = [['desktop', 1280, 800, 1], ['phone', 390, 844, 2]];

async function open(query, width, height, dpr, name) {
  const page = await browser.newPage({ viewport: { width, height }, deviceScaleFactor: dpr });
  page.on('console', (m) => console.log(`[${name}] console.${m.type()}: ${m.text()}`));
  await page.goto(url + query);
  await page.waitForSelector('html[data-loadlab="ready"]', { timeout: 30_000 });
  await page.waitForFunction(() => window.loadlab_status?.() != null, null, { timeout: 30_000 });
  return page;
}

const settled = () => !/Running to/.test(document.getElementById('lesson-numbers')?.textContent ?? '');

const only = process.env.SHOTS_ONLY; // "first" takes only the first screens below
try {
  // The first screen of every scenario at both sizes: title, story, picture and the lesson's first step.
  const scenarios = ['plain-s1', 'slow', 'connect-timeout', 'refuse', 'quiet', 'mmc', 'large-write', 'sahana-idle-drop',
    'koha-memcached-blackhole', 'percona-desync', 'galera-hyperconverged', 'galera-full-crash'];
  for (const scenario of scenarios) {
    for (const [size, width, height, dpr] of SIZES) {
      const page = await open(`?scenario=${scenario}&seed=1`, width, height, dpr, scenario);
      await page.waitForFunction(settled, null, { timeout: 60_000 }).catch(() => {});
      await page.waitForTimeout(900);
      const file = join(out, `first-${scenario}-${size}.png`);
      await page.screenshot({ path: file });
      console.log(`wrote ${file}`);
      await page.close();
    }
  }
  for (const [scenario, controller] of only === 'first' ? [] : [['slow', 'static'], ['connect-timeout', 'static'], ['large-write', 'mw-legacy']]) {
    for (const [size, width, height, dpr] of SIZES) {
      const page = await open(`?scenario=${scenario}&controller=${controller}&seed=1`, width, height, dpr, scenario);
      for (let step = 0; ; step++) {
        await page.waitForFunction(settled, null, { timeout: 60_000 });
        await page.waitForTimeout(700);
        const file = join(out, `lesson-${scenario}-${size}-step${step}.png`);
        await page.screenshot({ path: file });
        console.log(`wrote ${file}`);
        const last = await page.$eval('#lesson-next', (b) => b.textContent.includes('Free play')).catch(() => true);
        if (last) break;
        await page.click('#lesson-next');
        await page.waitForFunction((n) => window.loadlab_status().lesson_step === n, step + 1);
      }
      await page.close();
    }
  }
  const views = only === 'first' ? [] : [
    { name: 'desktop-pid', width: 1280, height: 800, dpr: 1, query: '?scenario=slow&controller=pid&seed=1&speed=20&lesson=off' },
    { name: 'desktop-ab', width: 1280, height: 800, dpr: 1, query: '?scenario=slow&controller=static&ab=mw-loadmonitor&seed=3&speed=50&lesson=off' },
    { name: 'phone-ab', width: 390, height: 844, dpr: 2, query: '?scenario=connect-timeout&controller=static&ab=mw-loadmonitor&seed=3&speed=20&lesson=off' },
    { name: 'embed-700x520', width: 700, height: 520, dpr: 1, query: '?scenario=slow&controller=static&ab=mw-loadmonitor&embed=1&speed=50' },
    { name: 'watch-700x520', width: 700, height: 520, dpr: 1, query: '?scenario=slow&watch=1&speed=50' },
    { name: 'desktop-mmc', width: 1280, height: 800, dpr: 1, query: '?scenario=mmc&seed=2&speed=5&lesson=off' },
    { name: 'phone-notice', width: 390, height: 844, dpr: 2, query: '?scenario=nope&seed=-1&speed=banana' },
  ];
  for (const v of views) {
    const page = await open(v.query, v.width, v.height, v.dpr, v.name);
    await page.waitForFunction(() => window.loadlab_status().time_s >= 40 || !window.loadlab_status().playing, null, { timeout: 30_000 }).catch(() => {});
    await page.waitForTimeout(1000);
    await page.screenshot({ path: join(out, `${v.name}-top.png`) });
    await page.screenshot({ path: join(out, `${v.name}-full.png`), fullPage: true });
    console.log(`wrote ${join(out, `${v.name}-top.png`)}`);
    await page.close();
  }
} finally {
  await browser.close();
  server.close();
}
