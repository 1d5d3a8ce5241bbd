// Expiring media URLs for private accounts with filesystem storage: `/media/<key>?exp=&sig=`,
// where sig = HMAC-SHA256(key "\n" exp) under a key derived from INTERNAL_SIGNING_SECRET
// with its own purpose label (an upload token or a service token never verifies here).
// S3 storage uses presigned GETs instead (s3-storage.ts), which expire the same way.
import { timingSafeEqual } from 'node:crypto';
import { hmacKey, hmacSha256 } from '../../../../lib/auth/hmac.js';
import { verificationKeys } from '../../../../lib/auth/key-ring.js';

/**
 * How long a private account's media URL works at least (at most one window more): a
 * follower who is removed or blocked loses access within this time.
 */
export const PRIVATE_MEDIA_URL_TTL_SECONDS = 600;

/** URLs handed out in the same window are identical, so clients and caches can reuse them. */
export const SIGNED_URL_WINDOW_SECONDS = 300;

const mac = (secret: string, key: string, exp: number) =>
  hmacSha256(hmacKey(secret, 'mosaic:media-url:v1'), `${key}\n${exp}`);

/**
 * The expiry (unix seconds) of a URL made now that must stay valid for at least `ttlSeconds`:
 * rounded up to the window, so it is valid for between ttl and ttl + one window.
 */
export function expiryFor(ttlSeconds: number, now = Date.now()): number {
  const at = Math.floor(now / 1000) + Math.max(1, Math.floor(ttlSeconds));
  return Math.ceil(at / SIGNED_URL_WINDOW_SECONDS) * SIGNED_URL_WINDOW_SECONDS;
}

export function signMediaKey(secret: string, key: string, exp: number): string {
  return mac(secret, key, exp).toString('base64url');
}

export type MediaSignatureCheck = 'valid' | 'expired' | 'invalid';

/** Checks `exp`/`sig` query values for a key (previous secret accepted during a rotation). */
export function verifyMediaSignature(
  secret: string,
  key: string,
  exp: string | undefined,
  sig: string | undefined,
  now = Date.now(),
): MediaSignatureCheck {
  if (typeof exp !== 'string' || typeof sig !== 'string') return 'invalid';
  if (!/^[0-9]{1,12}$/.test(exp) || !/^[A-Za-z0-9_-]{43}$/.test(sig)) return 'invalid';
  const expiry = Number(exp);
  const given = Buffer.from(sig, 'base64url');
  const ok = verificationKeys(secret).some((s) => {
    const expected = mac(s, key, expiry);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!ok) return 'invalid';
  return expiry * 1000 <= now ? 'expired' : 'valid';
}
