// GET/HEAD /media/*: fs storage serves its files itself (range requests, ETag, immutable
// caching); S3 storage redirects to the object's URL. Media of private accounts is served
// only with a valid, unexpired `exp`/`sig` pair (media-url-signature.ts); without one it does
// not exist, even at a URL that worked while the account was public.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { fail } from '../error-reply.js';
import { FsStorage } from './fs-storage.js';
import { contentTypeForKey, isUploadKey, isValidKey } from './keys.js';
import { verifyMediaSignature } from './media-url-signature.js';
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

/** Who may fetch a key without a signature: the post service asks graph about its owner. */
export interface MediaAccess {
  /** INTERNAL_SIGNING_SECRET: verifies `sig` (the previous secret too, during a rotation). */
  secret: string;
  /** True when the key belongs to a private account's post media (avatars are public). */
  isPrivate(key: string): Promise<boolean>;
}

/** GET/HEAD /media/* — fs storage serves files itself; S3 storage redirects to its URL. */
export function registerMediaFileRoutes(
  app: FastifyInstance,
  storage: ObjectStorage,
  access?: MediaAccess,
): void {
  app.route<{ Params: { '*': string }; Querystring: { exp?: string; sig?: string } }>({
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

      // A signed URL is checked on its own; an unsigned one only serves public media.
      let signedUntil: number | null = null;
      if (access && (req.query.sig !== undefined || req.query.exp !== undefined)) {
        const check = verifyMediaSignature(access.secret, key, req.query.exp, req.query.sig);
        if (check === 'expired')
          return fail(reply, req, 403, 'FORBIDDEN', 'This link has expired; load the post again');
        if (check === 'invalid') return fail(reply, req, 404, 'NOT_FOUND', 'Not found');
        signedUntil = Number(req.query.exp);
      } else if (access) {
        let hidden: boolean;
        try {
          hidden = await access.isPrivate(key);
        } catch (err) {
          req.log.warn({ err }, 'media access check failed');
          return fail(reply, req, 503, 'SERVICE_UNAVAILABLE', 'Try again shortly');
        }
        if (hidden) return fail(reply, req, 404, 'NOT_FOUND', 'Not found');
      }
      const cacheControl =
        signedUntil === null
          ? IMMUTABLE
          : `private, max-age=${Math.max(0, signedUntil - Math.floor(Date.now() / 1000))}`;

      if (!(storage instanceof FsStorage)) {
        const target =
          signedUntil === null ? storage.publicUrl(key) : storage.expiringUrl(key, signedUntil);
        return reply
          .header('cache-control', signedUntil === null ? 'public, max-age=3600' : cacheControl)
          .redirect(target, 302);
      }

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
        .header('cache-control', cacheControl)
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
