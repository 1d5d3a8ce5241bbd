// The post subgraph's internal API, for other subgraphs: batch-first.
import { callInternal, type InternalClientOptions } from './internal-http.js';

export interface PostSummary {
  id: string;
  authorId: string;
  caption: string;
  /** Normalized (lib/contracts/hashtags.ts). */
  hashtags: string[];
  createdAt: string;
}

export interface PostBatch {
  posts: PostSummary[];
  /** Cursor of the next batch, null after the last one. */
  next: string | null;
  /** First batch only: about how many live and deleted posts there are (-1: unknown). */
  estimatedTotal?: number;
}

/** A live post and its author (lookup). */
export interface PostRef {
  id: string;
  authorId: string;
}

/** At most this many ids per lookup call. */
export const MAX_POST_LOOKUP_IDS = 1000;

export interface PostClient {
  /** Live posts in id order, `limit` (≤ 5,000) at a time from a cursor. */
  livePosts(opts?: { after?: string | null; limit?: number }): Promise<PostBatch>;
  /** The live posts among `ids` (≤ 1,000) with their authors; deleted and unknown ids are left out. */
  lookup(ids: readonly string[]): Promise<PostRef[]>;
}

export function createPostClient(opts: InternalClientOptions): PostClient {
  return {
    livePosts: (o = {}) =>
      callInternal<PostBatch>(opts, '/internal/v1/posts', {
        query: { after: o.after ?? undefined, limit: o.limit },
      }),
    async lookup(ids) {
      const unique = [...new Set(ids)];
      if (unique.length === 0) return [];
      return (
        await callInternal<{ posts: PostRef[] }>(opts, '/internal/v1/posts/lookup', {
          body: { ids: unique },
        })
      ).posts;
    },
  };
}
