// The services `npm start` runs, in start order. A subgraph appears here once it exists.
import type { Config } from '../lib/config.js';

export interface Running {
  close(): Promise<void>;
}

export const SERVICES: Record<string, (cfg: Config) => Promise<Running>> = {
  user: async (cfg) => (await import('../subgraphs/user/src/service.js')).startUserService(cfg),
  gateway: async (cfg) => (await import('../gateway/src/server.js')).startGateway(cfg),
};
