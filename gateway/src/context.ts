// Who is asking: the access token is verified here, once, and the result travels to the
// subgraphs as a signed viewer context (lib/auth/viewer-context.ts).
import type { FastifyRequest } from 'fastify';
import { GraphQLError } from 'graphql';
import type { RedisClient as Redis } from '../../lib/platform/redis.js';
import type { Config } from '../../lib/config.js';
import { ErrorCode, httpStatusFor } from '../../lib/contracts/errors.js';
import {
  revokedSessionKey,
  verifyAccessToken,
  type AccessClaims,
  type VerifyResult,
} from '../../lib/auth/tokens.js';
import type { Viewer } from '../../lib/auth/viewer-context.js';
import type { Limiter } from '../../lib/platform/rate-limit.js';

export interface GatewayContext {
  viewer: Viewer;
}

export class AuthError extends Error {}

function httpError(
  code: ErrorCode,
  message: string,
  extensions: Record<string, unknown> = {},
): GraphQLError {
  return new GraphQLError(message, {
    extensions: { ...extensions, code, http: { status: httpStatusFor[code] } },
  });
}

export const unauthenticatedHttp = (message: string): GraphQLError =>
  httpError(ErrorCode.UNAUTHENTICATED, message);
export const rateLimitedHttp = (retryAfterSeconds: number): GraphQLError =>
  httpError(ErrorCode.RATE_LIMITED, `Too many requests; retry in ${retryAfterSeconds} s`, {
    retryAfterSeconds,
  });

// Verified access tokens, kept briefly: a client sends the same token with every request
// for its whole lifetime, and verifying it (HMAC via WebCrypto) is a visible share of the
// gateway's CPU. Only successes are kept, never past the token's own expiry; revocation is
// still checked on every request.
const TOKEN_CACHE_MAX = 10_000;
const TOKEN_CACHE_MS = 30_000;
const verifiedTokens = new Map<string, { claims: AccessClaims; until: number }>();

/** The token's `exp` in ms, or 0 when it has none (a live stream ends then). */
export function expiryMs(token: string): number {
  try {
    const payload = JSON.parse(
      Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'),
    ) as { exp?: unknown };
    return typeof payload.exp === 'number' ? payload.exp * 1000 : 0;
  } catch {
    return 0;
  }
}

async function verifyCached(cfg: Config, token: string): Promise<VerifyResult> {
  const now = Date.now();
  const hit = verifiedTokens.get(token);
  if (hit && hit.until > now) return { ok: true, claims: hit.claims };
  if (hit) verifiedTokens.delete(token);
  const result = await verifyAccessToken(cfg, token);
  if (result.ok) {
    // Oldest first out (Map keeps insertion order): a bound, not an LRU, is enough here.
    if (verifiedTokens.size >= TOKEN_CACHE_MAX)
      verifiedTokens.delete(verifiedTokens.keys().next().value!);
    verifiedTokens.set(token, {
      claims: result.claims,
      until: Math.min(now + TOKEN_CACHE_MS, expiryMs(token)),
    });
  }
  return result;
}

/**
 * The viewer for a request. No Authorization header means anonymous; a header with a bad,
 * expired or revoked token is an error (UNAUTHENTICATED) rather than silently anonymous,
 * so clients know to refresh. A signed-in viewer spends from `perUser` (RATE_LIMITED when
 * spent) alongside the revocation check: both are Redis calls, so they share a round trip.
 */
export async function resolveViewer(
  cfg: Config,
  redis: Redis,
  req: FastifyRequest,
  perUser?: Limiter,
): Promise<Viewer> {
  const base: Viewer = { userId: null, sessionId: null, ip: req.ip, requestId: req.id };
  const header = req.headers.authorization;
  if (!header) return base;
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m) throw unauthenticatedHttp('Authorization header must be "Bearer <accessToken>"');
  const result = await verifyCached(cfg, m[1]!);
  if (!result.ok) {
    throw unauthenticatedHttp(
      result.reason === 'expired'
        ? 'Access token expired; refresh the session'
        : 'Invalid access token',
    );
  }
  // A session ended by logOut or refresh-token reuse. If Redis is unreachable the token
  // is honoured until it expires (ACCESS_TOKEN_TTL_SECONDS): availability over instant revocation.
  const [revoked, wait] = await Promise.all([
    redis.exists(revokedSessionKey(cfg.REDIS_KEY_PREFIX, result.claims.sessionId)).catch(() => 0),
    perUser?.consume(result.claims.userId) ?? null,
  ]);
  if (revoked) throw unauthenticatedHttp('This session has ended; sign in again');
  if (wait !== null) throw rateLimitedHttp(wait);
  return { ...base, userId: result.claims.userId, sessionId: result.claims.sessionId };
}
