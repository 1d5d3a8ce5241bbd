// Wires the post subgraph: clients, storage, the GraphQL route, the internal upload
// route, the media file and fs upload routes, the outbox relay and the media janitor.
import { subgraphUrl, type Config } from '../../../lib/config.js';
import { baseOf } from '../../../lib/clients/internal-http.js';
import { createGraphClient } from '../../../lib/clients/graph-client.js';
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
import type { AppContext, RequestContext } from './context.js';
import { startJanitor } from './janitor.js';
import { registerInternalRoutes } from './internal-routes.js';
import { createLoaders } from './loaders.js';
import { reportTools } from './media/ffmpeg.js';
import { mediaLimits } from './media/spool.js';
import { resolvers } from './resolvers.js';
import { postSettings } from './settings.js';
import { createStorage } from './storage/create-storage.js';
import { registerMediaFileRoutes } from './storage/file-route.js';
import { uploadGate } from './uploads/direct.js';
import { createVisibilityLoader } from './visibility.js';
import { createMediaAccess } from './media-access.js';
import { registerFsUploadRoutes } from './uploads/put-route.js';
import { registerUploadRoute } from './uploads/rest-route.js';

export interface PostService extends RunningService {
  /** For tests and tools: the wired clients (runJanitorOnce(app) etc.). */
  app: AppContext;
}

export async function startPostService(cfg: Config, port = cfg.POST_PORT): Promise<PostService> {
  const logger = createLogger('post', cfg);
  // Which ffmpeg/ffprobe parse uploaded videos, and their version: logged once per process.
  await reportTools(logger);
  const settings = postSettings(cfg);
  const pool = createPool(cfg);
  const prisma = createPrisma(pool);
  const nc = await connectNats(cfg, 'mosaic-post', logger);
  await ensureStreams(nc, cfg.NATS_PREFIX, cfg.NATS_STREAM_REPLICAS);
  const storage = await createStorage(cfg);

  const app: AppContext = {
    cfg,
    settings,
    logger,
    pool,
    prisma,
    storage,
    mediaLimits: mediaLimits(cfg),
    graph: createGraphClient({
      baseUrl: baseOf(subgraphUrl(cfg, 'graph')),
      caller: 'post',
      secret: cfg.INTERNAL_SIGNING_SECRET,
    }),
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
    context: (viewer) => ({
      app,
      viewer,
      loaders: createLoaders(pool),
      visibility: createVisibilityLoader(app.graph, viewer.userId),
    }),
  });
  registerUploadRoute(http, app);
  registerInternalRoutes(http, app);
  if (storage.kind === 'fs') {
    registerFsUploadRoutes(http, storage, cfg, uploadGate(app));
    registerMediaFileRoutes(
      http,
      storage,
      createMediaAccess(pool, app.graph, cfg.INTERNAL_SIGNING_SECRET),
    );
  }
  const relay = startConfiguredRelay(cfg, { pool, nc, logger }, 'posts');
  const janitor = startJanitor(app);

  const running = await listenService(
    http,
    {
      host: cfg.HOST,
      port,
      logger,
      message: 'post subgraph listening',
      fields: { storage: storage.kind },
    },
    [
      () => janitor.stop(),
      () => relay.stop(),
      () => nc.drain(),
      () => prisma.$disconnect(),
      () => pool.end(),
    ],
  );
  return { ...running, app };
}
