// Calls between services over HTTP/JSON with a service token and a deadline. Errors from
// the callee surface as ServiceCallError (the caller maps them to SERVICE_UNAVAILABLE).
import { SERVICE_HEADER, signServiceToken } from '../auth/service-auth.js';
import { Pool } from 'undici';
import { injectHeaders } from '../platform/tracing.js';

export class ServiceCallError extends Error {
  readonly status: number | null;
  constructor(message: string, status: number | null) {
    super(message);
    this.name = 'ServiceCallError';
    this.status = status;
  }
}

export interface InternalClientOptions {
  baseUrl: string;
  /** Name of the calling service, for the callee's logs. */
  caller: string;
  secret: string;
  timeoutMs?: number;
}

/**
 * One keep-alive undici Pool per callee origin: a feed page now makes a visibility call, and
 * fetch() (web streams, a Request and a Response object per call) cost several times the CPU
 * of a pooled request for these small JSON bodies.
 */
const pools = new Map<string, Pool>();
function poolFor(origin: string): Pool {
  let pool = pools.get(origin);
  if (!pool) {
    pool = new Pool(origin, { connections: 64, pipelining: 1, keepAliveTimeout: 10_000 });
    pools.set(origin, pool);
  }
  return pool;
}

/** The service token for a caller, re-signed once a second rather than per call. */
const tokens = new Map<string, { token: string; at: number }>();
function serviceToken(secret: string, caller: string): string {
  const key = `${caller}\n${secret}`;
  const now = Date.now();
  const hit = tokens.get(key);
  if (hit && now - hit.at < 1000) return hit.token;
  const token = signServiceToken(secret, caller, now);
  tokens.set(key, { token, at: now });
  return token;
}

export async function callInternal<T>(
  opts: InternalClientOptions,
  path: string,
  init: {
    method?: 'GET' | 'POST';
    body?: unknown;
    query?: Record<string, string | number | undefined>;
  } = {},
): Promise<T> {
  const url = new URL(path, opts.baseUrl);
  for (const [k, v] of Object.entries(init.query ?? {}))
    if (v !== undefined) url.searchParams.set(k, String(v));
  const timeout = opts.timeoutMs ?? 5000;
  let status: number;
  let text: string;
  try {
    const res = await poolFor(url.origin).request({
      path: url.pathname + url.search,
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      // traceparent: the callee continues the caller's trace.
      headers: injectHeaders({
        [SERVICE_HEADER]: serviceToken(opts.secret, opts.caller),
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      }),
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: AbortSignal.timeout(timeout),
    });
    status = res.statusCode;
    text = await res.body.text();
  } catch (err) {
    throw new ServiceCallError(
      `${url.pathname}: ${err instanceof Error ? err.message : String(err)}`,
      null,
    );
  }
  if (status < 200 || status > 299)
    throw new ServiceCallError(`${url.pathname}: HTTP ${status}`, status);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ServiceCallError(`${url.pathname}: the answer is not JSON`, status);
  }
}

/** Closes the kept-alive connections to other services (service shutdown, tests). */
export async function closeInternalClients(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.close().catch(() => {})));
}

/** Base URL (scheme://host:port) of a service from its GraphQL endpoint URL. */
export const baseOf = (graphqlUrl: string): string => new URL(graphqlUrl).origin;
