// Object keys are relative, slash-separated paths of safe segments. No segment may start
// with a dot, so `..` (path traversal) and our internal `.tmp`/`.multipart` dirs are unreachable.
import { extname } from 'node:path';

const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;
const MAX_KEY_LENGTH = 512;

export function isValidKey(key: string): boolean {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) return false;
  return key.split('/').every((s) => SEGMENT.test(s));
}

export class InvalidObjectKey extends Error {
  constructor(key: string) {
    super(`Invalid object key: ${JSON.stringify(key.slice(0, 80))}`);
    this.name = 'InvalidObjectKey';
  }
}

export function assertKey(key: string): string {
  if (!isValidKey(key)) throw new InvalidObjectKey(key);
  return key;
}

/**
 * Direct uploads land under u/ as raw originals (EXIF, GPS, any bytes at all): never
 * served, never given a public URL, and swept by the janitor once their upload is over.
 */
export const UPLOAD_PREFIX = 'u/';
export const isUploadKey = (key: string): boolean => key.startsWith(UPLOAD_PREFIX);

/** A key that may have a public URL: valid and not an upload original. */
export function assertPublicKey(key: string): string {
  if (isUploadKey(assertKey(key))) throw new InvalidObjectKey(key);
  return key;
}

export class ObjectNotFound extends Error {
  readonly key: string;
  constructor(key: string) {
    super(`Object not found: ${key}`);
    this.name = 'ObjectNotFound';
    this.key = key;
  }
}

const TYPES: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.heic': 'image/heic',
  '.heif': 'image/heif',
  '.avif': 'image/avif',
  '.mp4': 'video/mp4',
  '.mov': 'video/quicktime',
  '.webm': 'video/webm',
};

/** Content type served for a key: from its extension, which ingest chose from the bytes. */
export function contentTypeForKey(key: string): string {
  return TYPES[extname(key).toLowerCase()] ?? 'application/octet-stream';
}
