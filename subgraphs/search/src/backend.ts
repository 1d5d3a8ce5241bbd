// One interface for the two search engines: PostgreSQL full-text (the default) and
// Meilisearch (when MEILI_URL is set). Both are written by the indexer and the reindex
// command and queried by the resolvers; cursors are opaque and belong to the backend.
import type { IndexedPost } from './index-store.js';

export interface SearchHit {
  id: bigint;
  cursor: string;
}

export interface SearchPage {
  hits: SearchHit[];
  hasNextPage: boolean;
}

export interface SearchBackend {
  readonly name: 'postgres' | 'meilisearch';
  /** Creates or updates the index settings (idempotent; called at startup). */
  prepare(): Promise<void>;
  /** Posts whose caption or hashtags match every word (the last also as a prefix): relevance, then newest. */
  searchText(words: string[], after: string | null, limit: number): Promise<SearchPage>;
  /** Posts carrying this (normalized) hashtag, newest first. */
  byHashtag(tag: string, after: string | null, limit: number): Promise<SearchPage>;
  /** Writes these posts as they now are (the Postgres table is already written by then). */
  upsert(posts: IndexedPost[]): Promise<void>;
  remove(ids: string[]): Promise<void>;
  /** Waits until every write so far is searchable (Meilisearch indexes asynchronously). */
  flush(): Promise<void>;
  close(): Promise<void>;
}
