// The search subgraph's hand-wired context.
import type pg from 'pg';
import type { Config } from '../../../lib/config.js';
import type { GraphClient } from '../../../lib/clients/graph-client.js';
import type { Logger } from '../../../lib/platform/logger.js';
import type { Viewer } from '../../../lib/auth/viewer-context.js';
import type { SearchBackend } from './backend.js';
import type { SearchSettings } from './settings.js';

export interface AppContext {
  cfg: Config;
  /** MEILI_INDEX and SEARCH_* (settings.ts), read from cfg's environment. */
  settings: SearchSettings;
  logger: Logger;
  pool: pg.Pool;
  backend: SearchBackend;
  /** The visibility rule: results the viewer may not see are left out. */
  graph: Pick<GraphClient, 'visibility'>;
}

export interface RequestContext {
  app: AppContext;
  viewer: Viewer;
}
