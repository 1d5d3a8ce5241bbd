// The composition root: every subgraph service by name, in start order. A new subgraph
// adds one line here (npm start, docker compose and the test stack all read this).
import type { Config } from '../lib/config.js';
import type { RunningService } from '../lib/http/server.js';

export type StartService = (cfg: Config, port?: number) => Promise<RunningService>;

export const SUBGRAPHS: Record<string, StartService> = {
  user: async (cfg, port) =>
    (await import('../subgraphs/user/src/service.js')).startUserService(cfg, port),
  graph: async (cfg, port) =>
    (await import('../subgraphs/graph/src/service.js')).startGraphService(cfg, port),
};

export const SERVICES: Record<string, StartService> = {
  ...SUBGRAPHS,
  gateway: async (cfg, port) =>
    (await import('../gateway/src/server.js')).startGateway(cfg, { port }),
};
