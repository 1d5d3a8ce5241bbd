// HTTP routes of the storage layer: the target of fs-"presigned" upload URLs and the
// file route that serves fs-stored media (range requests, ETag, immutable caching).
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../../../lib/config.js';
import { FsStorage, MultipartError, SizeMismatch, TooLarge } from './fs-storage.js';
import { contentTypeForKey, isUploadKey, isValidKey } from './keys.js';
import type { ObjectStorage } from './storage.js';
import { verifyUploadToken, type UploadTarget } from './upload-token.js';

const IMMUTABLE = 'public, max-age=31536000, immutable';

function fail(
  reply: FastifyReply,
  req: FastifyRequest,
  status: number,
  code: string,
  error: string,
) {
  return reply.code(status).send({ error, code, requestId: req.id });
}

/** Why the upload a token names may not take bytes (any more); an HTTP answer. */
export interface UploadRefusal {
  status: number;
  code: string;
  error: string;
}

/**
 * Asks whoever keeps the uploads' bookkeeping (the post service: the media row) whether a
 * target may still be written; null = yes. A token is only a capability while its upload
 * is open: once completed, failed or expired, the same URL must not store anything.
 */
export type UploadGate = (target: UploadTarget) => Promise<UploadRefusal | null>;

class UploadClosed extends Error {
  readonly refusal: UploadRefusal;
  constructor(refusal: UploadRefusal) {
    super(refusal.error);
    this.refusal = refusal;
  }
}

/** PUT /v1/uploads/:token — body = the bytes of the object or part; responds with an ETag. */
export function registerFsUploadRoutes(
  app: FastifyInstance,
  storage: ObjectStorage,
  cfg: Config,
  gate: UploadGate,
): void {
  void app.register(async (scope) => {
    // Stream the raw body ourselves: no parser, no body limit of the JSON kind.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));

    scope.put<{ Params: { '*': string } }>('/v1/uploads/*', async (req, reply) => {
      if (!(storage instanceof FsStorage)) {
        return fail(reply, req, 404, 'NOT_FOUND', 'Uploads go directly to object storage');
      }
      const v = verifyUploadToken(cfg.INTERNAL_SIGNING_SECRET, req.params['*']);
      if (!v.ok) {
        return v.reason === 'expired'
          ? fail(reply, req, 401, 'UNAUTHENTICATED', 'This upload URL has expired')
          : fail(reply, req, 403, 'FORBIDDEN', 'Invalid upload URL');
      }
      const t = v.target;
      // Every refusal before the body is read closes the connection, so the client stops
      // sending; a body too large is also cut off as soon as it passes the size.
      const refuse = (status: number, code: string, error: string) => {
        reply.header('connection', 'close');
        return fail(reply, req, status, code, error);
      };
      const tooLarge = () =>
        refuse(413, 'PAYLOAD_TOO_LARGE', `This upload URL takes exactly ${t.size} bytes`);
      const wrongSize = (got: number) =>
        refuse(400, 'BAD_USER_INPUT', `Got ${got} bytes; this upload URL takes exactly ${t.size}`);

      // The size (and type) signed into the token are what createUpload was told.
      const length = req.headers['content-length'];
      if (length !== undefined) {
        const declared = Number(length);
        if (declared > t.size) return tooLarge();
        if (declared !== t.size) return wrongSize(declared);
      }
      if (t.contentType && mimeEssence(req.headers['content-type']) !== t.contentType) {
        return refuse(
          415,
          'UNSUPPORTED_MEDIA_TYPE',
          `Content-Type must be ${t.contentType}, as declared to createUpload`,
        );
      }
      const closed = await gate(t);
      if (closed) return refuse(closed.status, closed.code, closed.error);
      // Asked again once the bytes are in, before they become the object: a completeUpload
      // that won the race in between makes this PUT store nothing.
      const opts = {
        exactBytes: t.size,
        beforeCommit: async () => {
          const late = await gate(t);
          if (late) throw new UploadClosed(late);
        },
      };
      try {
        const r =
          t.uploadId !== undefined && t.partNumber !== undefined
            ? await storage.putPart(t.key, t.uploadId, t.partNumber, req.raw, opts)
            : await storage.write(storage.pathOf(t.key), req.raw, opts);
        return reply.code(200).header('etag', r.etag).send();
      } catch (err) {
        if (err instanceof UploadClosed) {
          return refuse(err.refusal.status, err.refusal.code, err.refusal.error);
        }
        if (err instanceof TooLarge) return tooLarge();
        if (err instanceof SizeMismatch) return wrongSize(err.bytes);
        if (err instanceof MultipartError) {
          return fail(reply, req, 400, 'BAD_USER_INPUT', err.message);
        }
        if ((err as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') {
          return fail(reply, req, 400, 'BAD_USER_INPUT', 'Upload interrupted');
        }
        throw err;
      }
    });
  });
}

/** `image/png; charset=x` → `image/png` (lower-cased); '' when absent. */
function mimeEssence(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

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
