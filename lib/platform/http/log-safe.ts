// What of a request URL may be written down (logs, trace attributes): the path without its
// query string, with capability tokens (upload URLs) redacted.
/** Routes whose path carries a capability (anyone holding the URL may use it). */
const CAPABILITY_PATH = /^\/+v1\/+uploads\/+[^\s"'`]+/i;
const CAPABILITY_IN_TEXT = /(\/v1\/uploads\/)[^\s"'`?#]+/gi;
/** A query string inside a URL in free text: `…/path?password=…`. */
const QUERY_IN_TEXT = /(\/[^\s"'`?]*)\?[^\s"'`]*/g;
const MAX_LOGGED_PATH = 512;

/**
 * A URL's path without its query, percent-decoded once as the router decodes it before
 * matching (left as it is when an escape is malformed): what a path check must look at.
 */
export function decodedPath(url: string): string {
  const path = url.split('?', 1)[0] ?? '';
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/**
 * A request's path as logged: never the query string (a password sent by GET, a signed
 * URL's signature) and never a capability token (`/v1/uploads/[redacted]`).
 */
export function loggablePath(url: string): string {
  const path = url.split('?', 1)[0] ?? '';
  const decoded = decodedPath(url);
  // Tested decoded: `/v1/%75ploads/<token>` reaches the same route.
  if (CAPABILITY_PATH.test(decoded)) return '/v1/uploads/[redacted]';
  return path.length > MAX_LOGGED_PATH ? `${path.slice(0, MAX_LOGGED_PATH)}…` : path;
}

/** Free text (an error message or stack) with URL query strings and capability tokens cut. */
export function scrubUrls(text: string): string {
  return text.replace(CAPABILITY_IN_TEXT, '$1[redacted]').replace(QUERY_IN_TEXT, '$1?[redacted]');
}
