// Creating, editing and deleting posts. A post, its carousel rows, the media's attachment,
// the author's counter and the outbox event commit together or not at all.
import { badInput, conflict, forbidden, notFound } from '../../../lib/contracts/errors.js';
import type {
  MediaSummaryV1,
  PostCreatedV1,
  PostDeletedV1,
  PostUpdatedV1,
} from '../../../lib/contracts/events.js';
import { extractHashtags } from '../../../lib/contracts/hashtags.js';
import { enqueue } from '../../../lib/platform/outbox/outbox.js';
import type { AppContext } from './context.js';
import type { PostRow } from './loaders.js';
import type { CreatePostInput, UpdatePostInput } from './validation.js';

interface LockedMedia {
  id: bigint;
  owner_id: bigint;
  status: string;
  type: string | null;
  width: number | null;
  height: number | null;
  attached_at: Date | null;
  is_avatar: boolean;
}

export async function createPost(
  app: AppContext,
  authorId: bigint,
  input: CreatePostInput,
): Promise<PostRow> {
  const hashtags = extractHashtags(input.caption);
  return app.prisma.$transaction(async (tx) => {
    // Locks the media against a concurrent createPost or janitor pass.
    const rows = await tx.$queryRaw<LockedMedia[]>`
      SELECT m.id, m.owner_id, m.status, m.type, m.width, m.height, m.attached_at,
        EXISTS (SELECT 1 FROM posts.avatars a WHERE a.media_id = m.id) AS is_avatar
      FROM posts.media m WHERE m.id = ANY(${input.mediaIds}::bigint[])
      ORDER BY m.id FOR UPDATE OF m`;
    const byId = new Map(rows.map((r) => [r.id, r]));
    const media = input.mediaIds.map((id, i) => {
      const m = byId.get(id);
      if (!m) throw notFound(`mediaIds[${i}]: no such media`);
      return m;
    });
    media.forEach((m, i) => {
      if (m.owner_id !== authorId) throw forbidden(`mediaIds[${i}] is not your media`);
    });
    media.forEach((m, i) => {
      if (m.status !== 'READY')
        throw badInput(
          m.status === 'PROCESSING'
            ? `mediaIds[${i}] is still processing; try again when it is ready`
            : `mediaIds[${i}] could not be processed`,
          `mediaIds[${i}]`,
        );
      if (m.attached_at)
        throw conflict(
          `mediaIds[${i}] is ${m.is_avatar ? 'your avatar' : 'already used in a post'}`,
          `mediaIds[${i}]`,
        );
    });

    const post = await tx.post.create({
      data: { authorId, caption: input.caption, hashtags },
    });
    await tx.$executeRaw`
      INSERT INTO posts.post_media (post_id, media_id, position)
      SELECT ${post.id}, m.id, (m.pos - 1)::smallint
      FROM unnest(${input.mediaIds}::bigint[]) WITH ORDINALITY AS m(id, pos)`;
    await tx.$executeRaw`
      UPDATE posts.media SET attached_at = now() WHERE id = ANY(${input.mediaIds}::bigint[])`;
    await tx.$executeRaw`
      INSERT INTO posts.author_stats (author_id, post_count) VALUES (${authorId}, 1)
      ON CONFLICT (author_id) DO UPDATE SET post_count = posts.author_stats.post_count + 1`;
    const payload: PostCreatedV1 = {
      v: 1,
      postId: post.id.toString(),
      authorId: authorId.toString(),
      createdAt: post.createdAt.toISOString(),
      caption: post.caption ?? '',
      hashtags,
      media: media.map((m) => ({
        id: m.id.toString(),
        type: m.type === 'VIDEO' ? 'video' : 'image',
        width: m.width,
        height: m.height,
      })),
    };
    await enqueue(tx, 'posts', 'post.created', payload);
    return post;
  });
}

interface PostSqlRow {
  id: bigint;
  author_id: bigint;
  caption: string | null;
  hashtags: string[];
  created_at: Date;
  deleted_at: Date | null;
  purged_at: Date | null;
  edited_at: Date | null;
}

/**
 * Replaces the caption (and so the hashtags) of the author's post and publishes
 * post.updated with the whole post as it is now. An unchanged caption changes nothing.
 */
export async function updatePost(
  app: AppContext,
  viewerId: bigint,
  input: UpdatePostInput,
): Promise<PostRow> {
  const hashtags = extractHashtags(input.caption);
  return app.prisma.$transaction(async (tx) => {
    const rows = await tx.$queryRaw<PostSqlRow[]>`
      SELECT id, author_id, caption, hashtags, created_at, deleted_at, purged_at, edited_at
      FROM posts.posts WHERE id = ${input.id} AND deleted_at IS NULL FOR UPDATE`;
    const current = rows[0];
    if (!current) throw notFound('Post not found');
    if (current.author_id !== viewerId) throw forbidden('You can only edit your own posts');
    if (current.caption === input.caption) return toPostRow(current);
    // Strictly later than the last version (creation or edit), even within one millisecond:
    // consumers keep the newest version by this time.
    const updated = await tx.$queryRaw<PostSqlRow[]>`
      UPDATE posts.posts SET caption = ${input.caption}, hashtags = ${hashtags},
        edited_at = greatest(date_trunc('milliseconds', clock_timestamp()),
                             coalesce(edited_at, created_at) + interval '1 millisecond')
      WHERE id = ${input.id}
      RETURNING id, author_id, caption, hashtags, created_at, deleted_at, purged_at, edited_at`;
    const post = updated[0]!;
    const media = await tx.$queryRaw<
      { id: bigint; type: string | null; width: number | null; height: number | null }[]
    >`
      SELECT m.id, m.type, m.width, m.height
      FROM posts.post_media pm JOIN posts.media m ON m.id = pm.media_id
      WHERE pm.post_id = ${input.id} ORDER BY pm.position`;
    const payload: PostUpdatedV1 = {
      v: 1,
      postId: post.id.toString(),
      authorId: post.author_id.toString(),
      createdAt: post.created_at.toISOString(),
      caption: post.caption ?? '',
      hashtags,
      media: media.map((m): MediaSummaryV1 => ({
        id: m.id.toString(),
        type: m.type === 'VIDEO' ? 'video' : 'image',
        width: m.width,
        height: m.height,
      })),
      updatedAt: post.edited_at!.toISOString(),
    };
    await enqueue(tx, 'posts', 'post.updated', payload);
    return toPostRow(post);
  });
}

const toPostRow = (r: PostSqlRow): PostRow => ({
  id: r.id,
  authorId: r.author_id,
  caption: r.caption,
  hashtags: r.hashtags,
  createdAt: r.created_at,
  deletedAt: r.deleted_at,
  purgedAt: r.purged_at,
  editedAt: r.edited_at,
});

/** Soft-deletes the post (gone for readers at once); its objects are removed afterwards. */
export async function deletePost(app: AppContext, viewerId: bigint, postId: bigint): Promise<void> {
  await app.prisma.$transaction(async (tx) => {
    const rows = await tx.$queryRaw<{ author_id: bigint; created_at: Date }[]>`
      SELECT author_id, created_at FROM posts.posts
      WHERE id = ${postId} AND deleted_at IS NULL FOR UPDATE`;
    const post = rows[0];
    if (!post) throw notFound('Post not found');
    if (post.author_id !== viewerId) throw forbidden('You can only delete your own posts');
    const deleted = await tx.$queryRaw<{ deleted_at: Date }[]>`
      UPDATE posts.posts SET deleted_at = now() WHERE id = ${postId} RETURNING deleted_at`;
    await tx.$executeRaw`
      UPDATE posts.author_stats SET post_count = post_count - 1
      WHERE author_id = ${viewerId} AND post_count > 0`;
    const payload: PostDeletedV1 = {
      v: 1,
      postId: postId.toString(),
      authorId: viewerId.toString(),
      createdAt: post.created_at.toISOString(),
      deletedAt: deleted[0]!.deleted_at.toISOString(),
    };
    await enqueue(tx, 'posts', 'post.deleted', payload);
  });
}
