// Wires the engagement subgraph: clients of the post and graph subgraphs, the GraphQL route,
// the outbox relay and the post.deleted consumer.
import { subgraphUrl, type Config } from '../../../lib/config.js';
import { createGraphClient } from '../../../lib/clients/graph-client.js';
import { baseOf } from '../../../lib/clients/internal-http.js';
import { createPostClient } from '../../../lib/clients/post-client.js';
import { createPool } from '../../../lib/platform/db.js';
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
import type { AppContext, RequestContext } from './context.js';
import { createLoaders } from './loaders.js';
import { startPostDeletions } from './post-deletions.js';
import { resolvers } from './resolvers.js';

export async function startEngagementService(
  cfg: Config,
  port = cfg.ENGAGEMENT_PORT,
): Promise<RunningService> {
  const logger = createLogger('engagement', cfg);
  const pool = createPool(cfg);
  const nc = await connectNats(cfg, 'mosaic-engagement', logger);
  await ensureStreams(nc, cfg.NATS_PREFIX, cfg.NATS_STREAM_REPLICAS);
  const internal = (name: 'post' | 'graph') => ({
    baseUrl: baseOf(subgraphUrl(cfg, name)),
    caller: 'engagement',
    secret: cfg.INTERNAL_SIGNING_SECRET,
  });
  const app: AppContext = {
    cfg,
    logger,
    pool,
    posts: createPostClient(internal('post')),
    graph: createGraphClient(internal('graph')),
  };

  const http = createHttpServer({
    logger,
    probes: { postgres: postgresProbe(pool), nats: natsProbe(nc) },
  });
  await mountSubgraph<RequestContext>({
    app: http,
    logger,
    schemaFile: new URL('../schema.graphql', import.meta.url),
    resolvers,
    signingSecret: cfg.INTERNAL_SIGNING_SECRET,
    context: (viewer) => ({ app, viewer, loaders: createLoaders(app, viewer.userId) }),
  });
  const relay = startConfiguredRelay(cfg, { pool, nc, logger }, 'engagement');
  const deletions = await startPostDeletions(app, nc);

  return listenService(
    http,
    { host: cfg.HOST, port, logger, message: 'engagement subgraph listening' },
    [() => deletions.stop(), () => relay.stop(), () => nc.drain(), () => pool.end()],
  );
}
