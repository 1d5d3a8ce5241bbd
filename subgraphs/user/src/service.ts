// Wires the user subgraph: clients, limiters, the GraphQL route, the outbox relay.
import { subgraphUrl, type Config } from '../../../lib/config.js';
import { createGraphClient } from '../../../lib/clients/graph-client.js';
import { baseOf } from '../../../lib/clients/internal-http.js';
import { createPool, createPrisma } from '../../../lib/platform/db.js';
import { createLogger } from '../../../lib/platform/logger.js';
import { createRedis } from '../../../lib/platform/redis.js';
import { createLimiter } from '../../../lib/platform/rate-limit.js';
import { postgresProbe, redisProbe, natsProbe } from '../../../lib/platform/health.js';
import {
  createHttpServer,
  listenService,
  type RunningService,
} from '../../../lib/platform/http/server.js';
import { mountSubgraph } from '../../../lib/platform/http/subgraph.js';
import { connectNats, ensureStreams } from '../../../lib/platform/nats.js';
import { startConfiguredRelay } from '../../../lib/platform/outbox/relay.js';
import type { AppContext, RequestContext } from './context.js';
import { createLoaders } from './loaders.js';
import { createKnownIps } from './known-ips.js';
import { createLoginThrottle } from './login-throttle.js';
import { registerInternalRoutes } from './internal-routes.js';
import { resolvers } from './resolvers.js';

export async function startUserService(cfg: Config, port = cfg.USER_PORT): Promise<RunningService> {
  const logger = createLogger('user', cfg);
  const pool = createPool(cfg);
  const prisma = createPrisma(pool);
  const redis = createRedis(cfg, 'mosaic-user', logger);
  const nc = await connectNats(cfg, 'mosaic-user', logger);
  await ensureStreams(nc, cfg.NATS_PREFIX, cfg.NATS_STREAM_REPLICAS);

  const window = 15 * 60;
  const perAccount = cfg.RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT;
  const app: AppContext = {
    cfg,
    logger,
    pool,
    prisma,
    redis,
    graph: createGraphClient({
      baseUrl: baseOf(subgraphUrl(cfg, 'graph')),
      caller: 'user',
      secret: cfg.INTERNAL_SIGNING_SECRET,
    }),
    limits: {
      loginThrottle: createLoginThrottle(redis, {
        keyPrefix: `${cfg.REDIS_KEY_PREFIX}rl:login-account`,
        freeFailures: perAccount,
        baseSeconds: cfg.LOGIN_BACKOFF_BASE_SECONDS,
        maxSeconds: cfg.LOGIN_BACKOFF_MAX_SECONDS,
      }),
      knownIps: createKnownIps(redis, logger, {
        keyPrefix: cfg.REDIS_KEY_PREFIX,
        days: cfg.LOGIN_KNOWN_IP_DAYS,
      }),
      loginFailuresPerIp: createLimiter(redis, {
        keyPrefix: `${cfg.REDIS_KEY_PREFIX}rl:login-ip`,
        points: perAccount * 5,
        durationSeconds: window,
      }),
      refreshPerSession: createLimiter(redis, {
        keyPrefix: `${cfg.REDIS_KEY_PREFIX}rl:refresh-session`,
        points: cfg.RATE_LIMIT_REFRESH_PER_SESSION_PER_MINUTE,
        durationSeconds: 60,
      }),
    },
  };

  const http = createHttpServer({
    logger,
    probes: { postgres: postgresProbe(pool), redis: redisProbe(redis), nats: natsProbe(nc) },
    internalSecret: cfg.INTERNAL_SIGNING_SECRET,
  });
  registerInternalRoutes(http, app);
  await mountSubgraph<RequestContext>({
    app: http,
    logger,
    schemaFile: new URL('../schema.graphql', import.meta.url),
    resolvers,
    signingSecret: cfg.INTERNAL_SIGNING_SECRET,
    context: (viewer) => ({
      app,
      viewer,
      loaders: createLoaders(pool, app.graph, viewer.userId ?? null),
    }),
  });
  const relay = startConfiguredRelay(cfg, { pool, nc, logger }, 'users');

  return listenService(http, { host: cfg.HOST, port, logger, message: 'user subgraph listening' }, [
    () => relay.stop(),
    () => nc.drain(),
    () => redis.disconnect(),
    () => prisma.$disconnect(),
    () => pool.end(),
  ]);
}
