// Tickets for GET /v1/live (createLiveTicket): a browser EventSource cannot send headers, so
// the stream is opened with `?ticket=` instead of the access token, which would otherwise end
// up in URLs, proxy logs and browser history. A ticket is base64url(JSON payload) "."
// base64url(HMAC-SHA256), keyed from INTERNAL_SIGNING_SECRET with its own purpose label (so
// it is useless anywhere else), lives at most LIVE_TICKET_SECONDS and is good for ONE stream:
// the gateway consumes its jti with Redis SET NX (consumeLiveTicket).
import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../platform/redis.js';
import { signToken, verifyToken } from './signed-token.js';

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

const PURPOSE = 'mosaic:live-ticket:v1';

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
  return {
    ticket: signToken(secret, PURPOSE, payload),
    expiresAt: new Date(payload.e),
  };
}

export function verifyLiveTicket(
  secret: string,
  ticket: string,
  now = Date.now(),
): VerifiedLiveTicket {
  // During a key rotation, tickets signed with the previous secret still work (30 s at most).
  const p = verifyToken(secret, PURPOSE, ticket, 1024) as Payload | null;
  if (p === null || typeof p !== 'object') return { ok: false, reason: 'invalid' };
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
