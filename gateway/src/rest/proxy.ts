// Calls from the REST routes to the post service: its URLs, the timeouts that keep a stuck
// service from holding client requests (and their sockets) forever, streaming a request
// body to it, and the answer when it does not answer.
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { FastifyReply } from 'fastify';
import { ErrorCode } from '../../../lib/contracts/errors.js';
import { collectEvery } from '../../../lib/platform/memory.js';
import { injectHeaders } from '../../../lib/platform/tracing.js';
import { sendError } from './replies.js';

// Uploads get no total cap (a 1 GB upload takes as long as it takes): only an idle limit
// while bytes flow, then a deadline for the answer.
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

/** What the proxy routes need: where the post service is, and how long to wait for it. */
export interface PostService {
  /** The post service's URL of a path (its routes live beside its GraphQL endpoint). */
  url(path: string): string;
  timeouts: ProxyTimeouts;
}

export function postService(
  postSubgraphUrl: string,
  timeouts: Partial<ProxyTimeouts> = {},
): PostService {
  const base = new URL(postSubgraphUrl);
  base.pathname = '/';
  return {
    url: (path) => new URL(path, base).toString(),
    timeouts: { ...PROXY_TIMEOUTS, ...timeouts },
  };
}

/** The post service did not answer (or went quiet) within a proxy timeout. */
export class UpstreamTimeout extends Error {
  constructor(what: string) {
    super(`post service timed out (${what})`);
    this.name = 'UpstreamTimeout';
  }
}

/** Answers before the body is read: the connection closes so nothing more is uploaded. */
export function refuseBody(reply: FastifyReply) {
  reply.header('connection', 'close');
}

/** The answer when the post service is unreachable (503) or timed out (504). */
export function unavailable(reply: FastifyReply, err: unknown) {
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
}

/**
 * The raw (not decoded) path of a URL after its first `n` segments, no query: what a
 * `/prefix/*` route matched, whatever escapes spelled the prefix (`/%6Dedia/...`).
 */
export const rawPathAfter = (url: string, n: number) =>
  (url.split('?', 1)[0] ?? '')
    .split('/')
    .slice(n + 1)
    .join('/');

/**
 * Streams a request body to the post service with node:http and stream.pipeline, so
 * backpressure holds end to end and no chunk is copied (fetch's web streams copy every
 * chunk, and the garbage showed up as hundreds of MB of RSS on a 500 MB upload). Answers
 * the post service's (small JSON) response, which may come before the body is sent.
 */
export function forwardBody(
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
