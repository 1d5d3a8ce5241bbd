// Wires the graph subgraph: clients, the GraphQL route, the internal API, the outbox relay.
import { subgraphUrl, type Config } from '../../../lib/config.js';
import { createPool, createPrisma } from '../../../lib/platform/db.js';
import { createLogger } from '../../../lib/platform/logger.js';
import { natsProbe, postgresProbe } from '../../../lib/platform/health.js';
import {
  createHttpServer,
  listenService,
  type RunningService,
} from '../../../lib/platform/http/server.js';
import { mountSubgraph } from '../../../lib/platform/http/subgraph.js';
import { connectNats, ensureStreams } from '../../../lib/platform/nats.js';
import { startConfiguredRelay } from '../../../lib/platform/outbox/relay.js';
import { baseOf } from '../../../lib/clients/internal-http.js';
import { createUserClient } from '../../../lib/clients/user-client.js';
import type { AppContext, RequestContext } from './context.js';
import { registerInternalRoutes } from './internal-routes.js';
import { createLoaders } from './loaders.js';
import { resolvers } from './resolvers.js';

export async function startGraphService(
  cfg: Config,
  port = cfg.GRAPH_PORT,
): Promise<RunningService> {
  const logger = createLogger('graph', cfg);
  const pool = createPool(cfg);
  const prisma = createPrisma(pool);
  const nc = await connectNats(cfg, 'mosaic-graph', logger);
  await ensureStreams(nc, cfg.NATS_PREFIX, cfg.NATS_STREAM_REPLICAS);

  const app: AppContext = {
    cfg,
    logger,
    pool,
    prisma,
    users: createUserClient({
      baseUrl: baseOf(subgraphUrl(cfg, 'user')),
      caller: 'graph',
      secret: cfg.INTERNAL_SIGNING_SECRET,
    }),
    knownUsers: new Set(),
  };

  const http = createHttpServer({
    logger,
    probes: { postgres: postgresProbe(pool), nats: natsProbe(nc) },
    internalSecret: cfg.INTERNAL_SIGNING_SECRET,
  });
  await mountSubgraph<RequestContext>({
    app: http,
    logger,
    schemaFile: new URL('../schema.graphql', import.meta.url),
    resolvers,
    signingSecret: cfg.INTERNAL_SIGNING_SECRET,
    context: (viewer) => ({ app, viewer, loaders: createLoaders(pool, viewer.userId) }),
  });
  registerInternalRoutes(http, app);
  const relay = startConfiguredRelay(cfg, { pool, nc, logger }, 'graph');

  return listenService(
    http,
    { host: cfg.HOST, port, logger, message: 'graph subgraph listening' },
    [() => relay.stop(), () => nc.drain(), () => prisma.$disconnect(), () => pool.end()],
  );
}
