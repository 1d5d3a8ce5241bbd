// The graph subgraph's internal API for the feed: batch-first, never one user at a time.
import { callInternal, type InternalClientOptions } from './internal-http.js';

export interface EdgeBatch {
  ids: string[];
  /** Cursor of the next batch, null after the last one. */
  next: string | null;
}

/**
 * What a viewer may see of some users (the visibility rule, owned by the graph subgraph).
 * Each list names only the exceptions among the ids asked about, so the common answer for a
 * page of public authors is three empty arrays.
 */
export interface Visibility {
  /**
   * Users whose posts, media and follower/following lists the viewer may not see: private
   * accounts the viewer does not follow (and is not), and blocks in either direction.
   */
  contentHidden: string[];
  /** Users who have blocked the viewer: to the viewer they do not exist (not found). */
  profileHidden: string[];
  /**
   * Users the viewer has blocked. With profileHidden, the people a list of people (likers,
   * commenters, notification actors) leaves out; a private account is not among them: its
   * profile, likes and comments are public, only its posts and lists are not.
   */
  blocked: string[];
  /** Private accounts among the ids (their media is served only through expiring URLs). */
  private: string[];
}

/** At most this many ids per visibility call. */
export const MAX_VISIBILITY_IDS = 1000;

export interface GraphClient {
  /**
   * The visibility rule for one viewer (null: signed out) and up to 1,000 users, in one call.
   * Never cached by callers beyond one request: a block or privacy change holds on the next read.
   */
  visibility(viewerId: string | null, userIds: readonly string[]): Promise<Visibility>;
  /** Followers of a user, newest first, in batches of `limit` (≤ 10,000) from a cursor. */
  followers(userId: string, opts?: { after?: string | null; limit?: number }): Promise<EdgeBatch>;
  /** Whom a user follows, newest first, in batches. */
  following(userId: string, opts?: { after?: string | null; limit?: number }): Promise<EdgeBatch>;
  /** Which of these users are celebrities (follower count at or above the threshold). */
  celebritiesAmong(ids: readonly string[]): Promise<string[]>;
  /** The celebrities a user follows. */
  celebritiesFollowedBy(userId: string): Promise<string[]>;
  /** Every follower of a user, batch by batch. */
  allFollowers(userId: string, batchSize?: number): AsyncGenerator<string[]>;
}

export function createGraphClient(opts: InternalClientOptions): GraphClient {
  const edges =
    (direction: 'followers' | 'following') =>
    (userId: string, o: { after?: string | null; limit?: number } = {}) =>
      callInternal<EdgeBatch>(
        opts,
        `/internal/v1/users/${encodeURIComponent(userId)}/${direction}`,
        {
          query: { after: o.after ?? undefined, limit: o.limit },
        },
      );
  const followers = edges('followers');
  return {
    async visibility(viewerId, userIds) {
      const unique = [...new Set(userIds)];
      if (unique.length === 0)
        return { contentHidden: [], profileHidden: [], blocked: [], private: [] };
      return callInternal<Visibility>(opts, '/internal/v1/visibility', {
        body: { viewerId, userIds: unique },
      });
    },
    followers,
    following: edges('following'),
    async celebritiesAmong(ids) {
      if (ids.length === 0) return [];
      return (
        await callInternal<{ ids: string[] }>(opts, '/internal/v1/celebrities/among', {
          body: { ids },
        })
      ).ids;
    },
    async celebritiesFollowedBy(userId) {
      return (
        await callInternal<{ ids: string[] }>(
          opts,
          `/internal/v1/users/${encodeURIComponent(userId)}/celebrity-followees`,
        )
      ).ids;
    },
    async *allFollowers(userId, batchSize = 5000) {
      let after: string | null = null;
      do {
        const batch: EdgeBatch = await followers(userId, { after, limit: batchSize });
        if (batch.ids.length) yield batch.ids;
        after = batch.next;
      } while (after);
    },
  };
}
