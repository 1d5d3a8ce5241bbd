// The post subgraph's operations. Beside each: who may call it, its limits and the error
// codes it answers with (the gateway adds per-IP and per-user rate limits, and its upload
// limit on createUpload).
import { DateTimeScalar } from '../../../lib/contracts/scalars.js';
import { unauthenticated } from '../../../lib/contracts/errors.js';
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
import { toMediaView } from './media-view.js';
import { createPost, deletePost } from './posts.js';
import { purgePost } from './janitor.js';
import { completeUpload, createUpload } from './uploads/direct.js';
import { parseCreatePost, parseCreateUpload } from './validation.js';

function requireViewer(ctx: RequestContext): bigint {
  if (!ctx.viewer.userId) throw unauthenticated();
  return parseId(ctx.viewer.userId, 'viewer');
}

const postCursor = (p: PostRow) => encodeCursor([p.id.toString()]);
const parsePostCursor = (raw: unknown[]) => (raw.length === 1 ? tryParseId(raw[0]) : null);

export const resolvers: Resolvers<RequestContext> = {
  DateTime: DateTimeScalar,

  Query: {
    // anyone; null for unknown, malformed or deleted ids
    post: (_p, args: { id: string }, ctx: RequestContext) =>
      tryParseId(args.id) === null ? null : ctx.loaders.postById.load(args.id),
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
      return toMediaView(ctx.app.storage, row);
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

    // the post's author | UNAUTHENTICATED, BAD_USER_INPUT (malformed id), NOT_FOUND
    // (unknown or already deleted), FORBIDDEN (someone else's post)
    deletePost: async (_p, args: { id: string }, ctx: RequestContext) => {
      const viewerId = requireViewer(ctx);
      const postId = parseId(args.id, 'id');
      await deletePost(ctx.app, viewerId, postId);
      ctx.loaders.postById.clear(args.id);
      ctx.loaders.postCountByAuthor.clear(viewerId);
      // The objects go right away when possible; the janitor catches any that do not.
      purgePost(ctx.app, postId).catch((err: unknown) =>
        ctx.app.logger.warn({ err, postId: args.id }, 'purging a deleted post failed'),
      );
      return true;
    },
  },

  Post: {
    __resolveReference: (ref: { id: string }, ctx: RequestContext) =>
      tryParseId(ref.id) === null ? null : ctx.loaders.postById.load(ref.id),
    id: (p: PostRow) => p.id.toString(),
    author: (p: PostRow) => ({ __typename: 'User', id: p.authorId.toString() }),
    media: async (p: PostRow, _a, ctx: RequestContext) =>
      (await ctx.loaders.mediaByPostId.load(p.id)).map((m) => toMediaView(ctx.app.storage, m)),
  },

  User: {
    __resolveReference: (ref: { id: string }) => ({ id: ref.id }),

    // anyone | first 1-100 (default 20) | BAD_USER_INPUT (first, after)
    posts: async (
      user: { id: string },
      args: { first?: number | null; after?: string | null },
      ctx: RequestContext,
    ) => {
      const size = pageSize(args.first);
      const after = decodeCursor(args.after, parsePostCursor);
      const authorId = tryParseId(user.id);
      if (authorId === null) return toConnection([], size, postCursor, (p) => p, args.after);
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
  },
};
