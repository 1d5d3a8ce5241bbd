// Wires the feed subgraph: Redis timelines, the graph client, the GraphQL route and the
// materializer (durable JetStream consumers), which can also run on its own replicas.
import { subgraphUrl, type Config } from '../../../lib/config.js';
import { createPool } from '../../../lib/platform/db.js';
import { createLogger } from '../../../lib/platform/logger.js';
import { createRedis, isCluster } from '../../../lib/platform/redis.js';
import { natsProbe, postgresProbe, redisProbe } from '../../../lib/platform/health.js';
import {
  createHttpServer,
  listenService,
  type RunningService,
} from '../../../lib/platform/http/server.js';
import { mountSubgraph } from '../../../lib/platform/http/subgraph.js';
import { connectNats, ensureStreams } from '../../../lib/platform/nats.js';
import { baseOf } from '../../../lib/clients/internal-http.js';
import { createGraphClient } from '../../../lib/clients/graph-client.js';
import { consumerServiceCleanups } from '../../../lib/platform/consumer.js';
import type { AppContext, RequestContext } from './context.js';
import { startMaterializer } from './materializer.js';
import { resolvers } from './resolvers.js';
import { feedSettings } from './settings.js';
import { createTimelines } from './timelines.js';

export async function createFeedApp(
  cfg: Config,
  logger = createLogger('feed', cfg),
): Promise<AppContext> {
  const settings = feedSettings(cfg);
  const pool = createPool(cfg);
  const redis = createRedis(cfg, 'mosaic-feed', logger);
  return {
    cfg,
    settings,
    logger,
    pool,
    redis,
    graph: createGraphClient({
      baseUrl: baseOf(subgraphUrl(cfg, 'graph')),
      caller: 'feed',
      secret: cfg.INTERNAL_SIGNING_SECRET,
      timeoutMs: 30_000,
    }),
    timelines: createTimelines(redis, {
      prefix: cfg.REDIS_KEY_PREFIX,
      cap: settings.FEED_TIMELINE_CAP,
      ttlSeconds: settings.FEED_INACTIVE_DAYS * 86_400,
      cluster: isCluster(redis),
    }),
  };
}

/** Broker connection, streams and the HTTP shell shared by the feed API and its worker. */
async function feedShell(app: AppContext, name: string, withInternalRoutes: boolean) {
  const { cfg, logger, pool, redis } = app;
  const nc = await connectNats(cfg, `mosaic-${name}`, logger);
  await ensureStreams(nc, cfg.NATS_PREFIX, cfg.NATS_STREAM_REPLICAS);
  const http = createHttpServer({
    logger,
    probes: { postgres: postgresProbe(pool), redis: redisProbe(redis), nats: natsProbe(nc) },
    ...(withInternalRoutes ? { internalSecret: cfg.INTERNAL_SIGNING_SECRET } : {}),
  });
  return { nc, http };
}

/**
 * The materializer alone (plus /health and /ready), for running it on replicas of its own:
 * `node dist/scripts/start.js feed-worker`. Port FEED_PORT + 100 unless given.
 */
export async function startFeedWorker(
  cfg: Config,
  port = cfg.FEED_PORT + 100,
): Promise<RunningService> {
  const app = await createFeedApp(cfg, createLogger('feed-worker', cfg));
  const { nc, http } = await feedShell(app, 'feed-worker', false);
  const consumers = await startMaterializer(app, nc);
  return listenService(
    http,
    { host: cfg.HOST, port, logger: app.logger, message: 'feed worker running', path: '' },
    consumerServiceCleanups(app, nc, consumers),
  );
}

export async function startFeedService(cfg: Config, port = cfg.FEED_PORT): Promise<RunningService> {
  const app = await createFeedApp(cfg);
  const { nc, http } = await feedShell(app, 'feed', true);
  await mountSubgraph<RequestContext>({
    app: http,
    logger: app.logger,
    schemaFile: new URL('../schema.graphql', import.meta.url),
    resolvers,
    signingSecret: cfg.INTERNAL_SIGNING_SECRET,
    context: (viewer) => ({ app, viewer }),
  });
  const consumers = app.settings.FEED_MATERIALIZER ? await startMaterializer(app, nc) : [];
  return listenService(
    http,
    {
      host: cfg.HOST,
      port,
      logger: app.logger,
      message: 'feed subgraph listening',
      fields: { materializer: app.settings.FEED_MATERIALIZER },
    },
    consumerServiceCleanups(app, nc, consumers),
  );
}
