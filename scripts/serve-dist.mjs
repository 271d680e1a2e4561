// A tiny static file server for the built app (dist/), for the end-to-end tests and screenshots.
//
// It serves one directory under one URL prefix (a sub-path such as /some/sub/path/ proves the app uses only
// relative URLs), on 127.0.0.1 only, and answers 404 for anything outside the prefix. It logs nothing and
// needs no dependency.
//
// With `compress`, it serves as a static host with compression does: the precompressed `.br` or `.gz` beside a
// file (scripts/compress-dist.mjs, run by `make build-web`) when the request's Accept-Encoding allows it, else the
// file gzipped on the fly if it is text or wasm, with `Vary: Accept-Encoding` either way.
//
// As a command: node scripts/serve-dist.mjs [--dir dist] [--prefix /] [--port 8080] [--compress]

import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
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

/** Extensions a host compresses (scripts/compress-dist.mjs writes copies of the same). */
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.svg', '.wasm', '.json', '.txt']);

/** The encodings an Accept-Encoding header allows, of br and gzip, best first. */
function accepted(header = '') {
  const allowed = new Set();
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (q && Number(q.slice(2)) === 0) continue;
    allowed.add(name);
  }
  return ['br', 'gzip'].filter((e) => allowed.has(e) || allowed.has('*'));
}

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
export async function serveDist({ dir = 'dist', prefix = '/', port = 0, compress = false } = {}) {
  const root = resolve(dir);
  const base = normalisePrefix(prefix);
  const requests = [];
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://127.0.0.1').pathname);
    requests.push(path);
    const send = (status, body, type = 'text/plain; charset=utf-8', extra = {}) => {
      res.writeHead(status, {
        'content-type': type,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        ...extra,
      });
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
      const type = TYPES[extname(file)] ?? 'application/octet-stream';
      if (compress && COMPRESSIBLE.has(extname(file))) {
        const vary = { vary: 'accept-encoding' };
        for (const encoding of accepted(req.headers['accept-encoding'])) {
          const copy = `${file}.${encoding === 'br' ? 'br' : 'gz'}`;
          const body = await readFile(copy).catch(() => null);
          if (body) return send(200, body, type, { ...vary, 'content-encoding': encoding });
        }
        const body = await readFile(file);
        if (accepted(req.headers['accept-encoding']).includes('gzip')) {
          return send(200, gzipSync(body), type, { ...vary, 'content-encoding': 'gzip' });
        }
        return send(200, body, type, vary);
      }
      const body = await readFile(file);
      return send(200, body, type);
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
  const compress = args.includes('--compress');
  const { url } = await serveDist({ dir: opt('--dir', 'dist'), prefix: opt('--prefix', '/'), port, compress });
  console.log(`serving ${opt('--dir', 'dist')} at ${url}${compress ? ' with compression' : ''} (Ctrl-C to stop)`);
}
