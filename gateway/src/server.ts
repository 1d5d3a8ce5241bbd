// The public entry point: Apollo Gateway on Apollo Server 5 over a statically composed
// supergraph (schema/supergraph.graphql), behind the shared Fastify shell.
import { readFileSync } from 'node:fs';
import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginLandingPageLocalDefault,
  ApolloServerPluginLandingPageProductionDefault,
} from '@apollo/server/plugin/landingPage/default';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import fastifyApollo, { fastifyApolloDrainPlugin } from '@as-integrations/fastify';
import cors from '@fastify/cors';
import { subgraphUrl, subgraphUrlOverrides, type Config } from '../../lib/config.js';
import { createPool } from '../../lib/platform/db.js';
import { maskError } from '../../lib/contracts/errors.js';
import { natsProbe, postgresProbe, redisProbe } from '../../lib/platform/health.js';
import {
  boundPort,
  createHttpServer,
  type RunningService,
} from '../../lib/platform/http/server.js';
import { createLogger } from '../../lib/platform/logger.js';
import { graphqlMetricsPlugin } from '../../lib/platform/metrics.js';
import { connectNats } from '../../lib/platform/nats.js';
import { createRedis } from '../../lib/platform/redis.js';
import { resolveViewer, type GatewayContext } from './context.js';
import { legacyJsonStatusPlugin } from './legacy-json-status.js';
import { SubgraphDataSource } from './subgraph-source.js';
import { supergraphSubgraphUrls } from './supergraph-urls.js';
import {
  createEdgeLimiters,
  createUploadLimiter,
  queryLimits,
  queryParseOptions,
  mutationBudgetsPlugin,
} from './limits.js';
import { queryCostPlugin } from './query-cost.js';
import type { ProxyTimeouts } from './rest/proxy.js';
import { registerRestRoutes } from './rest/routes.js';
import { createLiveHub, type LiveHub } from './live/hub.js';
import { registerLiveRoute } from './live/route.js';
import { liveSettings } from './live/settings.js';
import { registerWebApp } from './web-app.js';

export interface GatewayOptions {
  port?: number;
  /** Subgraph name → URL, overriding the supergraph's (tests, docker compose). */
  subgraphUrls?: Record<string, string>;
  /** Overrides of the REST proxy's timeouts (tests; rest/proxy.ts PROXY_TIMEOUTS). */
  restTimeouts?: Partial<ProxyTimeouts>;
  /** The built web app to serve (web-app.ts); default web/dist under the working directory. */
  webDir?: string;
}

export async function startGateway(
  cfg: Config,
  opts: GatewayOptions = {},
): Promise<RunningService & { live: LiveHub }> {
  // Apollo Gateway reports anonymous usage data unless this is set; off by default here.
  if (cfg.APOLLO_TELEMETRY_DISABLED) process.env.APOLLO_TELEMETRY_DISABLED ??= 'true';

  const logger = createLogger('gateway', cfg);
  const redis = createRedis(cfg, 'mosaic-gateway', logger);
  // The gateway owns no data; these exist so /ready reports the platform it depends on.
  const pool = createPool({ ...cfg, DATABASE_POOL_SIZE: 1 });
  const nc = await connectNats(cfg, 'mosaic-gateway', logger);
  const limiters = createEdgeLimiters(cfg, redis);
  const uploadLimiter = createUploadLimiter(cfg, redis);
  const supergraphSdl = readFileSync(cfg.SUPERGRAPH_PATH, 'utf8');
  // Every subgraph's URL, worked out once for federation and the REST proxy alike: the
  // caller's, else SUBGRAPH_<NAME>_URL, else the one composed into the supergraph.
  const urls: Record<string, string> = {
    ...supergraphSubgraphUrls(supergraphSdl),
    ...subgraphUrlOverrides(cfg),
    ...opts.subgraphUrls,
  };

  const sources: SubgraphDataSource[] = [];
  const gateway = new ApolloGateway({
    supergraphSdl,
    logger,
    // Lean subgraph calls over an undici Pool per subgraph (subgraph-source.ts,
    // subgraph-fetch.ts).
    buildService: ({ name, url }) => {
      const source = new SubgraphDataSource(
        urls[name] ?? url!,
        cfg.INTERNAL_SIGNING_SECRET,
        logger,
      );
      sources.push(source);
      return source;
    },
  });

  const http = createHttpServer({
    logger,
    trustProxy: cfg.TRUST_PROXY,
    tracing: cfg,
    metricsAccess: { token: cfg.METRICS_TOKEN },
    probes: { postgres: postgresProbe(pool), redis: redisProbe(redis), nats: natsProbe(nc) },
  });
  await http.register(cors, {
    origin: cfg.corsOrigins === '*' ? true : cfg.corsOrigins,
    credentials: false,
    // PUT: browsers upload straight to the fs-storage targets (PUT /v1/uploads/<token>).
    // Request headers: those the preflight asks for are allowed (content-type and
    // content-range for uploads, authorization, Apollo's client headers).
    methods: ['GET', 'HEAD', 'POST', 'PUT'],
    // ETag: a multipart upload's completeUpload needs each part's.
    exposedHeaders: ['etag', 'x-request-id', 'retry-after'],
    maxAge: 600,
  });

  // Every route but the probes spends from the per-IP budget.
  http.addHook('onRequest', async (req, reply) => {
    if (req.url === '/health' || req.url === '/ready' || req.method === 'OPTIONS') return;
    const wait = await limiters.perIp.consume(req.ip);
    if (wait === null) return;
    return reply
      .code(429)
      .header('retry-after', String(wait))
      .send({
        errors: [
          {
            message: `Too many requests; retry in ${wait} s`,
            extensions: { code: 'RATE_LIMITED', retryAfterSeconds: wait },
          },
        ],
      });
  });

  const armor = queryLimits(cfg);
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    introspection: !cfg.isProduction,
    includeStacktraceInErrorResponses: false,
    // Our closeOnSignals drains and exits; Apollo's own handler would re-raise the signal.
    stopOnTerminationSignals: false,
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    validationRules: armor.validationRules,
    parseOptions: queryParseOptions(cfg),
    plugins: [
      ...(armor.plugins as never[]),
      // The cost limit, with the variables' page sizes (gateway/src/query-cost.ts).
      queryCostPlugin(cfg.MAX_QUERY_COST),
      fastifyApolloDrainPlugin(http),
      // No @cacheControl hints exist anywhere, so no Cache-Control header to compute.
      ApolloServerPluginCacheControlDisabled(),
      mutationBudgetsPlugin(limiters, uploadLimiter),
      graphqlMetricsPlugin<GatewayContext>('gateway'),
      // 200 for request errors to clients that accept only application/json (GraphQL over HTTP).
      legacyJsonStatusPlugin<GatewayContext>(),
      cfg.isProduction
        ? ApolloServerPluginLandingPageProductionDefault({ footer: false })
        : ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false }),
    ],
    formatError: (formatted, error) =>
      maskError(formatted, error, (err) => logger.error({ err }, 'unexpected gateway error')),
  });
  await apollo.start();
  await http.register(fastifyApollo(apollo), {
    path: '/graphql',
    context: async (req) => ({ viewer: await resolveViewer(cfg, redis, req, limiters.perUser) }),
  });
  // The web app at / when it is built (npm start builds it); else / leads to Sandbox.
  const webApp = registerWebApp(http, opts.webDir ?? 'web/dist');
  if (!webApp) http.get('/', async (_req, reply) => reply.redirect('/graphql'));
  registerRestRoutes(http, {
    cfg,
    redis,
    apollo,
    uploadLimiter,
    ...(opts.restTimeouts ? { timeouts: opts.restTimeouts } : {}),
    // No post subgraph in the supergraph: where it would listen here (POST_PORT).
    postSubgraphUrl: urls.post ?? subgraphUrl(cfg, 'post'),
  });

  // GET /v1/live (live/route.ts): Server-Sent Events from the user's NATS subject.
  const live = createLiveHub({ cfg, settings: liveSettings(cfg), nc, redis, logger });
  registerLiveRoute(http, { cfg, redis, hub: live, settings: liveSettings(cfg) });

  await http.listen({ port: opts.port ?? cfg.GATEWAY_PORT, host: cfg.HOST });
  const port = boundPort(http, opts.port ?? cfg.GATEWAY_PORT);
  logger.info({ port }, 'gateway listening');
  if (webApp) logger.info(`Mosaic web app: open ${cfg.PUBLIC_URL}/`);
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    live,
    async close() {
      // Live streams never finish on their own: end them first (clients reconnect elsewhere).
      await live.close();
      await http.close(); // drains in-flight requests, stops Apollo
      await Promise.all(sources.map((s) => s.close().catch(() => {})));
      await nc.drain().catch(() => {});
      redis.disconnect();
      await pool.end();
    },
  };
}
