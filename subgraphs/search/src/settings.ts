// The search subgraph's own settings (MEILI_INDEX, SEARCH_*), read from the same environment
// as the shared Config (lib/config.ts) and with its rules. The search service, its workers
// and the reindex read them once, at startup (createSearchApp), so a bad value stops them
// there. MEILI_URL and MEILI_MASTER_KEY stay in lib/config.ts: its development-secret check
// reads them.
import { z } from 'zod';
import { bool, defineSettings, int } from '../../../lib/config.js';

export const searchSettings = defineSettings({
  /** Meilisearch index uid (tests isolate themselves with their own). */
  MEILI_INDEX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('posts'),
  /** Meilisearch index uid of people (searchUsers). */
  MEILI_USERS_INDEX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('users'),
  /** Run the indexer inside the search service process (off when search-workers run it). */
  SEARCH_INDEXER: bool(true),
  /** Events the indexer works on at once per process. */
  SEARCH_CONSUMER_CONCURRENCY: int(16),
  /** Unacked events are redelivered after this long. */
  SEARCH_ACK_WAIT_SECONDS: int(30),
  /** Postgres text search ranks at most this many newest matches of a query (0: all). */
  SEARCH_TEXT_CANDIDATES: int(10_000),
});

export type SearchSettings = ReturnType<typeof searchSettings>;
