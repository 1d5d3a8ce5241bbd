// Media files with filesystem storage (GET|HEAD /media/*), served by the post service and
// streamed through: only validated media keys go on, and every answer under /media gets
// headers that keep a crafted file from running as a document.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { ErrorCode } from '../../../lib/contracts/errors.js';
import { mediaKeyFromRawPath, mediaKeyPath } from '../../../lib/contracts/media-keys.js';
import { injectHeaders } from '../../../lib/platform/tracing.js';
import { rawPathAfter, UpstreamTimeout, unavailable, type PostService } from './proxy.js';
import { sendError } from './replies.js';

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

/**
 * The `exp` and `sig` of an expiring media URL (private accounts' media), re-encoded; every
 * other query parameter stays behind, so nothing else reaches the post service.
 */
function signatureQuery(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return '';
  const params = new URLSearchParams(url.slice(q + 1));
  const exp = params.get('exp');
  const sig = params.get('sig');
  if (exp === null && sig === null) return '';
  const out = new URLSearchParams();
  if (exp !== null) out.set('exp', exp);
  if (sig !== null) out.set('sig', sig);
  return `?${out.toString()}`;
}

export function registerMediaProxy(http: FastifyInstance, post: PostService): void {
  const { timeouts } = post;

  // Security headers on everything under /media: files, redirects and errors (onSend runs
  // for every answer routed here; a malformed URL gets them in lib/platform/http/server.ts).
  http.addHook('onSend', async (req, reply, payload) => {
    if (req.url.startsWith('/media/') || req.routeOptions.url === '/media/*')
      reply.headers(MEDIA_SECURITY_HEADERS);
    return payload;
  });

  // anyone holding the URL (public media: immutable URLs; private accounts' media: `exp`/`sig`
  // URLs that expire, checked by the post service) | Range, ETag, caching from the post service;
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
            post.url(`/media/${mediaKeyPath(key)}${signatureQuery(req.url)}`),
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
}
