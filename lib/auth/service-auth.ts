// Service-to-service calls (`/internal/*` routes, e.g. the feed asking the graph for
// followers): `x-mosaic-service` = base64url(JSON {svc, t}) + "." + HMAC-SHA256. The MAC
// covers a distinct label, so a viewer context can never pass as a service token.
import { timingSafeEqual } from 'node:crypto';
import { posix } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ErrorCode } from '../contracts/errors.js';
import { hmacKey, hmacSha256 } from './hmac.js';
import { verificationKeys } from './key-ring.js';
import { decodedPath } from '../platform/http/log-safe.js';

export const SERVICE_HEADER = 'x-mosaic-service';
const LABEL = 'mosaic-service-v1:';
const MAX_AGE_MS = 60_000;

const mac = (secret: string, body: string) =>
  hmacSha256(hmacKey(secret), LABEL + body).toString('base64url');

export function signServiceToken(secret: string, service: string, now = Date.now()): string {
  const body = Buffer.from(JSON.stringify({ svc: service, t: now })).toString('base64url');
  return `${body}.${mac(secret, body)}`;
}

/** The calling service's name, or null when the token is missing, forged or stale. */
export function verifyServiceToken(
  secret: string,
  header: string | undefined,
  now = Date.now(),
): string | null {
  if (!header || header.length > 512) return null;
  const [body, sig] = header.split('.');
  if (!body || !sig) return null;
  const given = Buffer.from(sig, 'base64url');
  // The current key, or during a rotation the previous one (lib/auth/key-ring.ts).
  const signedWith = (key: string) => {
    const expected = Buffer.from(mac(key, body), 'base64url');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
  if (!verificationKeys(secret).some(signedWith)) return null;
  try {
    const { svc, t } = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as {
      svc?: unknown;
      t?: unknown;
    };
    return typeof svc === 'string' && typeof t === 'number' && Math.abs(now - t) <= MAX_AGE_MS
      ? svc
      : null;
  } catch {
    return null;
  }
}

const INTERNAL = /^\/internal(\/|$)/i;

/** Whether a URL's path, decoded and normalised (`//`, `/./`, `..`, `\\`), is /internal/*. */
function looksInternal(url: string): boolean {
  return INTERNAL.test(posix.normalize(decodedPath(url).replaceAll('\\', '/')));
}

/**
 * Refuses every `/internal/*` request of this server without a valid service token. The
 * route the router matched decides (its template), not the raw URL: the router decodes
 * percent-escapes before matching, so `/%69nternal/...` reaches an internal route while a
 * prefix check of req.url lets it through. Unmatched paths that look internal once
 * decoded and normalised are refused too, so nothing answers them without a token.
 */
export function protectInternalRoutes(app: FastifyInstance, secret: string): void {
  app.addHook('onRequest', async (req, reply) => {
    const template = req.routeOptions.url;
    if (!INTERNAL.test(template ?? '') && !looksInternal(req.url)) return;
    const header = req.headers[SERVICE_HEADER];
    if (verifyServiceToken(secret, typeof header === 'string' ? header : undefined)) return;
    return reply.code(401).send({
      error: 'internal routes need a service token',
      code: ErrorCode.UNAUTHENTICATED,
      requestId: req.id,
    });
  });
}
