// The search subgraph's hand-wired context.
import type pg from 'pg';
import type { Config } from '../../../lib/config.js';
import type { Logger } from '../../../lib/platform/logger.js';
import type { Viewer } from '../../../lib/auth/viewer-context.js';
import type { SearchBackend } from './backend.js';

export interface AppContext {
  cfg: Config;
  logger: Logger;
  pool: pg.Pool;
  backend: SearchBackend;
}

export interface RequestContext {
  app: AppContext;
  viewer: Viewer;
}
