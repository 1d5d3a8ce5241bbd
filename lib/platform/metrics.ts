// Prometheus metrics (prom-client): one Registry per process, exposed at GET /metrics by the
// shared HTTP shell. Several services may share a process (tests, `start.js` with no
// argument), so per-request series carry their own `service` label; the process-wide
// default label is the first service that registered.
import { BlockList, isIP } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

/** The `service` a pino logger was created with (lib/platform/logger.ts), else `fallback`. */
export function serviceOf(logger: { bindings(): Record<string, unknown> }, fallback: string) {
  const name = logger.bindings().service;
  return typeof name === 'string' ? name : fallback;
}

let defaultService: string | undefined;
/** Sets the `service` label on every series of this process (first caller wins). */
export function setProcessService(name: string): void {
  if (defaultService) return;
  defaultService = name;
  registry.setDefaultLabels({ service: name });
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const httpDuration = new Histogram({
  name: 'mosaic_http_request_duration_seconds',
  help: 'HTTP requests by route template and status (count = request rate)',
  labelNames: ['service', 'method', 'route', 'status'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

export const graphqlOperations = new Counter({
  name: 'mosaic_graphql_operations_total',
  help: 'GraphQL operations by operation name and outcome (success | error)',
  labelNames: ['service', 'operation', 'outcome'] as const,
  registers: [registry],
});

export const graphqlDuration = new Histogram({
  name: 'mosaic_graphql_operation_duration_seconds',
  help: 'GraphQL operation latency by operation name',
  labelNames: ['service', 'operation'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

export const graphqlErrors = new Counter({
  name: 'mosaic_graphql_errors_total',
  help: 'GraphQL errors returned to callers, by extensions.code',
  labelNames: ['service', 'code'] as const,
  registers: [registry],
});

export const eventLag = new Histogram({
  name: 'mosaic_event_lag_seconds',
  help: 'Time from an event happening to a durable consumer finishing it',
  labelNames: ['durable'] as const,
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
  registers: [registry],
});

export const eventsDeadLettered = new Counter({
  name: 'mosaic_events_dead_lettered_total',
  help: 'Events a durable consumer moved to the dead-letter stream, by reason (invalid | exhausted)',
  labelNames: ['consumer', 'reason'] as const,
  registers: [registry],
});

export const rateLimitRejections = new Counter({
  name: 'mosaic_rate_limit_rejections_total',
  help: 'Requests refused by a rate limiter',
  labelNames: ['limiter'] as const,
  registers: [registry],
});

/** `mosaic:rl:login-ip` → `login-ip`: the limiter's name without the (per-deployment) prefix. */
export function limiterName(keyPrefix: string): string {
  const name = keyPrefix.split(':').at(-1) ?? '';
  return /^[a-z0-9-]{1,32}$/.test(name) ? name : 'other';
}

// ---- gauges collected on scrape ----

type Sample = { labels: Record<string, string>; value: number };
type Source = () => Promise<Sample[]>;

function scrapedGauge(name: string, help: string, labelNames: string[]) {
  const sources = new Map<symbol, Source>();
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      this.reset();
      const all = await Promise.all(
        [...sources.values()].map((s) => s().catch((): Sample[] => [])), // a failing source skips
      );
      for (const { labels, value } of all.flat()) this.set(labels, value);
    },
  });
  /** Adds a source; the returned function removes it (on service close). */
  return (source: Source): (() => void) => {
    const key = Symbol(name);
    sources.set(key, source);
    return () => sources.delete(key);
  };
}

/** Unpublished outbox rows per schema. */
export const addOutboxBacklogSource = scrapedGauge(
  'mosaic_outbox_backlog',
  'Outbox rows not yet published to JetStream',
  ['schema'],
);

/** num_pending + num_ack_pending of each durable JetStream consumer. */
export const addConsumerPendingSource = scrapedGauge(
  'mosaic_jetstream_consumer_pending',
  'Messages a durable consumer has not acknowledged yet (pending + ack pending)',
  ['stream', 'durable'],
);

/** Caches an async value for `ms`, so frequent scrapes cost one call per window. */
export function cached<T>(ms: number, load: () => Promise<T>): () => Promise<T> {
  let at = 0;
  let value: Promise<T> | undefined;
  return () => {
    if (!value || Date.now() - at > ms) {
      at = Date.now();
      value = load();
      value.catch(() => (value = undefined));
    }
    return value;
  };
}

// ---- GraphQL (Apollo Server plugin) ----

const MAX_OPERATION_NAMES = 200;
const OPERATION_NAME = /^[_A-Za-z][_0-9A-Za-z]{0,63}$/;
const ERROR_CODE = /^[A-Z][A-Z0-9_]{0,47}$/;

/** Operation names are client-chosen: the first MAX_OPERATION_NAMES per service, then "other". */
export function operationLabel(seen: Set<string>, name: string | null | undefined): string {
  if (!name) return 'anonymous';
  if (!OPERATION_NAME.test(name)) return 'other';
  if (seen.has(name)) return name;
  if (seen.size >= MAX_OPERATION_NAMES) return 'other';
  seen.add(name);
  return name;
}

function codeLabel(code: unknown): string {
  return typeof code === 'string' && ERROR_CODE.test(code) ? code : 'INTERNAL_SERVER_ERROR';
}

/** Counts operations, their latency and the error codes callers actually receive. */
export function graphqlMetricsPlugin<T extends BaseContext>(
  service: string,
): ApolloServerPlugin<T> {
  const seen = new Set<string>();
  return {
    async contextCreationDidFail({ error }) {
      const code = (error as { extensions?: { code?: unknown } }).extensions?.code;
      graphqlErrors.inc({ service, code: codeLabel(code) });
      graphqlOperations.inc({ service, operation: 'unknown', outcome: 'error' });
    },
    async requestDidStart() {
      const started = performance.now();
      return {
        async willSendResponse(ctx) {
          const operation = operationLabel(seen, ctx.operationName);
          const body = ctx.response.body;
          const errors = body.kind === 'single' ? (body.singleResult.errors ?? []) : [];
          for (const e of errors)
            graphqlErrors.inc({ service, code: codeLabel(e.extensions?.code) });
          const outcome = errors.length ? 'error' : 'success';
          graphqlOperations.inc({ service, operation, outcome });
          graphqlDuration.observe({ service, operation }, (performance.now() - started) / 1000);
        },
      };
    },
  };
}

// ---- who may read /metrics on a public service ----

const privateNets = new BlockList();
privateNets.addSubnet('127.0.0.0', 8, 'ipv4');
privateNets.addSubnet('10.0.0.0', 8, 'ipv4');
privateNets.addSubnet('172.16.0.0', 12, 'ipv4');
privateNets.addSubnet('192.168.0.0', 16, 'ipv4');
privateNets.addSubnet('169.254.0.0', 16, 'ipv4');
privateNets.addAddress('::1', 'ipv6');
privateNets.addSubnet('fc00::', 7, 'ipv6');
privateNets.addSubnet('fe80::', 10, 'ipv6');

/** Loopback, RFC 1918, link-local or unique-local (IPv4-mapped IPv6 included). */
export function isPrivateAddress(ip: string): boolean {
  const addr = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
  const family = isIP(addr);
  if (family === 0) return false;
  return privateNets.check(addr, family === 4 ? 'ipv4' : 'ipv6');
}

/** Bearer token check in constant time. */
export function hasMetricsToken(header: string | undefined, token: string | undefined): boolean {
  if (!token || !header?.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice(7));
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}
