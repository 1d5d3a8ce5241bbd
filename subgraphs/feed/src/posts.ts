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
  return (await mergePage(pool, [], authorIds, before, limit)).map((r) => r.postId);
}

/** A candidate of a feed page: its author decides whether the reader may see it. */
export interface PageRow {
  postId: bigint;
  authorId: string;
}

// Named statements, prepared once per connection. The first page has its own so that a
// cached generic plan never carries an always-true `before` test; later pages bound the
// walk with `post_id < $5` in the index condition. $4 leaves out pushed entries of authors
// already found hidden in this read (a block's entries stay in the timeline until the
// materializer removes them); pulled authors are left out of $2 by the caller.
const pageSql = (bound: string) =>
  `SELECT post_id, author_id FROM feed.posts
   WHERE post_id = ANY($1::bigint[]) AND deleted_at IS NULL AND author_id <> ALL($4::bigint[])
   UNION
   (SELECT p.post_id, a.id FROM unnest($2::bigint[]) AS a(id)
    CROSS JOIN LATERAL (
      SELECT post_id FROM feed.posts
      WHERE author_id = a.id AND deleted_at IS NULL ${bound}
      ORDER BY post_id DESC LIMIT $3
    ) p
    ORDER BY p.post_id DESC LIMIT $3)
   ORDER BY post_id DESC LIMIT $3`;
const firstPage = statement('feed_first_page', pageSql(''));
const laterPage = statement('feed_later_page', pageSql('AND post_id < $5::bigint'));

/**
 * One feed page in one round trip: the live ones among the pushed timeline entries, merged
 * with the newest posts of the pulled authors (celebrities and the reader), newest first,
 * at most `limit` rows with their authors (callers ask for one extra to learn whether a
 * next page exists). Pushed entries by `hiddenAuthors` are left out.
 */
export async function mergePage(
  pool: pg.Pool,
  pushed: readonly bigint[],
  pulledAuthors: readonly string[],
  before: bigint | null,
  limit: number,
  hiddenAuthors: readonly string[] = [],
): Promise<PageRow[]> {
  if (limit <= 0) return [];
  const values = [pushed.map(String), pulledAuthors, limit, hiddenAuthors];
  const { rows } = await pool.query<{ post_id: string; author_id: string }>(
    before === null ? firstPage(values) : laterPage([...values, before.toString()]),
  );
  return rows.map((r) => ({ postId: BigInt(r.post_id), authorId: r.author_id }));
}
