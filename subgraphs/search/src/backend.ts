// One interface for the two search engines: PostgreSQL (the default) and Meilisearch (when
// MEILI_URL is set), for posts and people. Both are written by the indexer and the reindex
// command and queried by the resolvers; cursors are opaque and belong to the backend.
import type { IndexedPost } from './index-store.js';
import type { IndexedUser } from './user-store.js';

export interface SearchHit {
  id: bigint;
  /** Whose visibility decides whether the viewer may see it: a post's author, or the user. */
  ownerId: string;
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
  /**
   * People by the folded query (user-query.ts foldName): exact username, then prefixes of the
   * username or display name, then close spellings; the most followed first within each.
   */
  searchUsers(key: string, after: string | null, limit: number): Promise<SearchPage>;
  /** Writes these posts as they now are (the Postgres table is already written by then). */
  upsert(posts: IndexedPost[]): Promise<void>;
  /** Writes these users as they now are (search.users is already written by then). */
  upsertUsers(users: IndexedUser[]): Promise<void>;
  remove(ids: string[]): Promise<void>;
  /** Waits until every write so far is searchable (Meilisearch indexes asynchronously). */
  flush(): Promise<void>;
  close(): Promise<void>;
}
