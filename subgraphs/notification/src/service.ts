// Wires the notification subgraph: the GraphQL route and the consumers (durable JetStream
// consumers of graph, engagement and post events), which can also run on replicas of their own.
import { subgraphUrl, type Config } from '../../../lib/config.js';
import { createPool } from '../../../lib/platform/db.js';
import { createLogger } from '../../../lib/platform/logger.js';
import { createRedis } from '../../../lib/platform/redis.js';
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
import { createUserClient } from '../../../lib/clients/user-client.js';
import { consumerServiceCleanups } from '../../../lib/platform/consumer.js';
import type { AppContext, RequestContext } from './context.js';
import { startConsumers } from './consumers.js';
import { resolvers } from './resolvers.js';
import { notificationSettings } from './settings.js';

export function createNotificationApp(
  cfg: Config,
  logger = createLogger('notification', cfg),
): AppContext {
  const internal = (name: 'graph' | 'user') => ({
    baseUrl: baseOf(subgraphUrl(cfg, name)),
    caller: 'notification',
    secret: cfg.INTERNAL_SIGNING_SECRET,
  });
  return {
    cfg,
    settings: notificationSettings(cfg),
    logger,
    pool: createPool(cfg),
    redis: createRedis(cfg, 'mosaic-notification', logger),
    graph: createGraphClient(internal('graph')),
    users: createUserClient(internal('user')),
  };
}

/** Broker connection, streams and the HTTP shell shared by the API and its worker. */
async function shell(app: AppContext, name: string) {
  const { cfg, logger, pool, redis } = app;
  const nc = await connectNats(cfg, `mosaic-${name}`, logger);
  await ensureStreams(nc, cfg.NATS_PREFIX, cfg.NATS_STREAM_REPLICAS);
  const http = createHttpServer({
    logger,
    probes: { postgres: postgresProbe(pool), redis: redisProbe(redis), nats: natsProbe(nc) },
  });
  return { nc, http };
}

/**
 * The consumers alone (plus /health and /ready), for running them on replicas of their own:
 * `node dist/scripts/start.js notification-worker`. Port NOTIFICATION_PORT + 100 unless given.
 */
export async function startNotificationWorker(
  cfg: Config,
  port = cfg.NOTIFICATION_PORT + 100,
): Promise<RunningService> {
  const app = createNotificationApp(cfg, createLogger('notification-worker', cfg));
  const { nc, http } = await shell(app, 'notification-worker');
  const consumers = await startConsumers(app, nc);
  return listenService(
    http,
    {
      host: cfg.HOST,
      port,
      logger: app.logger,
      message: 'notification worker running',
      path: '',
    },
    consumerServiceCleanups(app, nc, consumers),
  );
}

export async function startNotificationService(
  cfg: Config,
  port = cfg.NOTIFICATION_PORT,
): Promise<RunningService> {
  const app = createNotificationApp(cfg);
  const { nc, http } = await shell(app, 'notification');
  await mountSubgraph<RequestContext>({
    app: http,
    logger: app.logger,
    schemaFile: new URL('../schema.graphql', import.meta.url),
    resolvers,
    signingSecret: cfg.INTERNAL_SIGNING_SECRET,
    context: (viewer) => ({ app, viewer }),
  });
  const consumers = app.settings.NOTIFICATION_CONSUMERS ? await startConsumers(app, nc) : [];
  return listenService(
    http,
    {
      host: cfg.HOST,
      port,
      logger: app.logger,
      message: 'notification subgraph listening',
      fields: { consumers: app.settings.NOTIFICATION_CONSUMERS },
    },
    consumerServiceCleanups(app, nc, consumers),
  );
}
