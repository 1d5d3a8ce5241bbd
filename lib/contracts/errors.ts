// The error codes promised to clients (api.graphql) and helpers to raise them. Anything
// else that escapes a resolver is logged and reported as INTERNAL_SERVER_ERROR without
// details (see maskError).
import { GraphQLError, type GraphQLFormattedError } from 'graphql';

export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  RATE_LIMITED: 'RATE_LIMITED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** HTTP status for REST routes and for GraphQL responses whose only error carries the code. */
export const httpStatusFor: Record<ErrorCode, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  BAD_USER_INPUT: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  SERVICE_UNAVAILABLE: 503,
  INTERNAL_SERVER_ERROR: 500,
};

// Codes Apollo Server itself emits for malformed requests; passed through as they are.
const APOLLO_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

export function appError(
  code: ErrorCode,
  message: string,
  extensions: Record<string, unknown> = {},
): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}

export const badInput = (message: string, field?: string): GraphQLError =>
  appError(ErrorCode.BAD_USER_INPUT, message, field ? { field } : {});
export const unauthenticated = (message = 'You must be signed in'): GraphQLError =>
  appError(ErrorCode.UNAUTHENTICATED, message);
export const forbidden = (message = 'Not allowed'): GraphQLError =>
  appError(ErrorCode.FORBIDDEN, message);
export const notFound = (message = 'Not found'): GraphQLError =>
  appError(ErrorCode.NOT_FOUND, message);
export const conflict = (message: string, field?: string): GraphQLError =>
  appError(ErrorCode.CONFLICT, message, field ? { field } : {});
export const rateLimited = (retryAfterSeconds: number): GraphQLError =>
  appError(ErrorCode.RATE_LIMITED, `Too many requests; retry in ${retryAfterSeconds} s`, {
    retryAfterSeconds,
  });
export const serviceUnavailable = (message = 'Service temporarily unavailable'): GraphQLError =>
  appError(ErrorCode.SERVICE_UNAVAILABLE, message);

const KNOWN = new Set<string>([...Object.values(ErrorCode), ...APOLLO_CODES]);

// Postgres SQLSTATEs of a server going away or not taking writes: shutdown, crash, lost
// connection, and 25006 (read-only transaction), which Mosaic only meets on a standby during
// a failover (HA setups, issue #20). Prisma: P1001/P1017 unreachable or closed, P2028 no
// transaction could start in time (the pool waits for a connection).
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '08000',
  '08001',
  '08003',
  '08006',
  '25006',
  'P1001',
  'P1017',
  'P2028',
]);

/** Errors from a lost database/cache/broker connection: reported as SERVICE_UNAVAILABLE. */
export function isUnavailable(err: unknown): boolean {
  const e = err as {
    code?: unknown;
    name?: unknown;
    message?: unknown;
    cause?: { originalCode?: unknown };
    meta?: { driverAdapterError?: { cause?: { originalCode?: unknown } } };
  } | null;
  if (!e) return false;
  if (e.name === 'ServiceCallError') return true; // another Mosaic service did not answer
  const code = typeof e.code === 'string' ? e.code : '';
  const msg = typeof e.message === 'string' ? e.message : '';
  // Prisma's driver adapter keeps Postgres' SQLSTATE as cause.originalCode, and its
  // P2010/P2039 errors wrap that adapter error in meta.
  const original =
    e.cause?.originalCode ?? e.meta?.driverAdapterError?.cause?.originalCode ?? undefined;
  const sqlState = typeof original === 'string' ? original : '';
  return (
    UNAVAILABLE_CODES.has(code) ||
    UNAVAILABLE_CODES.has(sqlState) ||
    /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect|Can't reach database|Stream isn't writeable|Connection is closed|not queryable/i.test(
      msg,
    ) ||
    (e.name === 'DriverAdapterError' && /ECONNREFUSED|terminated|DatabaseNotReachable/i.test(msg))
  );
}

/**
 * The extensions a client may see (api.graphql). Anything else stays inside: the gateway's
 * `serviceName`, a failed call's `response`, `exception`, `stacktrace`, `http`.
 */
const PUBLIC_EXTENSIONS = ['code', 'field', 'retryAfterSeconds'] as const;

function publicExtensions(extensions: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of PUBLIC_EXTENSIONS) {
    if (extensions[key] !== undefined) out[key] = extensions[key];
  }
  return out;
}

/**
 * formatError for every Apollo Server here: known codes pass with their message and the
 * public extensions only; anything else becomes a bare INTERNAL_SERVER_ERROR.
 */
export function maskError(
  formatted: GraphQLFormattedError,
  error: unknown,
  onUnexpected: (err: unknown) => void,
): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  if (typeof code === 'string' && KNOWN.has(code) && code !== 'INTERNAL_SERVER_ERROR') {
    return { ...formatted, extensions: publicExtensions(formatted.extensions ?? {}) };
  }
  const original =
    error instanceof GraphQLError && error.originalError ? error.originalError : error;
  if (isUnavailable(original)) {
    return {
      message: 'Service temporarily unavailable',
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: ErrorCode.SERVICE_UNAVAILABLE },
    };
  }
  onUnexpected(error);
  return {
    message: 'Internal server error',
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
  };
}
