// The web app (web/, built by `npm run web:build` into web/dist), served from the gateway's
// own origin: no CORS, and the app's media and upload URLs are the gateway's. Hashed assets are
// immutable; index.html is revalidated every time (it names the current assets) and answers
// every app route (client-side routing). Nothing is served when the app was not built.
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';

/** The app's client-side routes (web/src/app.tsx): each answers index.html. */
const APP_ROUTES = [
  '/',
  '/login',
  '/signup',
  '/new',
  '/search',
  '/settings',
  '/requests',
  '/p/*',
  '/u/*',
];

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

/** Text assets are sent gzipped to clients that accept it (the app's JS: 457 KB, 139 KB). */
const COMPRESSIBLE = new Set(['.js', '.css', '.map', '.svg']);

/** Vite's output names: name-hash.ext, nothing that could leave the folder. */
const ASSET = /^[A-Za-z0-9_-]+\.[A-Za-z0-9]+(\.map)?$/;

/** Registers the app's routes when `dir` holds a build; false (nothing registered) otherwise. */
export function registerWebApp(http: FastifyInstance, dir: string): boolean {
  const indexFile = path.join(dir, 'index.html');
  if (!existsSync(indexFile)) return false;
  // Read once: a rebuild takes a restart, as a deploy does.
  const index = readFileSync(indexFile);
  for (const route of APP_ROUTES) {
    http.get(route, async (_req, reply) =>
      reply
        .header('content-type', 'text/html; charset=utf-8')
        .header('cache-control', 'no-cache')
        .header('x-content-type-options', 'nosniff')
        .send(index),
    );
  }
  // Immutable files, so each is read (and gzipped) once; a build holds a handful.
  const cache = new Map<string, { raw: Buffer; gzip: Buffer | null }>();
  http.get<{ Params: { '*': string } }>('/assets/*', async (req, reply) => {
    const name = req.params['*'];
    const ext = path.extname(name);
    const type = TYPES[ext];
    if (!ASSET.test(name) || !type) return reply.code(404).send();
    let file = cache.get(name);
    if (!file) {
      try {
        const raw = await readFile(path.join(dir, 'assets', name));
        file = { raw, gzip: COMPRESSIBLE.has(ext) ? gzipSync(raw) : null };
      } catch {
        return reply.code(404).send();
      }
      cache.set(name, file);
    }
    reply
      .header('content-type', type)
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('x-content-type-options', 'nosniff');
    if (!file.gzip) return reply.send(file.raw);
    reply.header('vary', 'accept-encoding');
    if (!/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) return reply.send(file.raw);
    return reply.header('content-encoding', 'gzip').send(file.gzip);
  });
  return true;
}
