// The gateway's REST routes (api.graphql): POST /v1/media (streamed to the post service),
// GET /v1/posts/:id (the same GraphQL operation a client would send), and with filesystem
// storage the media files (GET|HEAD /media/*) and presigned-upload targets
// (PUT /v1/uploads/:token), both served by the post service. Errors are { error, code }.
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { ApolloServer, ApolloServerPlugin } from '@apollo/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GraphQLError, OperationTypeNode } from 'graphql';
import type { RedisClient as Redis } from '../../../lib/redis.js';
import type { Config } from '../../../lib/config.js';
import { ErrorCode, httpStatusFor } from '../../../lib/errors.js';
import { mediaKeyFromRawPath, mediaKeyPath } from '../../../lib/media-keys.js';
import {
  VIEWER_CONTEXT_HEADER,
  signViewerContext,
  type Viewer,
} from '../../../lib/auth/viewer-context.js';
import { collectEvery } from '../../../lib/memory.js';
import { createLimiter, type Limiter } from '../../../lib/rate-limit.js';
import { rateLimitedHttp, resolveViewer, type GatewayContext } from '../context.js';
import { countRootFields, rootFieldCounts } from '../limits.js';
import { injectHeaders } from '../../../lib/tracing.js';

export interface RestOptions {
  cfg: Config;
  redis: Redis;
  apollo: ApolloServer<GatewayContext>;
  /** The post subgraph's GraphQL URL; its other routes live beside it. */
  postSubgraphUrl: string;
  uploadLimiter: Limiter;
  /** Overrides of PROXY_TIMEOUTS (tests). */
  timeouts?: Partial<ProxyTimeouts>;
}

/** Uploads (POST /v1/media and createUpload) per user per minute. */
export function createUploadLimiter(cfg: Config, redis: Redis): Limiter {
  return createLimiter(redis, {
    keyPrefix: `${cfg.REDIS_KEY_PREFIX}rl:upload`,
    points: cfg.RATE_LIMIT_UPLOADS_PER_MINUTE,
    durationSeconds: 60,
  });
}

/** Spends the upload budget for each createUpload in a GraphQL operation. */
export function uploadRateLimitPlugin(limiter: Limiter): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, request, contextValue }) {
          if (operation?.operation !== OperationTypeNode.MUTATION) return;
          // Fragments and aliases included: each createUpload that will run spends one.
          const n = countRootFields(rootFieldCounts(operation, document, request.variables), [
            'createUpload',
          ]);
          const userId = contextValue.viewer.userId;
          if (n === 0 || !userId) return;
          const wait = await limiter.consume(userId, n);
          if (wait !== null) throw rateLimitedHttp(wait);
        },
      };
    },
  };
}

/** The multipart body may exceed the largest allowed file by this much (headers, altText). */
const MULTIPART_OVERHEAD = 1024 * 1024;

// The Post fields every REST route returns (GraphQL field names, api.graphql).
const POST_FIELDS = /* GraphQL */ `
  fragment RestPostFields on Post {
    id
    caption
    hashtags
    createdAt
    author {
      id
      username
      displayName
    }
    media {
      id
      type
      mimeType
      url
      width
      height
      durationSeconds
      posterUrl
      altText
      blurhash
      variants {
        width
        height
        mimeType
        url
      }
    }
  }
`;

const POST_QUERY = /* GraphQL */ `
  query RestPost($id: ID!) {
    post(id: $id) {
      ...RestPostFields
    }
  }
  ${POST_FIELDS}
`;

const FEED_QUERY = /* GraphQL */ `
  query RestFeed($first: Int, $after: String) {
    feed(first: $first, after: $after) {
      nodes {
        ...RestPostFields
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
  ${POST_FIELDS}
`;

function sendError(
  reply: FastifyReply,
  code: ErrorCode,
  message: string,
  extra: Record<string, unknown> = {},
) {
  return reply
    .code(httpStatusFor[code])
    .send({ error: message, code, ...extra, requestId: reply.request.id });
}

function codeOf(err: { extensions?: Record<string, unknown> }): ErrorCode {
  const code = err.extensions?.code;
  return typeof code === 'string' && code in httpStatusFor
    ? (code as ErrorCode)
    : ErrorCode.INTERNAL_SERVER_ERROR;
}

/** The viewer, or an error reply already sent (bad or expired token). */
async function viewerOf(
  opts: RestOptions,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<Viewer | null> {
  try {
    return await resolveViewer(opts.cfg, opts.redis, req);
  } catch (err) {
    if (err instanceof GraphQLError) {
      await sendError(reply, codeOf(err), err.message);
      return null;
    }
    throw err;
  }
}

/** Answers before the body is read: the connection closes so nothing more is uploaded. */
function refuseBody(reply: FastifyReply) {
  reply.header('connection', 'close');
}

// Timeouts of the calls to the post service, so a stuck service cannot hold client
// requests (and their sockets) forever. Uploads get no total cap (a 1 GB upload takes as
// long as it takes): only an idle limit while bytes flow, then a deadline for the answer.
export const PROXY_TIMEOUTS = {
  /** GET/HEAD /media/*: from sending the request to the response headers. */
  mediaHeadersMs: 10_000,
  /** GET /media/*: no byte from the post service for this long ends the stream. */
  mediaIdleMs: 30_000,
  /** Uploads: no byte in either direction for this long while the body streams. */
  uploadIdleMs: 60_000,
  /** Uploads: from the last byte sent to the answer (ingest probes video for up to 60 s
   * and cuts a poster for up to 120 s). */
  uploadAnswerMs: 300_000,
};
export type ProxyTimeouts = typeof PROXY_TIMEOUTS;

/** The post service did not answer (or went quiet) within a proxy timeout. */
class UpstreamTimeout extends Error {
  constructor(what: string) {
    super(`post service timed out (${what})`);
    this.name = 'UpstreamTimeout';
  }
}

/**
 * Streams a request body to the post service with node:http and stream.pipeline, so
 * backpressure holds end to end and no chunk is copied (fetch's web streams copy every
 * chunk, and the garbage showed up as hundreds of MB of RSS on a 500 MB upload). Answers
 * the post service's (small JSON) response, which may come before the body is sent.
 */
function forwardBody(
  target: string,
  method: string,
  headers: Record<string, string>,
  body: IncomingMessage,
  timeouts: ProxyTimeouts,
): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    let answerTimer: NodeJS.Timeout | undefined;
    // traceparent: the post service continues this request's trace.
    const upstream = httpRequest(target, { method, headers: injectHeaders({ ...headers }) });
    // Errors once the body is sent (a timeout while waiting) reach no pipeline: here. After
    // an answer, the upstream closing while the body still streams is its choice.
    upstream.on('error', (err) => {
      if (!answered) reject(err);
    });
    const idle = () => upstream.destroy(new UpstreamTimeout('idle'));
    upstream.setTimeout(timeouts.uploadIdleMs, idle);
    upstream.on('finish', () => {
      // The whole body is sent: ingest may take a while with no bytes moving.
      if (answered) return;
      upstream.setTimeout(0);
      answerTimer = setTimeout(
        () => upstream.destroy(new UpstreamTimeout('answer')),
        timeouts.uploadAnswerMs,
      );
    });
    upstream.on('close', () => clearTimeout(answerTimer));
    upstream.on('response', (res) => {
      answered = true;
      clearTimeout(answerTimer);
      upstream.setTimeout(timeouts.uploadIdleMs, idle);
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 502,
          headers: res.headers,
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    pipeline(body, collectEvery(), upstream).catch((err: unknown) => {
      // After an answer, a cut-off body is the upstream's choice; before one, it failed.
      if (!answered) reject(err instanceof Error ? err : new Error(String(err)));
    });
  });
}

const FORWARDED_FILE_HEADERS = [
  'content-type',
  'content-length',
  'content-range',
  'accept-ranges',
  'etag',
  'last-modified',
  'cache-control',
  'location', // S3 storage: a redirect to the object's URL
];

/**
 * On every /media answer, files and errors alike: never sniffed into HTML, never run as a
 * document (a crafted "image" opened directly gets no script, forms or same-origin), and
 * embeddable by the app on its own origin.
 */
const MEDIA_SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; sandbox",
  'cross-origin-resource-policy': 'cross-origin',
};

/** An upload capability token: base64url payload "." base64url MAC (post storage). */
const UPLOAD_TOKEN = /^[A-Za-z0-9_-]{1,4096}\.[A-Za-z0-9_-]{1,128}$/;

/**
 * The raw (not decoded) path of a URL after its first `n` segments, no query: what a
 * `/prefix/*` route matched, whatever escapes spelled the prefix (`/%6Dedia/...`).
 */
const rawPathAfter = (url: string, n: number) =>
  (url.split('?', 1)[0] ?? '')
    .split('/')
    .slice(n + 1)
    .join('/');

export function registerRestRoutes(http: FastifyInstance, opts: RestOptions): void {
  const { cfg } = opts;
  const postBase = new URL(opts.postSubgraphUrl);
  postBase.pathname = '/';
  const postUrl = (path: string) => new URL(path, postBase).toString();
  const maxUpload =
    Math.max(cfg.MEDIA_MAX_IMAGE_BYTES, cfg.MEDIA_MAX_VIDEO_BYTES) + MULTIPART_OVERHEAD;
  const timeouts = { ...PROXY_TIMEOUTS, ...opts.timeouts };
  const unavailable = (reply: FastifyReply, err: unknown) => {
    // The client may still be sending a body: close, so it stops.
    refuseBody(reply);
    if (err instanceof UpstreamTimeout) {
      reply.request.log.warn({ err }, 'post service timed out');
      return reply.code(504).send({
        error: 'The media service did not answer in time; try again',
        code: ErrorCode.SERVICE_UNAVAILABLE,
        requestId: reply.request.id,
      });
    }
    reply.request.log.warn({ err }, 'post service unreachable');
    return sendError(reply, ErrorCode.SERVICE_UNAVAILABLE, 'Service temporarily unavailable');
  };

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
          postUrl('/internal/v1/media'),
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
          timeouts,
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
          postUrl(`/v1/uploads/${token}`),
          'PUT',
          {
            'content-type': req.headers['content-type'] ?? 'application/octet-stream',
            ...(Number.isFinite(length)
              ? { 'content-length': String(length) }
              : { 'transfer-encoding': 'chunked' }),
            'x-request-id': req.id,
          },
          req.raw,
          timeouts,
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

  // Security headers on everything under /media: files, redirects and errors (onSend runs
  // for every answer routed here; a malformed URL gets them in lib/http/server.ts).
  http.addHook('onSend', async (req, reply, payload) => {
    if (req.url.startsWith('/media/') || req.routeOptions.url === '/media/*')
      reply.headers(MEDIA_SECURITY_HEADERS);
    return payload;
  });

  // anyone (media URLs are public) | Range, ETag, immutable caching from the post service;
  // 404 for anything that is not a media key (`..`, encoded slashes, NUL, …)
  http.route({
    method: ['GET', 'HEAD'],
    url: '/media/*',
    exposeHeadRoute: false,
    handler: async (req, reply) => {
      // The raw path, decoded once here: the router's decoded wildcard cannot tell `a%2Fb`
      // from `a/b`, and the URL the proxy builds must not resolve `..` past /media.
      const key = mediaKeyFromRawPath(rawPathAfter(req.url, 1));
      if (key === null) return sendError(reply, ErrorCode.NOT_FOUND, 'Not found');
      const headers: Record<string, string> = { 'x-request-id': req.id };
      for (const h of ['range', 'if-none-match', 'if-modified-since', 'if-range']) {
        const v = req.headers[h];
        if (typeof v === 'string') headers[h] = v;
      }
      let res: IncomingMessage;
      try {
        res = await new Promise<IncomingMessage>((resolve, reject) => {
          const upstream = httpRequest(
            postUrl(`/media/${mediaKeyPath(key)}`),
            { method: req.method, headers: injectHeaders({ ...headers }) },
            (r) => {
              clearTimeout(deadline);
              upstream.setTimeout(timeouts.mediaIdleMs, () =>
                upstream.destroy(new UpstreamTimeout('idle')),
              );
              resolve(r);
            },
          );
          const deadline = setTimeout(
            () => upstream.destroy(new UpstreamTimeout('headers')),
            timeouts.mediaHeadersMs,
          );
          upstream.on('error', (err) => {
            clearTimeout(deadline);
            reject(err);
          });
          upstream.end();
        });
      } catch (err) {
        return unavailable(reply, err);
      }
      reply.code(res.statusCode ?? 502);
      for (const h of FORWARDED_FILE_HEADERS) {
        const v = res.headers[h];
        if (v !== undefined) reply.header(h, v);
      }
      // Streamed as it arrives; a client that goes away destroys the upstream response.
      reply.raw.on('close', () => res.destroy());
      if (req.method === 'HEAD') {
        res.resume();
        return reply.send();
      }
      return reply.send(res);
    },
  });

  // anyone; signed-in viewers see their own `isViewer` etc. | 200 Post, 404, 400 (bad id), 401
  http.get('/v1/posts/:id', async (req, reply) => {
    const viewer = await viewerOf(opts, req, reply);
    if (!viewer) return reply;
    const { id } = req.params as { id: string };
    const response = await opts.apollo.executeOperation(
      { query: POST_QUERY, variables: { id } },
      { contextValue: { viewer } },
    );
    if (response.body.kind !== 'single')
      return sendError(reply, ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error');
    const { data, errors } = response.body.singleResult as {
      data?: { post: unknown } | null;
      errors?: readonly { message: string; extensions?: Record<string, unknown> }[];
    };
    if (data?.post) return reply.code(200).send(data.post);
    const first = errors?.[0];
    if (first) return sendError(reply, codeOf(first), first.message);
    return sendError(reply, ErrorCode.NOT_FOUND, 'Post not found');
  });
  // signed-in user | 200 { items, nextCursor }, 400 (bad limit or cursor), 401
  http.get('/v1/feed', async (req, reply) => {
    const viewer = await viewerOf(opts, req, reply);
    if (!viewer) return reply;
    if (!viewer.userId) return sendError(reply, ErrorCode.UNAUTHENTICATED, 'You must be signed in');
    const { limit, cursor } = req.query as { limit?: string; cursor?: string };
    const first = limit === undefined ? 20 : Number(limit);
    if (!Number.isInteger(first))
      return sendError(reply, ErrorCode.BAD_USER_INPUT, 'limit must be a whole number');
    const response = await opts.apollo.executeOperation(
      { query: FEED_QUERY, variables: { first, after: cursor ?? null } },
      { contextValue: { viewer } },
    );
    if (response.body.kind !== 'single')
      return sendError(reply, ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error');
    const { data, errors } = response.body.singleResult as {
      data?: {
        feed: { nodes: unknown[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
      } | null;
      errors?: readonly { message: string; extensions?: Record<string, unknown> }[];
    };
    const firstError = errors?.[0];
    if (firstError || !data) {
      return firstError
        ? sendError(reply, codeOf(firstError), firstError.message)
        : sendError(reply, ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error');
    }
    return reply.send({
      items: data.feed.nodes,
      nextCursor: data.feed.pageInfo.hasNextPage ? data.feed.pageInfo.endCursor : null,
    });
  });
}
