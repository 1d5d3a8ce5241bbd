// The HTTP shell every Mosaic service shares: Fastify with pino logs, request ids
// (taken from x-request-id when a caller sent a sane one), /health and /ready, and a
// graceful close that stops accepting, drains in-flight requests, then runs cleanups.
import { randomUUID } from 'node:crypto';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { stdSerializers } from 'pino';
import type { Logger } from '../logger.js';
import { loggablePath, scrubUrls } from './log-safe.js';
import { checkReady, type Probe } from '../health.js';
import { protectInternalRoutes } from '../../auth/service-auth.js';
import { isUnavailable } from '../../contracts/errors.js';
import {
  flushTracing,
  initTracing,
  traceHttpRequests,
  tracingFromEnv,
  type TracingConfig,
} from '../tracing.js';
import {
  hasMetricsToken,
  httpDuration,
  isPrivateAddress,
  registry,
  serviceOf,
  setProcessService,
} from '../metrics.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** pino's error serializer, then URLs in it scrubbed (Fastify puts request URLs in some). */
function safeErr(err: unknown): unknown {
  const out = stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
  if (!out || typeof out !== 'object') return out;
  for (const key of ['message', 'stack']) {
    if (typeof out[key] === 'string') out[key] = scrubUrls(out[key]);
  }
  return out;
}

/** A request in a log line: method and scrubbed path only, never headers or the query. */
function safeReq(req: { method?: string; url?: string }): Record<string, unknown> {
  return { method: req.method, path: loggablePath(req.url ?? '') };
}

/** What every started service hands back to whoever started it. */
export interface RunningService {
  /** The GraphQL endpoint (subgraphs) or base URL (gateway). */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The port the server actually bound (the requested one may be 0). */
export function boundPort(app: FastifyInstance, fallback: number): number {
  const address = app.server.address();
  return typeof address === 'object' && address ? address.port : fallback;
}

export interface ServiceHttpOptions {
  logger: Logger;
  probes: Record<string, Probe>;
  trustProxy?: boolean;
  bodyLimit?: number;
  /** When set, `/internal/*` routes require a service token signed with it. */
  internalSecret?: string;
  /** The `service` label of this server's metrics (default: the logger's `service`). */
  service?: string;
  /**
   * Public services (the gateway) set this: GET /metrics then answers only callers whose
   * address and X-Forwarded-For hops are all loopback/private, or `Bearer <token>`.
   */
  metricsAccess?: { token?: string };
  /** Tracing settings (lib/platform/tracing.ts); default: read from the environment. */
  tracing?: TracingConfig;
}

// Probes and scrapes are not traffic.
const UNMEASURED = new Set(['/health', '/ready', '/metrics']);

export function createHttpServer(opts: ServiceHttpOptions): FastifyInstance {
  // Whatever Fastify or a handler logs as `err` or `req` goes through these, so a URL's
  // query string or capability token never reaches the log (headers are never logged).
  const httpLogger = opts.logger.child({}, { serializers: { err: safeErr, req: safeReq } });
  const app = Fastify({
    // pino's Logger is a FastifyBaseLogger; the cast keeps the instance's generic default.
    loggerInstance: httpLogger as unknown as FastifyBaseLogger,
    trustProxy: opts.trustProxy ?? false,
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    // One line per request from our onResponse hook instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
    // A malformed percent-escape in the path (`/media/%E0%A4%A`): the API's error shape
    // and request id instead of Fastify's own body. No hook runs for these, so the headers
    // a JSON error needs anywhere (the /media ones included) are set here.
    frameworkErrors: (err, req, reply) => {
      void (reply as FastifyReply)
        .code(400)
        .headers({
          'x-request-id': req.id,
          'x-content-type-options': 'nosniff',
          'content-security-policy': "default-src 'none'; sandbox",
        })
        .send({
          error:
            err.code === 'FST_ERR_BAD_URL'
              ? 'The URL is malformed (bad percent-encoding)'
              : 'Bad request',
          code: 'BAD_USER_INPUT',
          requestId: req.id,
        });
    },
  });

  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  const service = opts.service ?? serviceOf(opts.logger, 'mosaic');
  setProcessService(service);
  initTracing(opts.tracing ?? tracingFromEnv(), service);
  traceHttpRequests(app, `mosaic-${service}`);
  app.addHook('onResponse', async (req, reply) => {
    if (!UNMEASURED.has(req.url)) {
      // The route template (bounded), never the raw URL; unmatched paths share one label.
      httpDuration.observe(
        {
          service,
          method: req.method,
          route: req.routeOptions.url ?? 'unmatched',
          status: String(reply.statusCode),
        },
        reply.elapsedTime / 1000,
      );
    }
    if (req.url === '/health' || req.url === '/ready') return;
    req.log.info(
      {
        reqId: req.id,
        method: req.method,
        // The path only: query strings and capability tokens stay out of the log.
        url: loggablePath(req.url),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  });

  if (opts.internalSecret) protectInternalRoutes(app, opts.internalSecret);

  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/ready', async (_req, reply) => {
    const report = await checkReady(opts.probes);
    return reply.code(report.ready ? 200 : 503).send(report);
  });
  app.get('/metrics', async (req, reply) => {
    const access = opts.metricsAccess;
    if (
      access &&
      !fromPrivateNetwork(req) &&
      !hasMetricsToken(req.headers.authorization, access.token)
    ) {
      return reply
        .code(403)
        .send({ error: 'Metrics are not public', code: 'FORBIDDEN', requestId: req.id });
    }
    return reply.type(registry.contentType).send(await registry.metrics());
  });

  // Never leak internals: unexpected errors become a bare 500 with the request id. A lost
  // database or broker (an outage, a failover) is a 503 that callers may retry, not a 500.
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    if (isUnavailable(err)) {
      req.log.warn({ err }, 'dependency unavailable');
      return reply.code(503).send({
        error: 'Service temporarily unavailable',
        code: 'SERVICE_UNAVAILABLE',
        requestId: req.id,
      });
    }
    const status =
      err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) req.log.error({ err }, 'unhandled error');
    return reply.code(status).send({
      error: status === 500 ? 'Internal server error' : err.message,
      code: status === 500 ? 'INTERNAL_SERVER_ERROR' : clientErrorCode(status, err.code),
      requestId: req.id,
    });
  });
  return app;
}

// The socket peer and every X-Forwarded-For hop must be private, whatever TRUST_PROXY says:
// a load balancer in front appends the real client, so a public caller is never let
// through by the balancer's own private address, and a forged hop cannot remove it.
function fromPrivateNetwork(req: FastifyRequest): boolean {
  const forwarded = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(forwarded) ? forwarded.join(',') : (forwarded ?? ''))
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  return [req.socket.remoteAddress ?? '', ...hops].every(isPrivateAddress);
}

// Fastify's own 4xx (body too large, bad JSON, wrong content type) in the API's vocabulary.
function clientErrorCode(status: number, code: string | undefined): string {
  if (status === 413) return 'PAYLOAD_TOO_LARGE';
  if (status === 415) return 'UNSUPPORTED_MEDIA_TYPE';
  if (status === 400 && (code === undefined || code.startsWith('FST_'))) return 'BAD_USER_INPUT';
  return code ?? 'BAD_REQUEST';
}

/** Closes the server on SIGTERM/SIGINT, then runs the cleanups in order, then exits. */
export function closeOnSignals(logger: Logger, close: () => Promise<void>): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, 15_000);
    force.unref();
    close()
      .then(flushTracing)
      .then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'error during shutdown');
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

/**
 * Starts listening and hands back the RunningService every start function returns: its
 * URL on the bound port, and a close that stops HTTP first (draining requests), then runs
 * the given cleanups in order (workers, connections).
 */
export async function listenService(
  http: FastifyInstance,
  opts: {
    host: string;
    port: number;
    logger: Logger;
    message: string;
    fields?: Record<string, unknown>;
    path?: string;
  },
  cleanups: (() => unknown)[],
): Promise<RunningService> {
  await http.listen({ port: opts.port, host: opts.host });
  const port = boundPort(http, opts.port);
  opts.logger.info({ port, ...opts.fields }, opts.message);
  return {
    port,
    url: `http://127.0.0.1:${port}${opts.path ?? '/graphql'}`,
    async close() {
      await http.close();
      for (const cleanup of cleanups) await Promise.resolve(cleanup()).catch(() => {});
    },
  };
}
