// Writes a brotli (.br) and a gzip (.gz) copy beside each compressible file of the built app (dist/), for static
// hosts that serve precompressed files (nginx gzip_static/brotli_static, S3+CloudFront with Content-Encoding set,
// scripts/serve-dist.mjs --compress). `make build-web` runs it after trunk. Node's zlib has both codecs, so it
// needs no dependency. A copy that would not be smaller than the file is not written (and a stale one is removed).
//
// As a command: node scripts/compress-dist.mjs [dir]   (default dist)

import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

/** Extensions worth compressing: text and wasm. Images such as PNG are compressed already. */
export const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.svg', '.wasm', '.json', '.txt', '.map']);

/** Both compressed forms of `body`: brotli at its best quality, gzip at level 9. */
export function compress(body, ext) {
  const br = brotliCompressSync(body, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_MODE]: ext === '.wasm' ? constants.BROTLI_MODE_GENERIC : constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
    },
  });
  const gz = gzipSync(body, { level: 9 });
  return { br, gz };
}

/** Compresses every compressible file under `dir` (not trunk's .stage folder); returns one row per file. */
export async function compressDir(dir) {
  const rows = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!entry.name.startsWith('.')) rows.push(...(await compressDir(path)));
      continue;
    }
    const ext = extname(entry.name);
    if (!entry.isFile() || !COMPRESSIBLE.has(ext)) continue;
    const body = await readFile(path);
    const { br, gz } = compress(body, ext);
    const row = { path, bytes: body.length };
    for (const [suffix, data] of [['.br', br], ['.gz', gz]]) {
      if (data.length < body.length) {
        await writeFile(path + suffix, data);
        row[suffix.slice(1)] = data.length;
      } else {
        await rm(path + suffix, { force: true });
      }
    }
    rows.push(row);
  }
  return rows;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? 'dist';
  if (!(await stat(dir).catch(() => null))?.isDirectory()) {
    console.error(`compress-dist: ${dir} is not a directory (run trunk build first)`);
    process.exit(2);
  }
  const rows = await compressDir(dir);
  const kib = (n) => (n === undefined ? '-' : `${(n / 1024).toFixed(1)} KiB`);
  for (const r of rows) console.log(`${r.path}: ${kib(r.bytes)}, br ${kib(r.br)}, gz ${kib(r.gz)}`);
}
