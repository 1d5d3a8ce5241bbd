// The feed's own projection of posts (feed.posts), kept current by the materializer.
import type pg from 'pg';
import { statement } from '../../../lib/platform/db.js';

export async function recordPost(
  pool: pg.Pool,
  p: { postId: string; authorId: string; createdAt: string },
): Promise<void> {
  await pool.query(
    `INSERT INTO feed.posts (post_id, author_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (post_id) DO NOTHING`,
    [p.postId, p.authorId, p.createdAt],
  );
}

/** Marks a post deleted (recording it if its creation was never seen). */
export async function markDeleted(
  pool: pg.Pool,
  p: { postId: string; authorId: string; createdAt: string; deletedAt: string },
): Promise<void> {
  await pool.query(
    `INSERT INTO feed.posts (post_id, author_id, created_at, deleted_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (post_id) DO UPDATE SET deleted_at = COALESCE(feed.posts.deleted_at, EXCLUDED.deleted_at)`,
    [p.postId, p.authorId, p.createdAt, p.deletedAt],
  );
}

/**
 * The newest live posts of any of these authors, strictly older than `before`: one
 * index-only walk per author (LATERAL), merged, so celebrities with many posts cost no
 * more than `limit` rows each.
 */
export async function latestByAuthors(
  pool: pg.Pool,
  authorIds: readonly string[],
  before: bigint | null,
  limit: number,
): Promise<bigint[]> {
  if (authorIds.length === 0) return [];
  return mergePage(pool, [], authorIds, before, limit);
}

// Named statements, prepared once per connection. The first page has its own so that a
// cached generic plan never carries an always-true `before` test; later pages bound the
// walk with `post_id < $4` in the index condition.
const pageSql = (bound: string) =>
  `SELECT post_id FROM feed.posts
   WHERE post_id = ANY($1::bigint[]) AND deleted_at IS NULL
   UNION
   (SELECT p.post_id FROM unnest($2::bigint[]) AS a(id)
    CROSS JOIN LATERAL (
      SELECT post_id FROM feed.posts
      WHERE author_id = a.id AND deleted_at IS NULL ${bound}
      ORDER BY post_id DESC LIMIT $3
    ) p
    ORDER BY p.post_id DESC LIMIT $3)
   ORDER BY post_id DESC LIMIT $3`;
const firstPage = statement('feed_first_page', pageSql(''));
const laterPage = statement('feed_later_page', pageSql('AND post_id < $4::bigint'));

/**
 * One feed page in one round trip: the live ones among the pushed timeline entries, merged
 * with the newest posts of the pulled authors (celebrities and the reader), newest first,
 * at most `limit` ids (callers ask for one extra to learn whether a next page exists).
 */
export async function mergePage(
  pool: pg.Pool,
  pushed: readonly bigint[],
  pulledAuthors: readonly string[],
  before: bigint | null,
  limit: number,
): Promise<bigint[]> {
  if (limit <= 0) return [];
  const values = [pushed.map(String), pulledAuthors, limit];
  const { rows } = await pool.query<{ post_id: string }>(
    before === null ? firstPage(values) : laterPage([...values, before.toString()]),
  );
  return rows.map((r) => BigInt(r.post_id));
}
