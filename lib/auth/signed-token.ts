// The signed-token format of Mosaic's single-purpose capabilities (fs upload URLs, live
// tickets): base64url(JSON payload) "." base64url(HMAC-SHA256), keyed from the signing secret
// with a purpose label, so a token made for one purpose never verifies for another. During a
// key rotation, tokens signed with the previous secret still verify (lib/auth/key-ring.ts).
import { timingSafeEqual } from 'node:crypto';
import { hmacKey, hmacSha256 } from './hmac.js';
import { verificationKeys } from './key-ring.js';

const mac = (secret: string, purpose: string, body: string) =>
  hmacSha256(hmacKey(secret, purpose), body);

export function signToken(secret: string, purpose: string, payload: object): string {
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${body}.${mac(secret, purpose, body).toString('base64url')}`;
}

/**
 * The payload of a token this secret (or its predecessor) signed for this purpose, parsed
 * but not checked further; null when malformed, over `maxLength` or not signed so.
 */
export function verifyToken(
  secret: string,
  purpose: string,
  token: string,
  maxLength: number,
): unknown {
  const dot = token.indexOf('.');
  if (dot <= 0 || token.length > maxLength) return null;
  const body = token.slice(0, dot);
  const sig = Buffer.from(token.slice(dot + 1), 'base64url');
  const signed = verificationKeys(secret).some((key) => {
    const expected = mac(key, purpose, body);
    return sig.length === expected.length && timingSafeEqual(sig, expected);
  });
  if (!signed) return null;
  try {
    return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as unknown;
  } catch {
    return null;
  }
}
