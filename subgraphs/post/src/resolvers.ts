// The post subgraph's operations. Beside each: who may call it, its limits and the error
// codes it answers with (the gateway adds per-IP and per-user rate limits, and its upload
// limit on createUpload).
import { DateTimeScalar } from '../../../lib/contracts/scalars.js';
import { forbidden, notFound, unauthenticated } from '../../../lib/contracts/errors.js';
import { parseId, tryParseId } from '../../../lib/contracts/ids.js';
import type { Resolvers } from '../../../lib/platform/http/subgraph.js';
import {
  decodeCursor,
  encodeCursor,
  pageSize,
  toConnection,
} from '../../../lib/contracts/pagination.js';
import type { RequestContext } from './context.js';
import type { PostRow } from './loaders.js';
import { ownerOnlyExpiry, toMediaView } from './media-view.js';
import { expiryFor, PRIVATE_MEDIA_URL_TTL_SECONDS } from './storage/media-url-signature.js';
import { setAvatar } from './avatars.js';
import { createPost, deletePost, updatePost } from './posts.js';
import { purgePost } from './janitor.js';
import { completeUpload, createUpload } from './uploads/direct.js';
import { parseCreatePost, parseCreateUpload, parseUpdatePost } from './validation.js';

function requireViewer(ctx: RequestContext): bigint {
  if (!ctx.viewer.userId) throw unauthenticated();
  return parseId(ctx.viewer.userId, 'viewer');
}

/**
 * The post the viewer may change: NOT_FOUND when it does not exist for them (unknown,
 * deleted, or its author's posts are hidden from them), FORBIDDEN when it is someone else's.
 * The write re-checks under its row lock.
 */
async function ownPost(ctx: RequestContext, viewerId: bigint, id: bigint): Promise<void> {
  const post = await ctx.loaders.postById.load(id.toString());
  if (!post) throw notFound('Post not found');
  if (post.authorId === viewerId) return;
  if ((await ctx.visibility.load(post.authorId.toString())).hidden)
    throw notFound('Post not found');
  throw forbidden('You can only change your own posts');
}

const postCursor = (p: PostRow) => encodeCursor([p.id.toString()]);
const parsePostCursor = (raw: unknown[]) => (raw.length === 1 ? tryParseId(raw[0]) : null);

export const resolvers: Resolvers<RequestContext> = {
  DateTime: DateTimeScalar,

  Query: {
    // anyone | null for unknown, malformed or deleted ids, and for posts whose author's
    // content is hidden from the viewer (one batched visibility call per request)
    post: async (_p, args: { id: string }, ctx: RequestContext) => {
      if (tryParseId(args.id) === null) return null;
      const post = await ctx.loaders.postById.load(args.id);
      if (!post || (await ctx.visibility.load(post.authorId.toString())).hidden) return null;
      return post;
    },

    // the owner only | null for others' media, unknown or malformed ids, media not READY
    // (still uploading, or failed), and when signed out
    media: async (_p, args: { id: string }, ctx: RequestContext) => {
      const id = tryParseId(args.id);
      if (id === null || !ctx.viewer.userId) return null;
      const m = await ctx.loaders.mediaById.load(id);
      if (!m || m.ownerId.toString() !== ctx.viewer.userId || m.status !== 'READY') return null;
      return toMediaView(ctx.app.storage, m, ownerOnlyExpiry());
    },
  },

  Mutation: {
    // signed-in user | byteSize up to MEDIA_MAX_IMAGE_BYTES / MEDIA_MAX_VIDEO_BYTES by the
    // declared type, URLs valid UPLOAD_URL_TTL_SECONDS | UNAUTHENTICATED, BAD_USER_INPUT,
    // PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE
    createUpload: async (_p, args: { input: unknown }, ctx: RequestContext) =>
      createUpload(ctx.app, requireViewer(ctx), parseCreateUpload(args.input)),

    // the user who created the upload | the type and limits are judged from the stored
    // bytes | UNAUTHENTICATED, BAD_USER_INPUT, NOT_FOUND, FORBIDDEN, CONFLICT,
    // PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE
    completeUpload: async (
      _p,
      args: { uploadId: string; parts?: { partNumber: number; etag: string }[] | null },
      ctx: RequestContext,
    ) => {
      const viewerId = requireViewer(ctx);
      const row = await completeUpload(
        ctx.app,
        viewerId,
        parseId(args.uploadId, 'uploadId'),
        args.parts,
      );
      return toMediaView(ctx.app.storage, row, ownerOnlyExpiry());
    },

    // signed-in user | caption <= 2,200 characters, 1-10 of the viewer's own READY media,
    // each once | UNAUTHENTICATED, BAD_USER_INPUT, NOT_FOUND (unknown media), FORBIDDEN
    // (someone else's media), CONFLICT (media already in a post)
    createPost: async (
      _p,
      args: { input: { caption?: unknown; mediaIds?: unknown } },
      ctx: RequestContext,
    ) => {
      const authorId = requireViewer(ctx);
      const post = await createPost(ctx.app, authorId, parseCreatePost(args.input));
      ctx.loaders.postById.prime(post.id.toString(), post);
      ctx.loaders.postCountByAuthor.clear(authorId);
      return post;
    },

    // the post's author | caption <= 2,200 characters, null or empty clears |
    // UNAUTHENTICATED, BAD_USER_INPUT (id, caption), NOT_FOUND (unknown, deleted, or hidden
    // from the viewer), FORBIDDEN (someone else's post)
    updatePost: async (
      _p,
      args: { input: { id?: unknown; caption?: unknown } },
      ctx: RequestContext,
    ) => {
      const viewerId = requireViewer(ctx);
      const input = parseUpdatePost(args.input);
      await ownPost(ctx, viewerId, input.id);
      const post = await updatePost(ctx.app, viewerId, input);
      ctx.loaders.postById.clear(post.id.toString()).prime(post.id.toString(), post);
      return post;
    },

    // the post's author | UNAUTHENTICATED, BAD_USER_INPUT (malformed id), NOT_FOUND
    // (unknown, already deleted, or hidden from the viewer), FORBIDDEN (someone else's post)
    deletePost: async (_p, args: { id: string }, ctx: RequestContext) => {
      const viewerId = requireViewer(ctx);
      const postId = parseId(args.id, 'id');
      await ownPost(ctx, viewerId, postId);
      await deletePost(ctx.app, viewerId, postId);
      ctx.loaders.postById.clear(args.id);
      ctx.loaders.postCountByAuthor.clear(viewerId);
      // The objects go right away when possible; the janitor catches any that do not.
      purgePost(ctx.app, postId).catch((err: unknown) =>
        ctx.app.logger.warn({ err, postId: args.id }, 'purging a deleted post failed'),
      );
      // postCount is read after the delete (the loader was cleared above): fresh.
      return {
        deletedPostId: postId.toString(),
        viewer: { __typename: 'User', id: ctx.viewer.userId },
      };
    },

    // signed-in user | one of the viewer's own READY images not in a post; crops of 150, 320
    // and 640 px | UNAUTHENTICATED, BAD_USER_INPUT (mediaId: malformed, a video, processing
    // or failed), NOT_FOUND (unknown media), FORBIDDEN (someone else's), CONFLICT (in a post)
    setAvatar: async (_p, args: { mediaId?: string | null }, ctx: RequestContext) => {
      const viewerId = requireViewer(ctx);
      const mediaId =
        args.mediaId === null || args.mediaId === undefined
          ? null
          : parseId(args.mediaId, 'mediaId');
      await setAvatar(ctx.app, viewerId, mediaId);
      ctx.loaders.avatarByUser.clear(viewerId);
      if (mediaId !== null) ctx.loaders.mediaById.clear(mediaId);
      return { __typename: 'User', id: viewerId.toString() };
    },
  },

  Post: {
    __resolveReference: (ref: { id: string }, ctx: RequestContext) =>
      tryParseId(ref.id) === null ? null : ctx.loaders.postById.load(ref.id),
    id: (p: PostRow) => p.id.toString(),
    author: (p: PostRow) => ({ __typename: 'User', id: p.authorId.toString() }),
    // A private account's media gets URLs that expire (PRIVATE_MEDIA_URL_TTL_SECONDS), so a
    // follower who is removed or blocked keeps nothing that works; the privacy flag comes
    // from the same per-request visibility call as everything else on the page.
    media: async (p: PostRow, _a, ctx: RequestContext) => {
      const [rows, author] = await Promise.all([
        ctx.loaders.mediaByPostId.load(p.id),
        ctx.visibility.load(p.authorId.toString()),
      ]);
      const expiresAt = author.private ? expiryFor(PRIVATE_MEDIA_URL_TTL_SECONDS) : undefined;
      return rows.map((m) => toMediaView(ctx.app.storage, m, expiresAt));
    },
  },

  User: {
    __resolveReference: (ref: { id: string }) => ({ id: ref.id }),

    // anyone | first 1-100 (default 20); empty when the viewer may not see the user's posts
    // (one batched visibility call for every user on the page) | BAD_USER_INPUT (first, after)
    posts: async (
      user: { id: string },
      args: { first?: number | null; after?: string | null },
      ctx: RequestContext,
    ) => {
      const size = pageSize(args.first);
      const after = decodeCursor(args.after, parsePostCursor);
      const authorId = tryParseId(user.id);
      if (authorId === null || (await ctx.visibility.load(user.id)).hidden)
        return toConnection([], size, postCursor, (p) => p, args.after);
      const rows = await ctx.loaders.authorPage.load({
        authorId,
        beforeId: after,
        limit: size + 1,
      });
      return toConnection(rows, size, postCursor, (p) => p, args.after);
    },

    // anyone | exact: a counter kept in the transactions that create and delete posts
    postCount: (user: { id: string }, _a, ctx: RequestContext) => {
      const authorId = tryParseId(user.id);
      return authorId === null ? 0 : ctx.loaders.postCountByAuthor.load(authorId);
    },

    // anyone (public, also for private accounts) | one query per page of users
    avatar: async (user: { id: string }, _a, ctx: RequestContext) => {
      const userId = tryParseId(user.id);
      const m = userId === null ? null : await ctx.loaders.avatarByUser.load(userId);
      return m ? toMediaView(ctx.app.storage, m) : null;
    },
  },
};
