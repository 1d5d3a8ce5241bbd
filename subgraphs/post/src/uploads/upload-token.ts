// Signed, expiring tokens for fs-"presigned" upload URLs (PUT /v1/uploads/:token):
// base64url(JSON payload) "." base64url(HMAC-SHA256). The payload binds the key, the exact
// byte count and the content type, as a signed S3 URL does. The key is derived from
// INTERNAL_SIGNING_SECRET with a purpose label, so these tokens are useless elsewhere.
import { signToken, verifyToken } from '../../../../lib/auth/signed-token.js';
import type { UploadTarget } from '../storage/object-storage.js';

interface Payload {
  k: string;
  c: string;
  n: number;
  u?: string;
  p?: number;
  /** Expiry, unix seconds. */
  e: number;
}

export type VerifiedUpload =
  { ok: true; target: UploadTarget } | { ok: false; reason: 'invalid' | 'expired' };

const PURPOSE = 'mosaic:upload-token:v1';

export function signUploadToken(
  secret: string,
  target: UploadTarget,
  expiresSeconds: number,
  now = Date.now(),
): string {
  const payload: Payload = {
    k: target.key,
    c: target.contentType,
    n: target.size,
    e: Math.floor(now / 1000) + Math.max(1, Math.floor(expiresSeconds)),
  };
  if (target.uploadId !== undefined) payload.u = target.uploadId;
  if (target.partNumber !== undefined) payload.p = target.partNumber;
  return signToken(secret, PURPOSE, payload);
}

export function verifyUploadToken(secret: string, token: string, now = Date.now()): VerifiedUpload {
  // During a key rotation, URLs signed with the previous secret still work (docs/security.md).
  const p = verifyToken(secret, PURPOSE, token, 4096) as Payload | null;
  if (p === null || typeof p !== 'object') return { ok: false, reason: 'invalid' };
  // A token without a size (from before sizes were bound) takes nothing.
  if (typeof p.k !== 'string' || typeof p.e !== 'number' || !validSize(p.n))
    return { ok: false, reason: 'invalid' };
  if (p.e * 1000 <= now) return { ok: false, reason: 'expired' };
  const target: UploadTarget = {
    key: p.k,
    contentType: typeof p.c === 'string' ? p.c : '',
    size: p.n,
  };
  if (typeof p.u === 'string') target.uploadId = p.u;
  if (typeof p.p === 'number') target.partNumber = p.p;
  return { ok: true, target };
}

const validSize = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
