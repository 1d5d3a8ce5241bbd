// The gateway tells subgraphs who is asking with a signed header, so that a request sent
// straight to a subgraph cannot claim to be a user: `x-mosaic-context` carries
// base64url(JSON) + "." + base64url(HMAC-SHA256(INTERNAL_SIGNING_SECRET, that JSON)).
// The gateway signs a context for anonymous requests too, and subgraphs refuse requests
// without one, so every path into a subgraph goes through the gateway's limits.
import { timingSafeEqual } from 'node:crypto';
import { hmacKey, hmacSha256 } from './hmac.js';
import { verificationKeys } from './key-ring.js';

export const VIEWER_CONTEXT_HEADER = 'x-mosaic-context';
const MAX_AGE_MS = 60_000;

export interface Viewer {
  /** Signed-in user id, or null for an anonymous request. */
  userId: string | null;
  sessionId: string | null;
  /** Client address as the gateway saw it (rate limits in subgraphs key on it). */
  ip: string;
  requestId: string;
}

interface Wire {
  u: string | null;
  s: string | null;
  ip: string;
  r: string;
  t: number;
}

function mac(secret: string, body: string): string {
  return hmacSha256(hmacKey(secret), body).toString('base64url');
}

export function signViewerContext(secret: string, viewer: Viewer, now = Date.now()): string {
  const wire: Wire = {
    u: viewer.userId,
    s: viewer.sessionId,
    ip: viewer.ip,
    r: viewer.requestId,
    t: now,
  };
  const body = Buffer.from(JSON.stringify(wire)).toString('base64url');
  return `${body}.${mac(secret, body)}`;
}

/** The viewer, or null when the header is missing, forged, malformed or stale. */
export function verifyViewerContext(
  secret: string,
  header: string | undefined,
  now = Date.now(),
): Viewer | null {
  if (!header || header.length > 2048) return null;
  const dot = header.indexOf('.');
  if (dot <= 0) return null;
  const body = header.slice(0, dot);
  const given = Buffer.from(header.slice(dot + 1), 'base64url');
  // The current key, or during a rotation the previous one (lib/auth/key-ring.ts).
  const signedWith = (key: string) => {
    const expected = Buffer.from(mac(key, body), 'base64url');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
  if (!verificationKeys(secret).some(signedWith)) return null;
  let wire: Wire;
  try {
    wire = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Wire;
  } catch {
    return null;
  }
  if (typeof wire.t !== 'number' || Math.abs(now - wire.t) > MAX_AGE_MS) return null;
  return {
    userId: wire.u ?? null,
    sessionId: wire.s ?? null,
    ip: String(wire.ip),
    requestId: String(wire.r),
  };
}
