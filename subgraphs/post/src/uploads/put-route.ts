// PUT /v1/uploads/:token: the target of fs-"presigned" upload URLs (S3 takes those PUTs
// itself). The token (upload-token.ts) says what may be stored; the gate says whether the
// upload is still open.
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../../../lib/config.js';
import { fail } from '../error-reply.js';
import { FsStorage, MultipartError, SizeMismatch, TooLarge } from '../storage/fs-storage.js';
import type { ObjectStorage, UploadTarget } from '../storage/object-storage.js';
import { verifyUploadToken } from './upload-token.js';

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
