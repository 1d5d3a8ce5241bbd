// Access tokens: short-lived HS256 JWTs (sub = user id, sid = session/refresh-family id).
// Refresh tokens are opaque: "<row id>.<32 random bytes>", stored as SHA-256 (user subgraph).
import { createHash, randomBytes } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import type { Config } from '../config.js';

const ISSUER = 'mosaic';
const AUDIENCE = 'mosaic-api';

export interface AccessClaims {
  userId: string;
  sessionId: string;
}

export interface AccessToken {
  token: string;
  expiresAt: Date;
}

const keyCache = new WeakMap<object, Uint8Array>();
function keyFor(cfg: Pick<Config, 'JWT_SECRET'>): Uint8Array {
  let key = keyCache.get(cfg);
  if (!key) {
    key = new TextEncoder().encode(cfg.JWT_SECRET);
    keyCache.set(cfg, key);
  }
  return key;
}

export async function signAccessToken(
  cfg: Pick<Config, 'JWT_SECRET' | 'ACCESS_TOKEN_TTL_SECONDS'>,
  claims: AccessClaims,
): Promise<AccessToken> {
  const now = Math.floor(Date.now() / 1000);
  const exp = now + cfg.ACCESS_TOKEN_TTL_SECONDS;
  const token = await new SignJWT({ sid: claims.sessionId })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.userId)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(exp)
    .sign(keyFor(cfg));
  return { token, expiresAt: new Date(exp * 1000) };
}

export type VerifyResult =
  { ok: true; claims: AccessClaims } | { ok: false; reason: 'expired' | 'invalid' };

export async function verifyAccessToken(
  cfg: Pick<Config, 'JWT_SECRET'> & Partial<Pick<Config, 'JWT_SECRET_PREVIOUS'>>,
  token: string,
): Promise<VerifyResult> {
  const options = { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] };
  try {
    const { payload } = await jwtVerify(token, keyFor(cfg), options).catch((err: unknown) => {
      // During a key rotation, tokens signed with the previous key stay valid until they expire.
      if (!cfg.JWT_SECRET_PREVIOUS || !(err instanceof joseErrors.JWSSignatureVerificationFailed))
        throw err;
      return jwtVerify(token, new TextEncoder().encode(cfg.JWT_SECRET_PREVIOUS), options);
    });
    if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string')
      return { ok: false, reason: 'invalid' };
    return { ok: true, claims: { userId: payload.sub, sessionId: payload.sid } };
  } catch (err) {
    return { ok: false, reason: err instanceof joseErrors.JWTExpired ? 'expired' : 'invalid' };
  }
}

export function newRefreshSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function hashRefreshSecret(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

/** Splits "<id>.<secret>"; null when malformed. */
export function parseRefreshToken(token: string): { id: string; secret: string } | null {
  const m = /^([1-9][0-9]{0,18})\.([A-Za-z0-9_-]{43})$/.exec(token);
  // 19 digits can still overflow bigint (Postgres would refuse the lookup).
  if (!m || BigInt(m[1]!) > 9223372036854775807n) return null;
  return { id: m[1]!, secret: m[2]! };
}

/** Redis key marking a session as ended, checked by the gateway for access tokens. */
export const revokedSessionKey = (prefix: string, sessionId: string): string =>
  `${prefix}revoked-session:${sessionId}`;
