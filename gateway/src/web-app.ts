// The web app (web/, built by `npm run web:build` into web/dist), served from the gateway's
// own origin: no CORS, and the app's media and upload URLs are the gateway's. Hashed assets are
// immutable; index.html is revalidated every time (it names the current assets) and answers
// every app route (client-side routing). Nothing is served when the app was not built.
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
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
  http.get<{ Params: { '*': string } }>('/assets/*', async (req, reply) => {
    const name = req.params['*'];
    const type = TYPES[path.extname(name)];
    if (!ASSET.test(name) || !type) return reply.code(404).send();
    let body: Buffer;
    try {
      body = await readFile(path.join(dir, 'assets', name));
    } catch {
      return reply.code(404).send();
    }
    return reply
      .header('content-type', type)
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('x-content-type-options', 'nosniff')
      .send(body);
  });
  return true;
}
