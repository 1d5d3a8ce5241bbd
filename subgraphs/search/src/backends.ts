// Picks the search engine from the configuration: Meilisearch when MEILI_URL is set,
// PostgreSQL full-text otherwise.
import type pg from 'pg';
import type { Config } from '../../../lib/config.js';
import type { SearchBackend } from './backend.js';
import { createMeiliBackend } from './meili-backend.js';
import { createPgBackend } from './pg-backend.js';
import type { SearchSettings } from './settings.js';

export function createBackend(
  cfg: Pick<Config, 'MEILI_URL' | 'MEILI_MASTER_KEY'>,
  settings: Pick<SearchSettings, 'MEILI_INDEX' | 'MEILI_USERS_INDEX' | 'SEARCH_TEXT_CANDIDATES'>,
  pool: pg.Pool,
): SearchBackend {
  return cfg.MEILI_URL
    ? createMeiliBackend({
        url: cfg.MEILI_URL,
        apiKey: cfg.MEILI_MASTER_KEY,
        index: settings.MEILI_INDEX,
        usersIndex: settings.MEILI_USERS_INDEX,
      })
    : createPgBackend(pool, { textCandidates: settings.SEARCH_TEXT_CANDIDATES });
}
