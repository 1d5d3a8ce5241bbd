// The engagement subgraph's hand-wired context.
import type pg from 'pg';
import type { Config } from '../../../lib/config.js';
import type { Logger } from '../../../lib/platform/logger.js';
import type { Viewer } from '../../../lib/auth/viewer-context.js';
import type { GraphClient } from '../../../lib/clients/graph-client.js';
import type { PostClient } from '../../../lib/clients/post-client.js';
import type { EngagementLoaders } from './loaders.js';

export interface AppContext {
  cfg: Config;
  logger: Logger;
  pool: pg.Pool;
  /** Which posts are live and whose they are (post subgraph). */
  posts: PostClient;
  /** The visibility rule (graph subgraph). */
  graph: GraphClient;
}

export interface RequestContext {
  app: AppContext;
  viewer: Viewer;
  loaders: EngagementLoaders;
}
