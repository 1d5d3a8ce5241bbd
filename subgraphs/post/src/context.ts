// The post subgraph's hand-wired context: long-lived clients (AppContext) plus what each
// request adds (RequestContext).
import type pg from 'pg';
import type { Config } from '../../../lib/config.js';
import type { PrismaClient } from '../../../lib/platform/db.js';
import type { Logger } from '../../../lib/platform/logger.js';
import type { Viewer } from '../../../lib/auth/viewer-context.js';
import type { GraphClient } from '../../../lib/clients/graph-client.js';
import type { ObjectStorage } from './storage/object-storage.js';
import type { MediaLimits } from './media/spool.js';
import type { PostLoaders } from './loaders.js';
import type { PostSettings } from './settings.js';
import type { VisibilityLoader } from './visibility.js';

export interface AppContext {
  cfg: Config;
  /** The post subgraph's own settings (settings.ts), read from cfg's environment. */
  settings: PostSettings;
  logger: Logger;
  pool: pg.Pool;
  prisma: PrismaClient;
  storage: ObjectStorage;
  mediaLimits: MediaLimits;
  /** The visibility rule (graph subgraph): whose posts a viewer may not see. */
  graph: GraphClient;
}

export interface RequestContext {
  app: AppContext;
  viewer: Viewer;
  loaders: PostLoaders;
  /** Per request: author id → hidden from this viewer, private (one batched graph call). */
  visibility: VisibilityLoader;
}
