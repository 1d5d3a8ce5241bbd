// Distributed tracing with OpenTelemetry: W3C trace context (`traceparent`) from the
// gateway through the subgraphs, the outbox and NATS into the durable consumers.
//
// Propagation is always on (cheap: one header copied along). Spans are recorded only when
// TRACING=true or OTEL_EXPORTER_OTLP_ENDPOINT is set; otherwise the global tracer is
// OpenTelemetry's no-op one, whose spans just carry the incoming context forward.
// Spans are manual, around the key operations (HTTP server requests, outbox publishes,
// event handling); Apollo Gateway adds its own (gateway.request, gateway.fetch, ...).
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { loggablePath } from './http/log-safe.js';

export { SpanKind, type Context, type Span };

export type TracingConfig = Pick<
  Config,
  'TRACING' | 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'OTEL_SERVICE_NAME'
>;

export const TRACEPARENT = 'traceparent';
const TRACEPARENT_RE = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

let propagationReady = false;
let provider: NodeTracerProvider | undefined;

// Context manager and propagator are registered by hand (not provider.register()) so that
// propagation works with or without a tracer provider.
function ensurePropagation(): void {
  if (propagationReady) return;
  propagationReady = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}

export function tracingEnabled(cfg: TracingConfig): boolean {
  return cfg.TRACING || cfg.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined;
}

/** Tracing settings straight from the environment, for shells that get no Config. */
export function tracingFromEnv(env: Record<string, string | undefined> = process.env) {
  const on = (v: string | undefined) => v === 'true' || v === '1' || v === 'yes';
  return {
    TRACING: on(env.TRACING),
    OTEL_EXPORTER_OTLP_ENDPOINT: env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined,
    OTEL_SERVICE_NAME: env.OTEL_SERVICE_NAME || undefined,
  } satisfies TracingConfig;
}

/**
 * Sets up propagation and, when tracing is configured, the process's tracer provider (once:
 * several services in one process share it). `exporter` replaces OTLP (tests: in-memory).
 */
export function initTracing(cfg: TracingConfig, service: string, exporter?: SpanExporter): void {
  ensurePropagation();
  if (provider || (!exporter && !tracingEnabled(cfg))) return;
  provider = new NodeTracerProvider({
    resource: new Resource({ 'service.name': cfg.OTEL_SERVICE_NAME ?? `mosaic-${service}` }),
  });
  provider.addSpanProcessor(
    exporter
      ? new SimpleSpanProcessor(exporter)
      : new BatchSpanProcessor(
          new OTLPTraceExporter({
            url: `${(cfg.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4318').replace(/\/$/, '')}/v1/traces`,
          }),
        ),
  );
  trace.setGlobalTracerProvider(provider);
}

/** Exports buffered spans and removes the provider (shutdown; tests). */
export async function shutdownTracing(): Promise<void> {
  const p = provider;
  if (!p) return;
  provider = undefined;
  trace.disable();
  await p.shutdown().catch(() => {});
}

export async function flushTracing(): Promise<void> {
  await provider?.forceFlush().catch(() => {});
}

/** The trace context carried by incoming headers (HTTP or NATS, as a plain record). */
export function extractContext(
  headers: Record<string, string | string[] | undefined>,
  parent: Context = ROOT_CONTEXT,
): Context {
  ensurePropagation();
  return propagation.extract(parent, headers);
}

/** Adds `traceparent` (and `tracestate`) for `ctx` (default: the active one) to `headers`. */
export function injectHeaders<H extends Record<string, string>>(
  headers: H,
  ctx: Context = context.active(),
): H {
  ensurePropagation();
  propagation.inject(ctx, headers);
  return headers;
}

/** The active (or given) context's traceparent, if it has a valid span context. */
export function currentTraceparent(ctx: Context = context.active()): string | undefined {
  const carrier: Record<string, string> = {};
  injectHeaders(carrier, ctx);
  const tp = carrier[TRACEPARENT];
  return tp && TRACEPARENT_RE.test(tp) ? tp : undefined;
}

/** A context whose parent is the given traceparent (ignored when malformed). */
export function contextFromTraceparent(traceparent: string | null | undefined): Context {
  return traceparent && TRACEPARENT_RE.test(traceparent)
    ? extractContext({ [TRACEPARENT]: traceparent })
    : ROOT_CONTEXT;
}

/** The 32-hex trace id in a traceparent. */
export const traceIdOf = (traceparent: string): string => traceparent.split('-')[1] ?? '';

/**
 * Starts a span under `parent` and returns it with the context that has it active. With
 * tracing off the span is a no-op that keeps the parent's trace context.
 */
export function startSpan(
  scope: string,
  name: string,
  parent: Context,
  kind: SpanKind,
  attributes?: Attributes,
): { span: Span; ctx: Context } {
  ensurePropagation();
  const span = trace.getTracer(scope).startSpan(name, { kind, attributes }, parent);
  return { span, ctx: trace.setSpan(parent, span) };
}

/** Runs `fn` in a new span under `parent`, ending it (with the error, if any) afterwards. */
export async function inSpan<T>(
  scope: string,
  name: string,
  parent: Context,
  kind: SpanKind,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const { span, ctx } = startSpan(scope, name, parent, kind, attributes);
  try {
    return await context.with(ctx, () => fn(span));
  } catch (err) {
    span.recordException(err instanceof Error ? err : String(err));
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw err;
  } finally {
    span.end();
  }
}

/** Runs `fn` with `ctx` active (async continuations included). */
export const withContext = <T>(ctx: Context, fn: () => T): T => context.with(ctx, fn);

export const markSpanError = (span: Span): void => {
  span.setStatus({ code: SpanStatusCode.ERROR });
};

const UNTRACED = new Set(['/health', '/ready', '/metrics']);

/**
 * A SERVER span per request, continuing the caller's `traceparent`, and active for the
 * handler: set in onRequest and again in preValidation, since body parsing runs on the
 * socket's callbacks and loses the async context.
 */
export function traceHttpRequests(app: FastifyInstance, scope: string): void {
  const spans = new WeakMap<FastifyRequest, { span: Span; ctx: Context }>();
  app.addHook('onRequest', (req, _reply, done) => {
    if (UNTRACED.has(req.url)) return done();
    // Never the query string or an upload URL's capability token (lib/platform/http/log-safe.ts).
    const path = loggablePath(req.url);
    const started = startSpan(
      scope,
      `${req.method} ${path}`,
      extractContext(req.headers),
      SpanKind.SERVER,
      { 'http.request.method': req.method, 'url.path': path, 'mosaic.request_id': req.id },
    );
    spans.set(req, started);
    context.with(started.ctx, done);
  });
  app.addHook('preValidation', (req, _reply, done) => {
    const s = spans.get(req);
    if (s) context.with(s.ctx, done);
    else done();
  });
  app.addHook('onResponse', (req, reply, done) => {
    const s = spans.get(req);
    if (s) {
      s.span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) markSpanError(s.span);
      s.span.end();
      spans.delete(req);
    }
    done();
  });
}
