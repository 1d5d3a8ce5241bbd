// Batch-first loading for a request: counters for every user on a page in one query, and
// "does the viewer follow them" for every user on a page in one query.
import DataLoader from 'dataloader';
import type pg from 'pg';
import { tryParseId } from '../../../lib/contracts/ids.js';

export interface Stats {
  followerCount: number;
  followingCount: number;
}

export interface GraphLoaders {
  stats: DataLoader<string, Stats>;
  viewerFollows: DataLoader<string, boolean>;
}

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
      }>(
        'SELECT user_id, follower_count, following_count FROM graph.user_stats WHERE user_id = ANY($1::bigint[])',
        [ids(keys)],
      );
      const byId = new Map(rows.map((r) => [r.user_id, r]));
      return keys.map((k) => {
        const r = byId.get(k);
        return {
          followerCount: Number(r?.follower_count ?? 0),
          followingCount: Number(r?.following_count ?? 0),
        };
      });
    }),
    viewerFollows: new DataLoader(async (keys) => {
      if (!viewerId) return keys.map(() => false);
      const { rows } = await pool.query<{ followee_id: string }>(
        'SELECT followee_id FROM graph.follows WHERE follower_id = $1 AND followee_id = ANY($2::bigint[])',
        [viewerId, ids(keys)],
      );
      const followed = new Set(rows.map((r) => r.followee_id));
      return keys.map((k) => followed.has(k));
    }),
  };
}
