// Takes screenshots of the built app at desktop and phone sizes after the simulation has run a few seconds.
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
try {
  const views = [
    { name: 'desktop-1280x800', width: 1280, height: 800, dpr: 1, query: '?scenario=slow&seed=1&speed=20' },
    { name: 'desktop-pid', width: 1280, height: 800, dpr: 1, query: '?scenario=slow&controller=pid&seed=1&speed=20' },
    { name: 'desktop-ab', width: 1280, height: 800, dpr: 1, query: '?scenario=connect-timeout&controller=static&ab=mw-loadmonitor&seed=3&speed=20' },
    { name: 'desktop-1280x800-hidpi', width: 1280, height: 800, dpr: 2, query: '?scenario=plain-s1&seed=7&speed=20' },
    { name: 'phone-390x844', width: 390, height: 844, dpr: 3, query: '?scenario=connect-timeout&seed=3&speed=20' },
    { name: 'phone-390x844-notice', width: 390, height: 844, dpr: 2, query: '?scenario=nope&seed=-1&speed=banana' },
    { name: 'embed-800x600', width: 800, height: 600, dpr: 1, query: '?scenario=slow&controller=p2c&embed=1&speed=20' },
    { name: 'desktop-mmc', width: 1280, height: 800, dpr: 1, query: '?scenario=mmc&seed=2&speed=5' },
  ];
  for (const v of views) {
    const page = await browser.newPage({ viewport: { width: v.width, height: v.height }, deviceScaleFactor: v.dpr });
    page.on('console', (m) => console.log(`[${v.name}] console.${m.type()}: ${m.text()}`));
    await page.goto(url + v.query);
    await page.waitForFunction(() => Number(document.querySelector('#chart-conns')?.dataset.simTime ?? 0) >= 40, null, { timeout: 20000 }).catch(() => {});
    await page.waitForTimeout(1500);
    const file = join(out, `${v.name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    await page.screenshot({ path: join(out, `${v.name}-top.png`) });
    // The first screen cuts off below the controls: also the charts, and the why panel.
    for (const [part, sel] of [['charts', '#status'], ['why', '.why']]) {
      await page.$eval(sel, (el) => el.scrollIntoView({ block: 'start' }));
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(out, `${v.name}-${part}.png`) });
    }
    console.log(`wrote ${file}`);
    await page.close();
  }
} finally {
  await browser.close();
  server.close();
}
