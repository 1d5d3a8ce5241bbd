// Service-to-service calls (`/internal/*` routes, e.g. the feed asking the graph for
// followers): `x-mosaic-service` = base64url(JSON {svc, t}) + "." + HMAC-SHA256. The MAC
// covers a distinct label, so a viewer context can never pass as a service token.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { ErrorCode } from '../errors.js';

export const SERVICE_HEADER = 'x-mosaic-service';
const LABEL = 'mosaic-service-v1:';
const MAX_AGE_MS = 60_000;

const mac = (secret: string, body: string) =>
  createHmac('sha256', secret)
    .update(LABEL + body)
    .digest('base64url');

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
  const expected = Buffer.from(mac(secret, body), 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
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

/** Refuses every `/internal/*` request of this server without a valid service token. */
export function protectInternalRoutes(app: FastifyInstance, secret: string): void {
  app.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith('/internal/')) return;
    const header = req.headers[SERVICE_HEADER];
    if (verifyServiceToken(secret, typeof header === 'string' ? header : undefined)) return;
    return reply
      .code(401)
      .send({ error: 'internal routes need a service token', code: ErrorCode.UNAUTHENTICATED });
  });
}
