// The search subgraph's own table of indexed posts (schema "search"). It is written for
// every backend: it holds the versions and tombstones that make indexing idempotent, the
// hashtag counts, and the list of live posts that query results are checked against, so a
// deleted post never comes back from any backend.
import type pg from 'pg';
import type { PostCreatedV1, PostDeletedV1, PostUpdatedV1 } from '../../../lib/contracts/events.js';
import { foldText } from './query.js';
import { withTransaction } from '../../../lib/platform/db.js';

/** A post as the index holds it. */
export interface IndexedPost {
  id: string;
  authorId: string;
  caption: string;
  hashtags: string[];
  createdAt: string;
}

export type ApplyResult =
  /** The change was applied; `post` is the post as it now is (null: now deleted). */
  | { applied: true; post: IndexedPost | null }
  /** Already applied, older than what is indexed, or the post is deleted. */
  | { applied: false };

/** Adds `delta` to each tag's count, tags in a fixed order so concurrent writers never deadlock. */
async function bumpHashtags(c: pg.PoolClient, tags: string[], delta: 1 | -1): Promise<void> {
  if (tags.length === 0) return;
  await c.query(
    `INSERT INTO search.hashtags (name, post_count)
     SELECT t, greatest($2::int, 0) FROM unnest($1::text[]) AS t ORDER BY t
     ON CONFLICT (name) DO UPDATE SET post_count = greatest(search.hashtags.post_count + $2::int, 0)`,
    [[...tags].sort(), delta],
  );
}

interface Locked {
  hashtags: string[];
  version_at: Date;
  deleted_at: Date | null;
  placeholder: boolean;
}

/**
 * Locks the post's row, creating an empty placeholder first when it is new (so two
 * deliveries of the same event serialize on the row instead of racing to insert it).
 */
async function lockRow(
  c: pg.PoolClient,
  e: { postId: string; authorId: string; createdAt: string },
): Promise<Locked> {
  await c.query(
    `INSERT INTO search.posts (post_id, author_id, created_at, version_at)
     VALUES ($1, $2, $3, '-infinity') ON CONFLICT (post_id) DO NOTHING`,
    [e.postId, e.authorId, e.createdAt],
  );
  const { rows } = await c.query<Omit<Locked, 'placeholder'> & { placeholder: boolean }>(
    `SELECT hashtags, version_at, deleted_at, version_at = '-infinity' AS placeholder
     FROM search.posts WHERE post_id = $1 FOR UPDATE`,
    [e.postId],
  );
  return rows[0]!;
}

/** post.created and post.updated: the post as it is after the change. */
export async function applyUpsert(
  pool: pg.Pool,
  e: PostCreatedV1 | PostUpdatedV1,
): Promise<ApplyResult> {
  const version = 'updatedAt' in e && e.updatedAt ? e.updatedAt : e.createdAt;
  const caption = e.caption ?? '';
  const hashtags = [...new Set(e.hashtags ?? [])];
  return withTransaction(pool, async (c) => {
    const row = await lockRow(c, e);
    if (row.deleted_at !== null) return { applied: false };
    if (!row.placeholder && row.version_at.getTime() >= new Date(version).getTime()) {
      return { applied: false };
    }
    await c.query(
      `UPDATE search.posts SET caption = $2, hashtags = $3, tsv = to_tsvector('simple', $4),
         version_at = $5, indexed_at = clock_timestamp()
       WHERE post_id = $1`,
      [e.postId, caption, hashtags, foldText(caption), version],
    );
    const before = new Set(row.hashtags);
    const after = new Set(hashtags);
    await bumpHashtags(
      c,
      hashtags.filter((t) => !before.has(t)),
      1,
    );
    await bumpHashtags(
      c,
      row.hashtags.filter((t) => !after.has(t)),
      -1,
    );
    return {
      applied: true,
      post: { id: e.postId, authorId: e.authorId, caption, hashtags, createdAt: e.createdAt },
    };
  });
}

/** post.deleted: keeps a tombstone so a late created/updated never brings it back. */
export async function applyDelete(pool: pg.Pool, e: PostDeletedV1): Promise<ApplyResult> {
  return withTransaction(pool, async (c) => {
    const row = await lockRow(c, e);
    if (row.deleted_at !== null) return { applied: false };
    await c.query(
      `UPDATE search.posts SET deleted_at = $2, version_at = $2, caption = '', hashtags = '{}',
         tsv = ''::tsvector, indexed_at = clock_timestamp()
       WHERE post_id = $1`,
      [e.postId, e.deletedAt],
    );
    await bumpHashtags(c, row.hashtags, -1);
    return { applied: true, post: null };
  });
}

/** Which of these posts are indexed and not deleted (results are checked against it). */
export async function liveAmong(pool: pg.Pool, ids: readonly bigint[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const { rows } = await pool.query<{ id: string }>(
    `SELECT post_id::text AS id FROM search.posts
     WHERE post_id = ANY($1::bigint[]) AND deleted_at IS NULL AND version_at > '-infinity'`,
    [ids.map(String)],
  );
  return new Set(rows.map((r) => r.id));
}

/** Live posts carrying this hashtag (null: the tag was never indexed). */
export async function hashtagCount(pool: pg.Pool, tag: string): Promise<number | null> {
  const { rows } = await pool.query<{ post_count: number }>(
    'SELECT post_count FROM search.hashtags WHERE name = $1',
    [tag],
  );
  return rows[0]?.post_count ?? null;
}

/** Hashtags starting with `prefix`, then close spellings (pg_trgm), most used first. */
export async function suggestHashtags(
  pool: pg.Pool,
  prefix: string,
  limit: number,
): Promise<{ name: string; postCount: number }[]> {
  const escaped = prefix.replace(/[\\%_]/g, (ch) => `\\${ch}`);
  const { rows } = await pool.query<{ name: string; post_count: number }>(
    `SELECT name, post_count FROM search.hashtags
     WHERE post_count > 0 AND (name LIKE $1 || '%' OR name % $2)
     ORDER BY (name LIKE $1 || '%') DESC, similarity(name, $2) DESC, post_count DESC, name
     LIMIT $3`,
    [escaped, prefix, limit],
  );
  return rows.map((r) => ({ name: r.name, postCount: r.post_count }));
}

/**
 * Reindex, one batch of live posts from the post subgraph in id order: written as they
 * are now, unless deleted here. Returns the posts that were written.
 */
export async function upsertBatch(pool: pg.Pool, posts: IndexedPost[]): Promise<IndexedPost[]> {
  if (posts.length === 0) return [];
  const docs = posts.map((p) => ({ ...p, folded: foldText(p.caption) }));
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO search.posts AS s (post_id, author_id, caption, hashtags, tsv, created_at, version_at)
     SELECT x.id, x."authorId", x.caption, x.hashtags, to_tsvector('simple', x.folded),
            x."createdAt", x."createdAt"
     FROM jsonb_to_recordset($1::jsonb)
       AS x(id bigint, "authorId" bigint, caption text, hashtags text[], folded text, "createdAt" timestamptz)
     ON CONFLICT (post_id) DO UPDATE SET caption = EXCLUDED.caption, hashtags = EXCLUDED.hashtags,
       tsv = EXCLUDED.tsv, version_at = greatest(s.version_at, EXCLUDED.version_at),
       indexed_at = clock_timestamp()
     WHERE s.deleted_at IS NULL
     RETURNING post_id::text AS id`,
    [JSON.stringify(docs)],
  );
  const written = new Set(rows.map((r) => r.id));
  return posts.filter((p) => written.has(p.id));
}

/**
 * Reindex: posts indexed here that the post subgraph no longer lists (deleted while no
 * event reached us) become tombstones. `seen` are the ids it listed up to `upTo`.
 */
export async function tombstoneMissing(
  pool: pg.Pool,
  seen: readonly string[],
  fromExclusive: string | null,
  upTo: string,
): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `UPDATE search.posts SET deleted_at = clock_timestamp(), version_at = clock_timestamp(),
       caption = '', hashtags = '{}', tsv = ''::tsvector, indexed_at = clock_timestamp()
     WHERE deleted_at IS NULL AND post_id > $2::bigint AND post_id <= $3::bigint
       AND NOT (post_id = ANY($1::bigint[]))
     RETURNING post_id::text AS id`,
    [seen, fromExclusive ?? '0', upTo],
  );
  return rows.map((r) => r.id);
}

/** Reindex: every hashtag count recomputed from the live posts. */
export async function recountHashtags(pool: pg.Pool): Promise<void> {
  await withTransaction(pool, async (c) => {
    await c.query('LOCK TABLE search.hashtags IN EXCLUSIVE MODE');
    await c.query(`UPDATE search.hashtags SET post_count = 0 WHERE post_count <> 0`);
    await c.query(
      `INSERT INTO search.hashtags (name, post_count)
       SELECT t, count(*) FROM search.posts, unnest(hashtags) AS t
       WHERE deleted_at IS NULL GROUP BY t
       ON CONFLICT (name) DO UPDATE SET post_count = EXCLUDED.post_count`,
    );
  });
}

/** Index lag (event time → indexed) percentiles over the changes indexed since `since`. */
export async function lagPercentiles(
  pool: pg.Pool,
  since: Date,
): Promise<{ count: number; p50Ms: number; p99Ms: number }> {
  const { rows } = await pool.query<{ n: string; p50: number | null; p99: number | null }>(
    `SELECT count(*) AS n,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY lag) AS p50,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY lag) AS p99
     FROM (SELECT extract(epoch FROM indexed_at - version_at) * 1000 AS lag
           FROM search.posts WHERE indexed_at >= $1 AND version_at > '-infinity') l`,
    [since],
  );
  const r = rows[0]!;
  return { count: Number(r.n), p50Ms: r.p50 ?? 0, p99Ms: r.p99 ?? 0 };
}
