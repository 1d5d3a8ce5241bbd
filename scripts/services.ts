// How each service's process starts: every subgraph and worker of lib/registry.ts, and the
// gateway (npm start, docker compose and the test stack all read this). A new registry row
// needs its starter here; the `satisfies` clauses fail the type check until it has one.
import type { Config } from '../lib/config.js';
import type { RunningService } from '../lib/platform/http/server.js';
import {
  SUBGRAPH_NAMES,
  WORKER_NAMES,
  type SubgraphName,
  type WorkerName,
} from '../lib/registry.js';

export type StartService = (cfg: Config, port?: number) => Promise<RunningService>;

const subgraphStarters = {
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
  engagement: async (cfg, port) =>
    (await import('../subgraphs/engagement/src/service.js')).startEngagementService(cfg, port),
  notification: async (cfg, port) =>
    (await import('../subgraphs/notification/src/service.js')).startNotificationService(cfg, port),
} satisfies Record<SubgraphName, StartService>;

const workerStarters = {
  'feed-worker': async (cfg, port) =>
    (await import('../subgraphs/feed/src/service.js')).startFeedWorker(cfg, port),
  'search-worker': async (cfg, port) =>
    (await import('../subgraphs/search/src/service.js')).startSearchWorker(cfg, port),
  'notification-worker': async (cfg, port) =>
    (await import('../subgraphs/notification/src/service.js')).startNotificationWorker(cfg, port),
} satisfies Record<WorkerName, StartService>;

/** Every subgraph by name, in the registry's (start) order. */
export const SUBGRAPHS: Record<string, StartService> = Object.fromEntries(
  SUBGRAPH_NAMES.map((name) => [name, subgraphStarters[name]]),
);

/** Background workers that can run on replicas of their own (not started by default). */
export const WORKERS: Record<string, StartService> = Object.fromEntries(
  WORKER_NAMES.map((name) => [name, workerStarters[name]]),
);

export const SERVICES: Record<string, StartService> = {
  ...SUBGRAPHS,
  ...WORKERS,
  gateway: async (cfg, port) =>
    (await import('../gateway/src/server.js')).startGateway(cfg, { port }),
};
