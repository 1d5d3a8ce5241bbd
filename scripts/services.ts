// The composition root: every subgraph service by name, in start order. A new subgraph
// adds one line here (npm start, docker compose and the test stack all read this).
import type { Config } from '../lib/config.js';
import type { RunningService } from '../lib/http/server.js';

export type StartService = (cfg: Config, port?: number) => Promise<RunningService>;

export const SUBGRAPHS: Record<string, StartService> = {
  user: async (cfg, port) =>
    (await import('../subgraphs/user/src/service.js')).startUserService(cfg, port),
  post: async (cfg, port) =>
    (await import('../subgraphs/post/src/service.js')).startPostService(cfg, port),
  graph: async (cfg, port) =>
    (await import('../subgraphs/graph/src/service.js')).startGraphService(cfg, port),
  feed: async (cfg, port) =>
    (await import('../subgraphs/feed/src/service.js')).startFeedService(cfg, port),
  search: async (cfg, port) =>
    (await import('../subgraphs/search/src/service.js')).startSearchService(cfg, port),
};

/** Background workers that can run on replicas of their own (not started by default). */
export const WORKERS: Record<string, StartService> = {
  'feed-worker': async (cfg, port) =>
    (await import('../subgraphs/feed/src/service.js')).startFeedWorker(cfg, port),
  'search-worker': async (cfg, port) =>
    (await import('../subgraphs/search/src/service.js')).startSearchWorker(cfg, port),
};

export const SERVICES: Record<string, StartService> = {
  ...SUBGRAPHS,
  ...WORKERS,
  gateway: async (cfg, port) =>
    (await import('../gateway/src/server.js')).startGateway(cfg, { port }),
};
