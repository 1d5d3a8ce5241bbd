// Uploads, streamed to the post service as they arrive: POST /v1/media (multipart, signed-in
// users within the upload budget) and, with filesystem storage, the presigned direct-upload
// targets PUT /v1/uploads/<token>.
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../../lib/config.js';
import { ErrorCode } from '../../../lib/contracts/errors.js';
import type { RedisClient as Redis } from '../../../lib/platform/redis.js';
import type { Limiter } from '../../../lib/platform/rate-limit.js';
import { VIEWER_CONTEXT_HEADER, signViewerContext } from '../../../lib/auth/viewer-context.js';
import { forwardBody, rawPathAfter, refuseBody, unavailable, type PostService } from './proxy.js';
import { sendError, viewerOf } from './replies.js';

export interface UploadProxyOptions {
  cfg: Config;
  redis: Redis;
  post: PostService;
  /** Uploads per user (gateway/src/limits.ts createUploadLimiter). */
  uploadLimiter: Limiter;
}

/** The multipart body may exceed the largest allowed file by this much (headers, altText). */
const MULTIPART_OVERHEAD = 1024 * 1024;

/** An upload capability token: base64url payload "." base64url MAC (post storage). */
const UPLOAD_TOKEN = /^[A-Za-z0-9_-]{1,4096}\.[A-Za-z0-9_-]{1,128}$/;

export function registerUploadProxy(http: FastifyInstance, opts: UploadProxyOptions): void {
  const { cfg, post } = opts;
  const maxUpload =
    Math.max(cfg.MEDIA_MAX_IMAGE_BYTES, cfg.MEDIA_MAX_VIDEO_BYTES) + MULTIPART_OVERHEAD;

  void http.register(async (scope) => {
    // Bodies here are streams passed on as they arrive, never parsed or buffered.
    scope.addContentTypeParser('*', (_req, _payload, done) => done(null));
    scope.removeContentTypeParser(['application/json', 'text/plain']);

    // signed-in user | RATE_LIMIT_UPLOADS_PER_MINUTE per user; the request may be at most
    // the largest media limit plus 1 MiB | 400, 401, 413, 415, 429 (+ 503)
    scope.post('/v1/media', async (req, reply) => {
      const viewer = await viewerOf(opts, req, reply);
      if (!viewer) return refuseBody(reply);
      if (!viewer.userId) {
        refuseBody(reply);
        return sendError(reply, ErrorCode.UNAUTHENTICATED, 'You must be signed in to upload');
      }
      const wait = await opts.uploadLimiter.consume(viewer.userId);
      if (wait !== null) {
        refuseBody(reply);
        reply.header('retry-after', String(wait));
        return sendError(reply, ErrorCode.RATE_LIMITED, `Too many uploads; retry in ${wait} s`, {
          retryAfterSeconds: wait,
        });
      }
      const length = Number(req.headers['content-length'] ?? NaN);
      if (length > maxUpload) {
        refuseBody(reply);
        return sendError(
          reply,
          ErrorCode.PAYLOAD_TOO_LARGE,
          `The upload is larger than the ${maxUpload - MULTIPART_OVERHEAD} bytes allowed`,
        );
      }
      const contentType = req.headers['content-type'] ?? '';
      if (!/^multipart\/form-data/i.test(contentType)) {
        refuseBody(reply);
        return sendError(
          reply,
          ErrorCode.BAD_USER_INPUT,
          'Send multipart/form-data with the file in a `file` part',
        );
      }
      let res: Awaited<ReturnType<typeof forwardBody>>;
      try {
        res = await forwardBody(
          post.url('/internal/v1/media'),
          'POST',
          {
            'content-type': contentType,
            ...(Number.isFinite(length)
              ? { 'content-length': String(length) }
              : { 'transfer-encoding': 'chunked' }),
            [VIEWER_CONTEXT_HEADER]: signViewerContext(cfg.INTERNAL_SIGNING_SECRET, viewer),
            'x-request-id': req.id,
          },
          req.raw,
          post.timeouts,
        );
      } catch (err) {
        return unavailable(reply, err);
      }
      return reply
        .code(res.status)
        .header('content-type', 'application/json; charset=utf-8')
        .send(res.text);
    });

    // anyone with the token a createUpload URL carries | 400 / 403 / 413 from the post
    // service (fs storage only)
    scope.put('/v1/uploads/*', async (req, reply) => {
      const length = Number(req.headers['content-length'] ?? NaN);
      if (length > maxUpload) {
        refuseBody(reply);
        return sendError(reply, ErrorCode.PAYLOAD_TOO_LARGE, 'The part is too large');
      }
      // Only a well-formed token goes on, in a path built here: never `..` or an escape.
      const token = rawPathAfter(req.url, 2);
      if (!UPLOAD_TOKEN.test(token)) {
        refuseBody(reply);
        return sendError(reply, ErrorCode.FORBIDDEN, 'Invalid upload URL');
      }
      let res: Awaited<ReturnType<typeof forwardBody>>;
      try {
        res = await forwardBody(
          post.url(`/v1/uploads/${token}`),
          'PUT',
          {
            'content-type': req.headers['content-type'] ?? 'application/octet-stream',
            ...(Number.isFinite(length)
              ? { 'content-length': String(length) }
              : { 'transfer-encoding': 'chunked' }),
            'x-request-id': req.id,
          },
          req.raw,
          post.timeouts,
        );
      } catch (err) {
        return unavailable(reply, err);
      }
      const { etag, 'content-type': type } = res.headers;
      if (etag) reply.header('etag', etag);
      if (type) reply.header('content-type', type);
      return reply.code(res.status).send(res.text);
    });
  });
}
