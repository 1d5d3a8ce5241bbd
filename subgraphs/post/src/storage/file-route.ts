// GET/HEAD /media/*: fs storage serves its files itself (range requests, ETag, immutable
// caching); S3 storage redirects to the object's URL.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { fail } from '../error-reply.js';
import { FsStorage } from './fs-storage.js';
import { contentTypeForKey, isUploadKey, isValidKey } from './keys.js';
import type { ObjectStorage } from './object-storage.js';

const IMMUTABLE = 'public, max-age=31536000, immutable';

interface ByteRange {
  start: number;
  end: number;
}

/** One `bytes=` range; null = ignore the header (serve it whole), 'unsatisfiable' = 416. */
function parseRange(header: string, size: number): ByteRange | null | 'unsatisfiable' {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return null; // multiple or malformed ranges: RFC 9110 lets us send it all
  const [, a, b] = m;
  if (a === '' && b === '') return null;
  if (a === '') {
    const n = Number(b);
    if (n === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

/** GET/HEAD /media/* — fs storage serves files itself; S3 storage redirects to its URL. */
export function registerMediaFileRoutes(app: FastifyInstance, storage: ObjectStorage): void {
  app.route<{ Params: { '*': string } }>({
    method: ['GET', 'HEAD'],
    url: '/media/*',
    handler: async (req, reply) => {
      let key: string;
      try {
        key = decodeURIComponent(req.params['*']);
      } catch {
        key = '';
      }
      // Upload originals are raw client bytes: only processed objects are ever served.
      if (!isValidKey(key) || isUploadKey(key))
        return fail(reply, req, 404, 'NOT_FOUND', 'Not found');
      if (!(storage instanceof FsStorage)) return reply.redirect(storage.publicUrl(key), 302);

      const file = storage.pathOf(key);
      const s = await stat(file).catch(() => null);
      if (!s?.isFile()) return fail(reply, req, 404, 'NOT_FOUND', 'Not found');

      // Objects are immutable (new content gets a new key), so size+mtime identify them.
      const etag = `"${s.size.toString(16)}-${Math.floor(s.mtimeMs).toString(16)}"`;
      reply
        .header('content-type', contentTypeForKey(key))
        .header('accept-ranges', 'bytes')
        .header('etag', etag)
        .header('last-modified', s.mtime.toUTCString())
        .header('cache-control', IMMUTABLE)
        .header('x-content-type-options', 'nosniff');

      const inm = req.headers['if-none-match'];
      if (inm && inm.split(',').some((t) => t.trim() === etag || t.trim() === '*')) {
        return reply.code(304).send();
      }

      let range: ByteRange | null | 'unsatisfiable' = null;
      const rangeHeader = req.headers.range;
      const ifRange = req.headers['if-range'];
      if (rangeHeader && (!ifRange || ifRange === etag)) range = parseRange(rangeHeader, s.size);
      if (range === 'unsatisfiable') {
        return reply
          .code(416)
          .header('content-range', `bytes */${s.size}`)
          .header('content-type', 'application/json; charset=utf-8')
          .send({ error: 'Range not satisfiable', code: 'BAD_USER_INPUT', requestId: req.id });
      }

      const { start, end } = range ?? { start: 0, end: s.size - 1 };
      const length = s.size === 0 ? 0 : end - start + 1;
      reply.code(range ? 206 : 200).header('content-length', length);
      if (range) reply.header('content-range', `bytes ${start}-${end}/${s.size}`);
      if (req.method === 'HEAD' || length === 0) return reply.send();
      return reply.send(createReadStream(file, { start, end }));
    },
  });
}
