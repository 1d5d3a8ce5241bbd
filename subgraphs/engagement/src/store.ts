// Likes and comments, written with their counters and events in one transaction, and only
// when something really changed: liking twice or unliking a post not liked writes nothing.
// Counters are sharded (engagement.post_counters): each change adds ±1 to a random shard, so
// thousands of likes of one post at once do not queue on one row lock; reads sum the shards.
// A write to a post first takes a SHARED advisory lock on it and checks the tombstone of
// deleted posts; the post.deleted consumer takes the same lock EXCLUSIVELY, so no like or
// comment can slip in between its tombstone and its cleanup.
import type pg from 'pg';
import { badInput, notFound } from '../../../lib/contracts/errors.js';
import {
  ENGAGEMENT_COMMENT_DELETED,
  ENGAGEMENT_COMMENTED,
  ENGAGEMENT_LIKED,
  ENGAGEMENT_UNLIKED,
} from '../../../lib/contracts/events.js';
import { enqueue, enqueueMany, type OutboxEvent } from '../../../lib/platform/outbox/outbox.js';
import { COMMENT_COLUMNS, toCommentRow, type CommentRow } from './loaders.js';

/** Counter rows per post: enough that 64 concurrent writers rarely meet on one. */
export const COUNTER_SHARDS = 16;

const SCHEMA = 'engagement';

const shard = () => Math.floor(Math.random() * COUNTER_SHARDS);

/** Runs `fn` in a transaction on one pooled connection. */
export async function inTransaction<T>(
  pool: pg.Pool,
  fn: (c: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const out = await fn(c);
    await c.query('COMMIT');
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    c.release();
  }
}

/**
 * Shared lock on the post against its cleanup (see the top), then NOT_FOUND when the post is
 * known to be deleted. A statement of its own: the tombstone check must see the cleanup's.
 */
async function gatePost(c: pg.PoolClient, postId: string): Promise<void> {
  await c.query('SELECT pg_advisory_xact_lock_shared($1::bigint)', [postId]);
  const { rows } = await c.query(
    'SELECT 1 FROM engagement.deleted_posts WHERE post_id = $1::bigint',
    [postId],
  );
  if (rows.length > 0) throw notFound('No such post');
}

async function bump(
  c: pg.PoolClient,
  postId: string,
  column: 'like_count' | 'comment_count',
  delta: number,
): Promise<void> {
  await c.query(
    `INSERT INTO engagement.post_counters AS p (post_id, shard, ${column})
     VALUES ($1::bigint, $2, $3)
     ON CONFLICT (post_id, shard) DO UPDATE SET ${column} = p.${column} + EXCLUDED.${column}`,
    [postId, shard(), delta],
  );
}

/** A like, unless there is one already; true when it was written. */
export async function like(
  pool: pg.Pool,
  post: { id: string; authorId: string },
  userId: string,
): Promise<boolean> {
  return inTransaction(pool, async (c) => {
    await gatePost(c, post.id);
    const { rows } = await c.query<{ created_at: Date }>(
      `INSERT INTO engagement.likes (post_id, user_id) VALUES ($1::bigint, $2::bigint)
       ON CONFLICT DO NOTHING RETURNING created_at`,
      [post.id, userId],
    );
    if (rows.length === 0) return false;
    await bump(c, post.id, 'like_count', 1);
    await enqueue(c, SCHEMA, ENGAGEMENT_LIKED, {
      v: 1,
      postId: post.id,
      postAuthorId: post.authorId,
      userId,
      createdAt: rows[0]!.created_at.toISOString(),
    });
    return true;
  });
}

/** Takes back a like, if there is one; true when one was removed. */
export async function unlike(
  pool: pg.Pool,
  post: { id: string; authorId: string },
  userId: string,
): Promise<boolean> {
  return inTransaction(pool, async (c) => {
    const { rows } = await c.query(
      `DELETE FROM engagement.likes WHERE post_id = $1::bigint AND user_id = $2::bigint RETURNING 1`,
      [post.id, userId],
    );
    if (rows.length === 0) return false;
    await bump(c, post.id, 'like_count', -1);
    await enqueue(c, SCHEMA, ENGAGEMENT_UNLIKED, {
      v: 1,
      postId: post.id,
      postAuthorId: post.authorId,
      userId,
      at: new Date().toISOString(),
    });
    return true;
  });
}

/**
 * A comment, or a reply when `replyTo` is given (its id, checked here as a top-level comment
 * of the same post; its reply_count moves in the same statement, which also locks it against
 * a concurrent delete).
 */
export async function addComment(
  pool: pg.Pool,
  post: { id: string; authorId: string },
  authorId: string,
  text: string,
  replyTo: string | null,
): Promise<CommentRow> {
  return inTransaction(pool, async (c) => {
    await gatePost(c, post.id);
    let replyToAuthorId: string | null = null;
    if (replyTo !== null) {
      const { rows } = await c.query<{ author_id: string }>(
        `UPDATE engagement.comments SET reply_count = reply_count + 1
         WHERE id = $1::bigint AND post_id = $2::bigint AND reply_to_id IS NULL
         RETURNING author_id::text`,
        [replyTo, post.id],
      );
      if (rows.length === 0)
        throw badInput('replyToId must be a top-level comment of the same post', 'replyToId');
      replyToAuthorId = rows[0]!.author_id;
    }
    const { rows } = await c.query<Parameters<typeof toCommentRow>[0]>(
      `INSERT INTO engagement.comments AS c (post_id, post_author_id, author_id, reply_to_id, text)
       VALUES ($1::bigint, $2::bigint, $3::bigint, $4::bigint, $5)
       RETURNING ${COMMENT_COLUMNS}`,
      [post.id, post.authorId, authorId, replyTo, text],
    );
    const row = toCommentRow(rows[0]!);
    await bump(c, post.id, 'comment_count', 1);
    await enqueue(c, SCHEMA, ENGAGEMENT_COMMENTED, {
      v: 1,
      commentId: row.id,
      postId: post.id,
      postAuthorId: post.authorId,
      authorId,
      replyToId: replyTo,
      replyToAuthorId,
      text,
      createdAt: row.createdAt.toISOString(),
    });
    return row;
  });
}

/** One comment_deleted event per comment (replies before the comment they answer). */
export function deletedEvents(rows: readonly CommentRow[], at: Date): OutboxEvent[] {
  const order = [...rows].sort(
    (a, b) => Number(b.replyToId !== null) - Number(a.replyToId !== null),
  );
  return order.map((r) => ({
    subject: ENGAGEMENT_COMMENT_DELETED,
    payload: {
      v: 1,
      commentId: r.id,
      postId: r.postId,
      postAuthorId: r.postAuthorId,
      authorId: r.authorId,
      replyToId: r.replyToId,
      deletedAt: at.toISOString(),
    },
  }));
}

/**
 * Deletes a comment and its replies; the rows deleted (none when it was already gone). The
 * comment is locked first, so a reply being added to it commits before (and is deleted with
 * it) or finds it gone.
 */
export async function deleteComment(pool: pg.Pool, commentId: string): Promise<CommentRow[]> {
  return inTransaction(pool, async (c) => {
    const locked = await c.query(
      'SELECT 1 FROM engagement.comments WHERE id = $1::bigint FOR UPDATE',
      [commentId],
    );
    if (locked.rows.length === 0) return [];
    const { rows } = await c.query<Parameters<typeof toCommentRow>[0]>(
      `DELETE FROM engagement.comments c WHERE c.id = $1::bigint OR c.reply_to_id = $1::bigint
       RETURNING ${COMMENT_COLUMNS}`,
      [commentId],
    );
    const deleted = rows.map(toCommentRow);
    const self = deleted.find((r) => r.id === commentId)!;
    if (self.replyToId !== null) {
      await c.query(
        'UPDATE engagement.comments SET reply_count = reply_count - 1 WHERE id = $1::bigint',
        [self.replyToId],
      );
    }
    await bump(c, self.postId, 'comment_count', -deleted.length);
    await enqueueMany(c, SCHEMA, deletedEvents(deleted, new Date()));
    return deleted;
  });
}

/**
 * A deleted post's likes, comments and counters go (post.deleted); its comments each get a
 * comment_deleted event. Idempotent: the tombstone stays, and a second run finds nothing.
 * Returns how many comments and likes were removed.
 */
export async function purgePost(
  pool: pg.Pool,
  postId: string,
  deletedAt: Date,
): Promise<{ comments: number; likes: number }> {
  return inTransaction(pool, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1::bigint)', [postId]);
    await c.query(
      `INSERT INTO engagement.deleted_posts (post_id, deleted_at) VALUES ($1::bigint, $2)
       ON CONFLICT DO NOTHING`,
      [postId, deletedAt],
    );
    const likes = await c.query('DELETE FROM engagement.likes WHERE post_id = $1::bigint', [
      postId,
    ]);
    const { rows } = await c.query<Parameters<typeof toCommentRow>[0]>(
      `DELETE FROM engagement.comments c WHERE c.post_id = $1::bigint RETURNING ${COMMENT_COLUMNS}`,
      [postId],
    );
    await c.query('DELETE FROM engagement.post_counters WHERE post_id = $1::bigint', [postId]);
    await enqueueMany(c, SCHEMA, deletedEvents(rows.map(toCommentRow), deletedAt));
    return { comments: rows.length, likes: likes.rowCount ?? 0 };
  });
}
