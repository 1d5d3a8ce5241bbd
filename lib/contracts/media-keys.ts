// The grammar of media object keys (relative, slash-separated, safe segments; no segment
// starts with a dot, so `.` and `..` never occur), for code outside the post service that
// handles keys from URLs: the gateway's /media proxy. Same rule as
// subgraphs/post/src/storage/keys.ts isValidKey.

const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;
const MAX_KEY_LENGTH = 512;

export function isValidMediaKey(key: string): boolean {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) return false;
  return key.split('/').every((s) => SEGMENT.test(s));
}

/**
 * The media key in a raw URL path after its prefix (no query), or null when it is not a
 * valid key. Each raw segment is percent-decoded once and must then be a key segment on
 * its own, so an encoded `/`, `\`, NUL or dot segment (`%2e%2e`) never becomes one.
 */
export function mediaKeyFromRawPath(rawPath: string): string | null {
  if (rawPath.length === 0 || rawPath.length > MAX_KEY_LENGTH * 3) return null;
  const segments: string[] = [];
  for (const raw of rawPath.split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return null; // malformed escape
    }
    if (!SEGMENT.test(segment)) return null;
    segments.push(segment);
  }
  const key = segments.join('/');
  return isValidMediaKey(key) ? key : null;
}

/** A valid key as a URL path (each segment escaped; the grammar needs none, but be sure). */
export function mediaKeyPath(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}
