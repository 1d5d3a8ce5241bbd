// The feed subgraph's hand-wired context.
import type pg from 'pg';
import type { RedisClient as Redis } from '../../../lib/platform/redis.js';
import type { Config } from '../../../lib/config.js';
import type { Logger } from '../../../lib/platform/logger.js';
import type { Viewer } from '../../../lib/auth/viewer-context.js';
import type { GraphClient } from '../../../lib/clients/graph-client.js';
import type { FeedSettings } from './settings.js';
import type { Timelines } from './timelines.js';

export interface AppContext {
  cfg: Config;
  /** FEED_* (settings.ts), read from cfg's environment. */
  settings: FeedSettings;
  logger: Logger;
  pool: pg.Pool;
  redis: Redis;
  graph: GraphClient;
  timelines: Timelines;
}

export interface RequestContext {
  app: AppContext;
  viewer: Viewer;
}
