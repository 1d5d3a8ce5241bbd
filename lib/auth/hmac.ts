// HMAC-SHA256 with cached key objects. createHmac() given a string or Buffer key imports it
// anew on every call (~31 µs here); given a KeyObject made once, ~5 µs. Every subgraph
// request verifies a viewer context, and a page of a private account's media signs ~80 URLs.
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';

const MAX_CACHED = 256;
const cache = new Map<string, KeyObject>();

/** The key object of a secret, optionally derived for one purpose: HMAC(secret, label). */
export function hmacKey(secret: string, label?: string): KeyObject {
  const id = label === undefined ? secret : `${label}\u0000${secret}`;
  let key = cache.get(id);
  if (!key) {
    const raw =
      label === undefined
        ? Buffer.from(secret, 'utf8')
        : createHmac('sha256', secret).update(label).digest();
    key = createSecretKey(raw);
    if (cache.size >= MAX_CACHED) cache.clear(); // a handful of secrets in practice
    cache.set(id, key);
  }
  return key;
}

export function hmacSha256(key: KeyObject, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}
