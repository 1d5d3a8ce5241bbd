// Batch-first loading for a request: every read of a page is one query for all the posts (or
// comments) on it, and the visibility rule is asked once for every author met in one tick.
// Nothing here outlives the request: a like, a block or a deleted post holds on the next read.
import DataLoader from 'dataloader';
import type pg from 'pg';
import { tryParseId } from '../../../lib/contracts/ids.js';
import type { PostRef } from '../../../lib/clients/post-client.js';
import type { AppContext } from './context.js';

export interface CommentRow {
  id: string;
  postId: string;
  postAuthorId: string;
  authorId: string;
  replyToId: string | null;
  text: string;
  replyCount: number;
  createdAt: Date;
}

export interface Counts {
  likes: number;
  comments: number;
}

/** A page of comments under a post (top level) or under a comment (replies). */
export interface CommentPageKey {
  kind: 'post' | 'replies';
  /** The post's id, or the parent comment's. */
  parentId: string;
  forward: boolean;
  cursor: string | null;
  /** Rows to read: the page size plus one (to tell whether more follow). */
  limit: number;
}

export interface LikePageKey {
  postId: string;
  /** The seq to continue below (newest first); null from the newest. */
  cursor: string | null;
  limit: number;
}

export interface LikeRow {
  userId: string;
  seq: string;
}

/** What a viewer may not see of a user: their posts (content), or the person at all. */
export interface Hidden {
  content: boolean;
  person: boolean;
}

export interface EngagementLoaders {
  counts: DataLoader<string, Counts>;
  /** Whether the signed-in viewer likes each post (false when signed out). */
  liked: DataLoader<string, boolean>;
  comment: DataLoader<string, CommentRow | null>;
  /** Live posts and their authors (post subgraph), null for deleted or unknown ones. */
  post: DataLoader<string, PostRef | null>;
  /** True for users whose content the viewer may not see, or who do not exist for the viewer. */
  /** user id → what the viewer may not see of them (one visibility call per request). */
  hidden: DataLoader<string, Hidden>;
  commentPage: DataLoader<CommentPageKey, CommentRow[], string>;
  likePage: DataLoader<LikePageKey, LikeRow[], string>;
}

const MAX_INT8 = '9223372036854775807';

const ids = (keys: readonly string[]) =>
  keys
    .map(tryParseId)
    .filter((id): id is bigint => id !== null)
    .map(String);

interface RawComment {
  id: string;
  post_id: string;
  post_author_id: string;
  author_id: string;
  reply_to_id: string | null;
  text: string;
  reply_count: number;
  created_at: Date;
}

export const COMMENT_COLUMNS = `c.id::text AS id, c.post_id::text AS post_id,
  c.post_author_id::text AS post_author_id, c.author_id::text AS author_id,
  c.reply_to_id::text AS reply_to_id, c.text, c.reply_count, c.created_at`;

export function toCommentRow(r: RawComment): CommentRow {
  return {
    id: r.id,
    postId: r.post_id,
    postAuthorId: r.post_author_id,
    authorId: r.author_id,
    replyToId: r.reply_to_id,
    text: r.text,
    replyCount: Number(r.reply_count),
    createdAt: r.created_at,
  };
}

/** Reads the keys grouped by query shape: one statement per shape (usually one in all). */
async function commentPages(
  pool: pg.Pool,
  keys: readonly CommentPageKey[],
): Promise<CommentRow[][]> {
  const out: CommentRow[][] = keys.map(() => []);
  const groups = new Map<string, number[]>();
  keys.forEach((k, i) => {
    const shape = `${k.kind}:${k.forward}`;
    groups.set(shape, [...(groups.get(shape) ?? []), i]);
  });
  for (const [shape, idx] of groups) {
    const [kind, forward] = shape.split(':') as ['post' | 'replies', string];
    const fwd = forward === 'true';
    const parent =
      kind === 'post' ? 'c.post_id = k.pid AND c.reply_to_id IS NULL' : 'c.reply_to_id = k.pid';
    const bound = fwd ? 'c.id > COALESCE(k.cur, 0)' : `c.id < COALESCE(k.cur, ${MAX_INT8})`;
    const { rows } = await pool.query<RawComment & { i: string }>(
      `SELECT k.i::text AS i, c.* FROM unnest($1::bigint[], $2::bigint[], $3::int[])
         WITH ORDINALITY AS k(pid, cur, lim, i)
       CROSS JOIN LATERAL (
         SELECT ${COMMENT_COLUMNS} FROM engagement.comments c
         WHERE ${parent} AND ${bound}
         ORDER BY c.id ${fwd ? 'ASC' : 'DESC'} LIMIT k.lim
       ) c
       ORDER BY k.i, c.id ${fwd ? 'ASC' : 'DESC'}`,
      [
        idx.map((i) => keys[i]!.parentId),
        idx.map((i) => keys[i]!.cursor),
        idx.map((i) => keys[i]!.limit),
      ],
    );
    for (const r of rows) out[idx[Number(r.i) - 1]!]!.push(toCommentRow(r));
  }
  return out;
}

export function createLoaders(app: AppContext, viewerId: string | null): EngagementLoaders {
  const { pool } = app;
  return {
    counts: new DataLoader(async (keys) => {
      const { rows } = await pool.query<{ post_id: string; likes: string; comments: string }>(
        `SELECT post_id::text, sum(like_count)::text AS likes, sum(comment_count)::text AS comments
         FROM engagement.post_counters WHERE post_id = ANY($1::bigint[]) GROUP BY post_id`,
        [ids(keys)],
      );
      const byId = new Map(rows.map((r) => [r.post_id, r]));
      return keys.map((k) => ({
        likes: Number(byId.get(k)?.likes ?? 0),
        comments: Number(byId.get(k)?.comments ?? 0),
      }));
    }),
    liked: new DataLoader(async (keys) => {
      if (!viewerId) return keys.map(() => false);
      const { rows } = await pool.query<{ post_id: string }>(
        `SELECT post_id::text FROM engagement.likes
         WHERE user_id = $1 AND post_id = ANY($2::bigint[])`,
        [viewerId, ids(keys)],
      );
      const liked = new Set(rows.map((r) => r.post_id));
      return keys.map((k) => liked.has(k));
    }),
    comment: new DataLoader(async (keys) => {
      const { rows } = await pool.query<RawComment>(
        `SELECT ${COMMENT_COLUMNS} FROM engagement.comments c WHERE c.id = ANY($1::bigint[])`,
        [ids(keys)],
      );
      const byId = new Map(rows.map((r) => [r.id, toCommentRow(r)]));
      return keys.map((k) => byId.get(k) ?? null);
    }),
    post: new DataLoader(
      async (keys) => {
        const found = await app.posts.lookup(ids(keys));
        const byId = new Map(found.map((p) => [p.id, p]));
        return keys.map((k) => byId.get(k) ?? null);
      },
      { maxBatchSize: 1000 },
    ),
    hidden: new DataLoader(
      async (keys) => {
        const v = await app.graph.visibility(viewerId, ids(keys));
        const content = new Set([...v.contentHidden, ...v.profileHidden]);
        // People, not posts: a private account's likes and comments are public; a block
        // either way leaves the person out.
        const person = new Set([...v.profileHidden, ...v.blocked]);
        return keys.map((k) => ({ content: content.has(k), person: person.has(k) }));
      },
      { maxBatchSize: 1000 },
    ),
    commentPage: new DataLoader((keys) => commentPages(pool, keys), {
      cacheKeyFn: (k) => JSON.stringify(k),
    }),
    likePage: new DataLoader(
      async (keys) => {
        const { rows } = await pool.query<{ i: string; user_id: string; seq: string }>(
          `SELECT k.i::text AS i, l.user_id::text AS user_id, l.seq::text AS seq
           FROM unnest($1::bigint[], $2::bigint[], $3::int[]) WITH ORDINALITY AS k(pid, cur, lim, i)
           CROSS JOIN LATERAL (
             SELECT user_id, seq FROM engagement.likes
             WHERE post_id = k.pid AND seq < COALESCE(k.cur, ${MAX_INT8})
             ORDER BY seq DESC LIMIT k.lim
           ) l
           ORDER BY k.i, l.seq DESC`,
          [keys.map((k) => k.postId), keys.map((k) => k.cursor), keys.map((k) => k.limit)],
        );
        const out: LikeRow[][] = keys.map(() => []);
        for (const r of rows) out[Number(r.i) - 1]!.push({ userId: r.user_id, seq: r.seq });
        return out;
      },
      { cacheKeyFn: (k) => JSON.stringify(k) },
    ),
  };
}

/** The post if it is live and the viewer may see its author's posts; null otherwise. */
export async function visiblePost(
  loaders: EngagementLoaders,
  postId: string,
): Promise<PostRef | null> {
  const post = await loaders.post.load(postId);
  if (!post) return null;
  return (await loaders.hidden.load(post.authorId)).content ? null : post;
}

/**
 * Whether each user is left out of lists of people the viewer reads (likers, commenters): a
 * block either way; one batched call; a failed call throws.
 */
export async function hiddenAmong(
  loaders: EngagementLoaders,
  userIds: readonly string[],
): Promise<boolean[]> {
  const answers = await loaders.hidden.loadMany(userIds);
  return answers.map((a) => {
    if (a instanceof Error) throw a;
    return a.person;
  });
}
