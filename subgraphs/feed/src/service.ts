// Wires the feed subgraph: Redis timelines, the graph client, the GraphQL route and the
// materializer (durable JetStream consumers), which can also run on its own replicas.
import { subgraphUrl, type Config } from '../../../lib/config.js';
import { createPool } from '../../../lib/db.js';
import { createLogger } from '../../../lib/logger.js';
import { createRedis, isCluster } from '../../../lib/redis.js';
import { natsProbe, postgresProbe, redisProbe } from '../../../lib/health.js';
import { boundPort, createHttpServer, type RunningService } from '../../../lib/http/server.js';
import { mountSubgraph } from '../../../lib/http/subgraph.js';
import { connectNats, ensureStreams } from '../../../lib/nats.js';
import { baseOf } from '../../../lib/clients/internal-http.js';
import { createGraphClient } from '../../../lib/clients/graph-client.js';
import type { AppContext, RequestContext } from './context.js';
import { startMaterializer } from './materializer.js';
import { resolvers } from './resolvers.js';
import { createTimelines } from './timelines.js';

export async function createFeedApp(
  cfg: Config,
  logger = createLogger('feed', cfg),
): Promise<AppContext> {
  const pool = createPool(cfg);
  const redis = createRedis(cfg, 'mosaic-feed', logger);
  return {
    cfg,
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
      cap: cfg.FEED_TIMELINE_CAP,
      ttlSeconds: cfg.FEED_INACTIVE_DAYS * 86_400,
      cluster: isCluster(redis),
    }),
  };
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
  const { logger, pool, redis } = app;
  const nc = await connectNats(cfg, 'mosaic-feed-worker', logger);
  await ensureStreams(nc, cfg.NATS_PREFIX, cfg.NATS_STREAM_REPLICAS);
  const http = createHttpServer({
    logger,
    probes: { postgres: postgresProbe(pool), redis: redisProbe(redis), nats: natsProbe(nc) },
  });
  const consumers = await startMaterializer(app, nc);
  await http.listen({ port, host: cfg.HOST });
  const actualPort = boundPort(http, port);
  logger.info({ port: actualPort }, 'feed worker running');
  return {
    port: actualPort,
    url: `http://127.0.0.1:${actualPort}`,
    async close() {
      await http.close();
      for (const c of consumers) await c.stop();
      await nc.drain().catch(() => {});
      redis.disconnect();
      await pool.end();
    },
  };
}

export async function startFeedService(cfg: Config, port = cfg.FEED_PORT): Promise<RunningService> {
  const app = await createFeedApp(cfg);
  const { logger, pool, redis } = app;
  const nc = await connectNats(cfg, 'mosaic-feed', logger);
  await ensureStreams(nc, cfg.NATS_PREFIX, cfg.NATS_STREAM_REPLICAS);

  const http = createHttpServer({
    logger,
    probes: { postgres: postgresProbe(pool), redis: redisProbe(redis), nats: natsProbe(nc) },
    internalSecret: cfg.INTERNAL_SIGNING_SECRET,
  });
  await mountSubgraph<RequestContext>({
    app: http,
    logger,
    schemaFile: new URL('../schema.graphql', import.meta.url),
    resolvers,
    signingSecret: cfg.INTERNAL_SIGNING_SECRET,
    context: (viewer) => ({ app, viewer }),
  });
  const consumers = cfg.FEED_MATERIALIZER ? await startMaterializer(app, nc) : [];

  await http.listen({ port, host: cfg.HOST });
  const actualPort = boundPort(http, port);
  logger.info({ port: actualPort, materializer: cfg.FEED_MATERIALIZER }, 'feed subgraph listening');
  return {
    port: actualPort,
    url: `http://127.0.0.1:${actualPort}/graphql`,
    async close() {
      await http.close();
      for (const c of consumers) await c.stop();
      await nc.drain().catch(() => {});
      redis.disconnect();
      await pool.end();
    },
  };
}
