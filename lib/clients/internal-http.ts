// Calls between services over HTTP/JSON with a service token and a deadline. Errors from
// the callee surface as ServiceCallError (the caller maps them to SERVICE_UNAVAILABLE).
import { SERVICE_HEADER, signServiceToken } from '../auth/service-auth.js';
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
  let res: Response;
  try {
    res = await fetch(url, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      // traceparent: the callee continues the caller's trace.
      headers: injectHeaders({
        [SERVICE_HEADER]: signServiceToken(opts.secret, opts.caller),
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      }),
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
    });
  } catch (err) {
    throw new ServiceCallError(
      `${url.pathname}: ${err instanceof Error ? err.message : String(err)}`,
      null,
    );
  }
  if (!res.ok) throw new ServiceCallError(`${url.pathname}: HTTP ${res.status}`, res.status);
  return (await res.json()) as T;
}

/** Base URL (scheme://host:port) of a service from its GraphQL endpoint URL. */
export const baseOf = (graphqlUrl: string): string => new URL(graphqlUrl).origin;
