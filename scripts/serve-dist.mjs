// A tiny static file server for the built app (dist/), for the end-to-end tests and screenshots.
//
// It serves one directory under one URL prefix (a sub-path such as /some/sub/path/ proves the app uses only
// relative URLs), on 127.0.0.1 only, and answers 404 for anything outside the prefix. It logs nothing and
// needs no dependency.
//
// As a command: node scripts/serve-dist.mjs [--dir dist] [--prefix /] [--port 8080]

import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/** Normalises a prefix to start and end with a slash. */
function normalisePrefix(prefix) {
  let p = prefix.startsWith('/') ? prefix : `/${prefix}`;
  if (!p.endsWith('/')) p += '/';
  return p;
}

/**
 * Starts serving `dir` at `http://127.0.0.1:<port><prefix>`. Port 0 picks a free one.
 * Resolves to { server, url, requests } where `requests` lists every path asked for, in order.
 */
export async function serveDist({ dir = 'dist', prefix = '/', port = 0 } = {}) {
  const root = resolve(dir);
  const base = normalisePrefix(prefix);
  const requests = [];
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://127.0.0.1').pathname);
    requests.push(path);
    const send = (status, body, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    if (`${path}/` === base) {
      res.writeHead(301, { location: base });
      return res.end();
    }
    if (!path.startsWith(base)) return send(404, 'not found\n');
    let rel = path.slice(base.length);
    if (rel === '' || rel.endsWith('/')) rel += 'index.html';
    const file = normalize(join(root, rel));
    if (file !== root && !file.startsWith(root + sep)) return send(404, 'not found\n');
    try {
      if (!(await stat(file)).isFile()) return send(404, 'not found\n');
      const body = await readFile(file);
      return send(200, body, TYPES[extname(file)] ?? 'application/octet-stream');
    } catch {
      return send(404, 'not found\n');
    }
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', ok);
  });
  const url = `http://127.0.0.1:${server.address().port}${base}`;
  return { server, url, requests };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name, fallback) => {
    const i = args.indexOf(name);
    return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
  };
  const port = Number(opt('--port', '8080'));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`serve-dist: --port must be 0 to 65535, got ${opt('--port')}`);
    process.exit(2);
  }
  const { url } = await serveDist({ dir: opt('--dir', 'dist'), prefix: opt('--prefix', '/'), port });
  console.log(`serving ${opt('--dir', 'dist')} at ${url} (Ctrl-C to stop)`);
}
