// The notification subgraph's hand-wired context.
import type pg from 'pg';
import type { Config } from '../../../lib/config.js';
import type { Logger } from '../../../lib/platform/logger.js';
import type { RedisClient } from '../../../lib/platform/redis.js';
import type { Viewer } from '../../../lib/auth/viewer-context.js';
import type { GraphClient } from '../../../lib/clients/graph-client.js';
import type { UserClient } from '../../../lib/clients/user-client.js';
import type { NotificationSettings } from './settings.js';

export interface AppContext {
  cfg: Config;
  settings: NotificationSettings;
  logger: Logger;
  pool: pg.Pool;
  /** Live hints' replay streams (lib/platform/live-publish.ts). */
  redis: RedisClient;
  graph: GraphClient;
  users: UserClient;
}

export interface RequestContext {
  app: AppContext;
  viewer: Viewer;
}
