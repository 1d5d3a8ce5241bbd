// Batch-first loading for a request: counters and flags for every user on a page in one
// query, and the viewer's relation to every user on a page in one query.
import DataLoader from 'dataloader';
import type pg from 'pg';
import { tryParseId } from '../../../lib/contracts/ids.js';

export interface Stats {
  followerCount: number;
  followingCount: number;
  isPrivate: boolean;
  pendingRequestCount: number;
}

/** The signed-in viewer's relation to a user (all false when signed out). */
export interface Relation {
  following: boolean;
  requested: boolean;
  followsViewer: boolean;
  viewerHasBlocked: boolean;
}

export interface GraphLoaders {
  stats: DataLoader<string, Stats>;
  relation: DataLoader<string, Relation>;
}

const NO_RELATION: Relation = {
  following: false,
  requested: false,
  followsViewer: false,
  viewerHasBlocked: false,
};

const ids = (keys: readonly string[]) =>
  keys
    .map(tryParseId)
    .filter((id): id is bigint => id !== null)
    .map(String);

export function createLoaders(pool: pg.Pool, viewerId: string | null): GraphLoaders {
  return {
    stats: new DataLoader(async (keys) => {
      const { rows } = await pool.query<{
        user_id: string;
        follower_count: string;
        following_count: string;
        is_private: boolean;
        pending_request_count: string;
      }>(
        `SELECT user_id, follower_count, following_count, is_private, pending_request_count
         FROM graph.user_stats WHERE user_id = ANY($1::bigint[])`,
        [ids(keys)],
      );
      const byId = new Map(rows.map((r) => [r.user_id, r]));
      return keys.map((k) => {
        const r = byId.get(k);
        return {
          followerCount: Number(r?.follower_count ?? 0),
          followingCount: Number(r?.following_count ?? 0),
          isPrivate: r?.is_private ?? false,
          pendingRequestCount: Number(r?.pending_request_count ?? 0),
        };
      });
    }),
    relation: new DataLoader(async (keys) => {
      if (!viewerId) return keys.map(() => NO_RELATION);
      const { rows } = await pool.query<{
        id: string;
        following: boolean;
        requested: boolean;
        follows_viewer: boolean;
        blocked: boolean;
      }>(
        `SELECT u.id::text AS id,
           EXISTS (SELECT 1 FROM graph.follows f WHERE f.follower_id = $1 AND f.followee_id = u.id) AS following,
           EXISTS (SELECT 1 FROM graph.follow_requests r WHERE r.requester_id = $1 AND r.target_id = u.id) AS requested,
           EXISTS (SELECT 1 FROM graph.follows f WHERE f.follower_id = u.id AND f.followee_id = $1) AS follows_viewer,
           EXISTS (SELECT 1 FROM graph.blocks b WHERE b.blocker_id = $1 AND b.blocked_id = u.id) AS blocked
         FROM unnest($2::bigint[]) AS u(id)`,
        [viewerId, ids(keys)],
      );
      const byId = new Map(rows.map((r) => [r.id, r]));
      return keys.map((k) => {
        const r = byId.get(k);
        if (!r) return NO_RELATION;
        return {
          following: r.following,
          requested: r.requested,
          followsViewer: r.follows_viewer,
          viewerHasBlocked: r.blocked,
        };
      });
    }),
  };
}
