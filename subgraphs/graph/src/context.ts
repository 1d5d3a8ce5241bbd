// The graph subgraph's hand-wired context.
import type pg from 'pg';
import type { Config } from '../../../lib/config.js';
import type { PrismaClient } from '../../../lib/platform/db.js';
import type { Logger } from '../../../lib/platform/logger.js';
import type { Viewer } from '../../../lib/auth/viewer-context.js';
import type { UserClient } from '../../../lib/clients/user-client.js';
import type { GraphLoaders } from './loaders.js';

export interface AppContext {
  cfg: Config;
  logger: Logger;
  pool: pg.Pool;
  prisma: PrismaClient;
  users: UserClient;
  /** Ids known to be accounts (users are never hard-deleted today), to skip the lookup. */
  knownUsers: Set<string>;
}

export interface RequestContext {
  app: AppContext;
  viewer: Viewer;
  loaders: GraphLoaders;
}
