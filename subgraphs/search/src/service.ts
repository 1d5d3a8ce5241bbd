// Wires the search subgraph: the search backend (Postgres full-text or Meilisearch), the
// GraphQL route and the indexer (a durable JetStream consumer), which can also run on
// replicas of its own (`search-worker`).
import { subgraphUrl, type Config } from '../../../lib/config.js';
import { createGraphClient } from '../../../lib/clients/graph-client.js';
import { baseOf } from '../../../lib/clients/internal-http.js';
import { createPool } from '../../../lib/platform/db.js';
import { createLogger, type Logger } from '../../../lib/platform/logger.js';
import { natsProbe, postgresProbe } from '../../../lib/platform/health.js';
import {
  createHttpServer,
  listenService,
  type RunningService,
} from '../../../lib/platform/http/server.js';
import { mountSubgraph } from '../../../lib/platform/http/subgraph.js';
import { connectNats, ensureStreams } from '../../../lib/platform/nats.js';
import { createBackend } from './backends.js';
import type { AppContext, RequestContext } from './context.js';
import { startIndexer, type RunningIndexer } from './indexer.js';
import { resolvers } from './resolvers.js';
import { searchSettings } from './settings.js';

export interface SearchService extends RunningService {
  app: AppContext;
  /** The indexer of this process (null when SEARCH_INDEXER=false). */
  indexer: RunningIndexer | null;
}

export async function createSearchApp(cfg: Config, logger: Logger): Promise<AppContext> {
  const settings = searchSettings(cfg);
  const pool = createPool(cfg);
  const backend = createBackend(cfg, settings, pool);
  await backend.prepare();
  const graph = createGraphClient({
    baseUrl: baseOf(subgraphUrl(cfg, 'graph')),
    caller: 'search',
    secret: cfg.INTERNAL_SIGNING_SECRET,
  });
  return { cfg, settings, logger, pool, backend, graph };
}

async function start(
  cfg: Config,
  port: number,
  role: 'search' | 'search-worker',
): Promise<SearchService> {
  const logger = createLogger(role, cfg);
  const app = await createSearchApp(cfg, logger);
  const nc = await connectNats(cfg, `mosaic-${role}`, logger);
  await ensureStreams(nc, cfg.NATS_PREFIX, cfg.NATS_STREAM_REPLICAS);
  const http = createHttpServer({
    logger,
    probes: { postgres: postgresProbe(app.pool), nats: natsProbe(nc) },
  });
  if (role === 'search') {
    await mountSubgraph<RequestContext>({
      app: http,
      logger,
      schemaFile: new URL('../schema.graphql', import.meta.url),
      resolvers,
      signingSecret: cfg.INTERNAL_SIGNING_SECRET,
      context: (viewer) => ({ app, viewer }),
    });
  }
  const indexer =
    role === 'search-worker' || app.settings.SEARCH_INDEXER ? await startIndexer(app, nc) : null;
  const running = await listenService(
    http,
    {
      host: cfg.HOST,
      port,
      logger,
      message: role === 'search' ? 'search subgraph listening' : 'search worker running',
      fields: { backend: app.backend.name, indexer: indexer !== null },
      path: role === 'search' ? '/graphql' : '',
    },
    [() => indexer?.stop(), () => nc.drain(), () => app.backend.close(), () => app.pool.end()],
  );
  return { ...running, app, indexer };
}

export const startSearchService = (cfg: Config, port = cfg.SEARCH_PORT): Promise<SearchService> =>
  start(cfg, port, 'search');

/**
 * The indexer alone (plus /health and /ready): `node dist/scripts/start.js search-worker`.
 * Port SEARCH_PORT + 100 unless given.
 */
export const startSearchWorker = (
  cfg: Config,
  port = cfg.SEARCH_PORT + 100,
): Promise<SearchService> => start(cfg, port, 'search-worker');
