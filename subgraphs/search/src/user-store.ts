// The search subgraph's table of people (search.users), written for every backend like
// search.posts: each row's profile and follower count carry the event time they were last
// changed at, so a redelivered or late event changes nothing and never undoes a newer one.
import type pg from 'pg';
import { foldName } from './user-query.js';

/** A user as the people index holds it. */
export interface IndexedUser {
  id: string;
  username: string;
  displayName: string | null;
  followerCount: number;
}

/** A profile as of `at` (user.created, user.updated or the reindex). */
export interface ProfileChange {
  userId: string;
  username: string;
  displayName: string | null;
  at: string;
}

/** A follower count as of `at` (graph.followed / graph.unfollowed). */
export interface FollowerCountChange {
  userId: string;
  followerCount: number;
  at: string;
}

interface UserSql {
  id: string;
  username: string;
  display_name: string | null;
  follower_count: number;
  searchable: boolean;
}

const RETURNING = `RETURNING user_id::text AS id, username, display_name, follower_count,
  version_at > '-infinity' AS searchable`;

const toIndexed = (r: UserSql): IndexedUser => ({
  id: r.id,
  username: r.username,
  displayName: r.display_name,
  followerCount: r.follower_count,
});

const profileDocs = (changes: readonly ProfileChange[]) =>
  JSON.stringify(
    changes.map((c) => ({
      ...c,
      usernameKey: foldName(c.username),
      nameKey: foldName(c.displayName ?? ''),
    })),
  );

/**
 * Writes profiles newer than what is indexed (one statement, so concurrent deliveries of
 * the same event serialize on the row). Returns the users whose profile was written, as
 * they now are.
 */
export async function applyProfiles(
  pool: pg.Pool,
  changes: readonly ProfileChange[],
): Promise<IndexedUser[]> {
  if (changes.length === 0) return [];
  const { rows } = await pool.query<UserSql>(
    `INSERT INTO search.users AS s (user_id, username, display_name, username_key, name_key, version_at)
     SELECT x."userId", x.username, x."displayName", x."usernameKey", x."nameKey", x.at
     FROM jsonb_to_recordset($1::jsonb)
       AS x("userId" bigint, username text, "displayName" text, "usernameKey" text, "nameKey" text, at timestamptz)
     ORDER BY x."userId"
     ON CONFLICT (user_id) DO UPDATE SET username = EXCLUDED.username,
       display_name = EXCLUDED.display_name, username_key = EXCLUDED.username_key,
       name_key = EXCLUDED.name_key, version_at = EXCLUDED.version_at,
       indexed_at = clock_timestamp()
     WHERE s.version_at < EXCLUDED.version_at
     ${RETURNING}`,
    [profileDocs(changes)],
  );
  return rows.map(toIndexed);
}

/**
 * Writes a follower count unless the row holds one from a later event. Counts of the same
 * millisecond: the last one applied wins (the graph gives no finer order). A count may
 * arrive before the profile: the row waits, unsearchable, for it. Returns the user as it
 * now is when the change made it into a searchable row, else null.
 */
export async function applyFollowerCount(
  pool: pg.Pool,
  change: FollowerCountChange,
): Promise<{ applied: boolean; user: IndexedUser | null }> {
  const { rows } = await pool.query<UserSql>(
    `INSERT INTO search.users AS s (user_id, follower_count, followers_at)
     VALUES ($1, $2, $3)
     ON CONFLICT (user_id) DO UPDATE SET follower_count = EXCLUDED.follower_count,
       followers_at = EXCLUDED.followers_at, indexed_at = clock_timestamp()
     WHERE s.followers_at < EXCLUDED.followers_at
       OR (s.followers_at = EXCLUDED.followers_at AND s.follower_count <> EXCLUDED.follower_count)
     ${RETURNING}`,
    [change.userId, change.followerCount, change.at],
  );
  const row = rows[0];
  return { applied: row !== undefined, user: row?.searchable ? toIndexed(row) : null };
}

/** Searchable users among these ids, as they now are (engine writes, the reindex). */
export async function indexedUsers(pool: pg.Pool, ids: readonly string[]): Promise<IndexedUser[]> {
  if (ids.length === 0) return [];
  const { rows } = await pool.query<UserSql>(
    `SELECT user_id::text AS id, username, display_name, follower_count, true AS searchable
     FROM search.users WHERE user_id = ANY($1::bigint[]) AND version_at > '-infinity'
     ORDER BY user_id`,
    [ids],
  );
  return rows.map(toIndexed);
}

/** Which of these users are searchable here (engine results are checked against it). */
export async function searchableAmong(pool: pg.Pool, ids: readonly bigint[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const { rows } = await pool.query<{ id: string }>(
    `SELECT user_id::text AS id FROM search.users
     WHERE user_id = ANY($1::bigint[]) AND version_at > '-infinity'`,
    [ids.map(String)],
  );
  return new Set(rows.map((r) => r.id));
}
