// End-to-end tests of scenario files in the page (issue 25): Save scenario downloads the file the command line
// writes for the same run (clicked steps included) and the command line runs it; Open scenario (the file picker
// or a drop) runs a file of any model; a bad file is one notice naming its line, and changes nothing.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start, CLI, status, waitForStatus } from './harness.mjs';

let h;
before(async () => { h = await start(); });
after(async () => { await h?.stop(); });

const dir = mkdtempSync(join(tmpdir(), 'loadlab-files-'));
const cli = (args) => execFileSync(CLI, args, { encoding: 'utf8' });

test('Save scenario downloads the file the command line writes for the same run, clicked steps included', async () => {
  const { page, problems } = await h.open('?scenario=sahana-idle-drop&lesson=off&keepalive_idle_s=600&speed=50');
  await waitForStatus(page, { time_s: { gt: 5 } });
  // A command clicked now becomes a step of the run (and so of the file).
  await page.click('#play');
  await waitForStatus(page, { playing: false });
  const command = page.locator('.global-commands button, .server .buttons button').first();
  const clicked = (await command.count()) > 0;
  if (clicked) {
    await command.click();
    // Run A's worker says whether the run takes it; the link records it once it has (a few ms later).
    await page.waitForFunction(() => new URLSearchParams(location.search).has('operator'), null, { timeout: 10_000 }).catch(() => {});
  }
  const query = new URL(page.url()).searchParams;
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save-scenario')]);
  assert.match(download.suggestedFilename(), /^loadlab-sahana-idle-drop-seed1\.toml$/);
  const path = join(dir, 'saved.toml');
  await download.saveAs(path);
  const text = readFileSync(path, 'utf8');
  assert.match(text, /^keepalive_idle_s = 600$/m);
  // The command line, asked for the same run (the page's keys and steps, its length and its 0.5 s step),
  // writes the same file byte for byte.
  const duration = /^duration_s = (.+)$/m.exec(text)[1];
  const sets = [...query.entries()]
    .filter(([k]) => !['scenario', 'controller', 'seed', 'speed', 'lesson', 'at', 'length'].includes(k))
    .flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  if (clicked) assert.ok(sets.some((s) => s.startsWith('operator=')), `the clicked step is in the link: ${sets}`);
  const expected = cli(['export-scenario', '--scenario', 'sahana-idle-drop', ...sets,
    '--duration', duration, '--time-step', '0.5']);
  assert.equal(text, expected);
  // And runs it.
  const csv = cli(['run', '--scenario-file', path, '--duration', '60']);
  assert.ok(csv.split('\n').length > 5, 'the saved file runs');
  assert.deepEqual(problems, []);
  await page.close();
});

test('Open scenario runs a file of any model, from the picker or dropped, and the link replays it', async () => {
  const { page, problems } = await h.open('?scenario=slow&lesson=off&speed=20');
  await waitForStatus(page, { time_s: { gt: 1 } });
  // A Galera file edited in a text editor: a slower applier.
  const percona = cli(['export-scenario', '--scenario', 'percona-desync']).replace(/^apply_rate = .*$/m, 'apply_rate = 6500');
  await page.setInputFiles('#open-scenario', { name: 'ours.toml', mimeType: 'text/plain', buffer: Buffer.from(percona) });
  await page.waitForFunction(() => new URL(location.href).searchParams.get('scenario') === 'percona-desync');
  const q = new URL(page.url()).searchParams;
  assert.equal(q.get('apply_rate'), '6500');
  assert.equal(q.get('fc_limit'), null, 'only what differs from the scenario goes in the link');
  assert.match(await page.textContent('.notice'), /Opened 'ours\.toml'/);
  await waitForStatus(page, { time_s: { gt: 1 } });
  // A section file of "our" cluster, with its servers renamed, dropped on the box: the link carries the file.
  const own = cli(['export-scenario', '--scenario', 'refuse', '--controller', 'least-conn'])
    .replaceAll('db1119', 'ourdb-7');
  await page.evaluate((text) => {
    const data = new DataTransfer();
    data.items.add(new File([text], 'cluster.toml', { type: 'text/plain' }));
    const box = document.getElementById('scenario-files');
    box.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }));
    box.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
  }, own);
  await page.waitForFunction(() => new URL(location.href).searchParams.get('scenario') === 'refuse');
  const link = new URL(page.url());
  assert.equal(link.searchParams.get('file'), own);
  assert.equal(link.searchParams.get('controller'), 'least-conn');
  await waitForStatus(page, { time_s: { gt: 2 } });
  assert.ok((await page.textContent('body')).includes('ourdb-7'), 'the page draws the file\'s servers');
  // The link alone replays the file's cluster.
  const again = await h.open(link.search);
  await waitForStatus(again.page, { time_s: { gt: 1 } });
  assert.ok((await again.page.textContent('body')).includes('ourdb-7'));
  assert.deepEqual([...problems, ...again.problems], []);
  await again.page.close();
  await page.close();
});

test('a bad scenario file is one notice naming its line, and the run goes on unchanged', async () => {
  const { page, problems } = await h.open('?scenario=koha-memcached-blackhole&lesson=off&speed=20');
  await waitForStatus(page, { time_s: { gt: 1 } });
  const before = page.url();
  const good = cli(['export-scenario', '--scenario', 'koha-memcached-blackhole']);
  const line = good.split('\n').findIndex((l) => l.startsWith('workers =')) + 1;
  const bad = good.replace(/^workers = .*$/m, 'workers = 0');
  const path = join(dir, 'bad.toml');
  writeFileSync(path, bad);
  await page.setInputFiles('#open-scenario', path);
  await page.waitForSelector('.notice');
  const notice = await page.textContent('.notice');
  assert.match(notice, new RegExp(`bad\\.toml:${line}:`), notice);
  assert.match(notice, /workers/);
  assert.equal(page.url(), before, 'nothing changed');
  const t = (await status(page)).time_s;
  await waitForStatus(page, { time_s: { gt: t + 0.5 } });
  assert.deepEqual(problems, []);
  await page.close();
});
