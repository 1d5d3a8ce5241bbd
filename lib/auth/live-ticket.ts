// Tickets for GET /v1/live (createLiveTicket): a browser EventSource cannot send headers, so
// the stream is opened with `?ticket=` instead of the access token, which would otherwise end
// up in URLs, proxy logs and browser history. A ticket is base64url(JSON payload) "."
// base64url(HMAC-SHA256), keyed from INTERNAL_SIGNING_SECRET with its own purpose label (so
// it is useless anywhere else), lives at most LIVE_TICKET_SECONDS and is good for ONE stream:
// the gateway consumes its jti with Redis SET NX (consumeLiveTicket).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RedisClient } from '../platform/redis.js';
import { verificationKeys } from './key-ring.js';

/** How long a ticket may be presented after it was issued. */
export const LIVE_TICKET_SECONDS = 30;

export interface LiveTicketClaims {
  userId: string;
  sessionId: string;
  /** Unique per ticket: consumed once. */
  jti: string;
  /** Expiry, ms since the epoch. */
  expiresAt: number;
}

interface Payload {
  u: string;
  s: string;
  j: string;
  e: number;
}

export type VerifiedLiveTicket =
  { ok: true; claims: LiveTicketClaims } | { ok: false; reason: 'invalid' | 'expired' };

const keyCache = new Map<string, Buffer>();
function signingKey(secret: string): Buffer {
  let k = keyCache.get(secret);
  if (!k) {
    k = createHmac('sha256', secret).update('mosaic:live-ticket:v1').digest();
    keyCache.set(secret, k);
  }
  return k;
}

const mac = (secret: string, body: string) =>
  createHmac('sha256', signingKey(secret)).update(body).digest();

export function signLiveTicket(
  secret: string,
  viewer: { userId: string; sessionId: string },
  now = Date.now(),
): { ticket: string; expiresAt: Date } {
  const payload: Payload = {
    u: viewer.userId,
    s: viewer.sessionId,
    j: randomBytes(16).toString('base64url'),
    e: now + LIVE_TICKET_SECONDS * 1000,
  };
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return {
    ticket: `${body}.${mac(secret, body).toString('base64url')}`,
    expiresAt: new Date(payload.e),
  };
}

export function verifyLiveTicket(
  secret: string,
  ticket: string,
  now = Date.now(),
): VerifiedLiveTicket {
  const dot = ticket.indexOf('.');
  if (dot <= 0 || ticket.length > 1024) return { ok: false, reason: 'invalid' };
  const body = ticket.slice(0, dot);
  const sig = Buffer.from(ticket.slice(dot + 1), 'base64url');
  // During a key rotation, tickets signed with the previous secret still work (30 s at most).
  const signedBy = verificationKeys(secret).some((key) => {
    const expected = mac(key, body);
    return sig.length === expected.length && timingSafeEqual(sig, expected);
  });
  if (!signedBy) return { ok: false, reason: 'invalid' };
  let p: Payload;
  try {
    p = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Payload;
  } catch {
    return { ok: false, reason: 'invalid' };
  }
  if (
    typeof p.u !== 'string' ||
    typeof p.s !== 'string' ||
    typeof p.j !== 'string' ||
    typeof p.e !== 'number'
  )
    return { ok: false, reason: 'invalid' };
  if (p.e <= now) return { ok: false, reason: 'expired' };
  return { ok: true, claims: { userId: p.u, sessionId: p.s, jti: p.j, expiresAt: p.e } };
}

/** Marks the ticket used; false when it already was (a capability used twice is refused). */
export async function consumeLiveTicket(
  redis: RedisClient,
  redisKeyPrefix: string,
  claims: LiveTicketClaims,
  now = Date.now(),
): Promise<boolean> {
  // Kept until the ticket expires on its own; after that the signature check refuses it.
  const ttlMs = Math.max(1, claims.expiresAt - now) + 1000;
  const set = await redis.set(`${redisKeyPrefix}live-ticket:${claims.jti}`, '1', 'PX', ttlMs, 'NX');
  return set === 'OK';
}
