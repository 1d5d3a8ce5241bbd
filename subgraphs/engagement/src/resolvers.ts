// The engagement subgraph's operations. Beside each: who may call it and its error codes.
// Visibility is applied where a reference is handed out (comment(id), pages, the mutations'
// NOT_FOUND), never in __resolveReference.
import { badInput, forbidden, notFound, unauthenticated } from '../../../lib/contracts/errors.js';
import { parseId, tryParseId } from '../../../lib/contracts/ids.js';
import { decodeCursor, encodeCursor, pageSize } from '../../../lib/contracts/pagination.js';
import type { PageInfo } from '../../../lib/contracts/pagination.js';
import type { Resolvers } from '../../../lib/platform/http/subgraph.js';
import type { PostRef } from '../../../lib/clients/post-client.js';
import type { RequestContext } from './context.js';
import { hiddenAmong, visiblePost, type CommentRow } from './loaders.js';
import { addComment, deleteComment, like, unlike } from './store.js';
import { parseCommentText, parsePageArgs, type BiPageArgs } from './validation.js';

interface Ref {
  id: string;
}

interface Edge<T> {
  cursor: string;
  node: T;
}

function requireViewer(ctx: RequestContext): string {
  if (!ctx.viewer.userId) throw unauthenticated();
  return parseId(ctx.viewer.userId, 'viewer').toString();
}

const commentCursor = (c: CommentRow) => encodeCursor([c.id]);

/** After a write, what this request loaded is stale: the payload is read afresh. */
function forget(ctx: RequestContext): void {
  ctx.loaders.counts.clearAll();
  ctx.loaders.liked.clearAll();
  ctx.loaders.comment.clearAll();
  ctx.loaders.commentPage.clearAll();
  ctx.loaders.likePage.clearAll();
}

/** The post for a mutation: NOT_FOUND when absent, deleted or hidden from the viewer. */
async function requirePost(ctx: RequestContext, postId: string): Promise<PostRef> {
  const post = await visiblePost(ctx.loaders, postId);
  if (!post) throw notFound('No such post');
  return post;
}

/**
 * A comment the viewer may see: it exists, its post is live and visible, and its author is
 * not hidden from the viewer. Null otherwise. Both authors in one visibility call.
 */
async function visibleComment(ctx: RequestContext, id: string): Promise<CommentRow | null> {
  const row = await ctx.loaders.comment.load(id);
  if (!row) return null;
  const post = await ctx.loaders.post.load(row.postId);
  if (!post) return null;
  // The post's author decides whether its content shows; the commenter, whether the person does.
  const [author, commenter] = await ctx.loaders.hidden.loadMany([post.authorId, row.authorId]);
  if (author instanceof Error) throw author;
  if (commenter instanceof Error) throw commenter;
  return !author!.content && !commenter!.person ? row : null;
}

/**
 * A page of comments, oldest first, with comments by hidden authors left out. The page's
 * cursors come from the rows read, hidden or not, so paging goes on past a hidden stretch.
 */
async function commentConnection(
  ctx: RequestContext,
  kind: 'post' | 'replies',
  parentId: string,
  args: BiPageArgs,
) {
  const req = parsePageArgs(args);
  const parent = tryParseId(parentId);
  const rows =
    parent === null
      ? []
      : await ctx.loaders.commentPage.load({
          kind,
          parentId: parent.toString(),
          forward: req.forward,
          cursor: req.cursor === null ? null : req.cursor.toString(),
          limit: req.size + 1,
        });
  const more = rows.length > req.size;
  const read = rows.slice(0, req.size);
  if (!req.forward) read.reverse();
  const hidden = await hiddenAmong(
    ctx.loaders,
    read.map((r) => r.authorId),
  );
  const edges: Edge<CommentRow>[] = read
    .filter((_r, i) => hidden[i] === false)
    .map((r) => ({ cursor: commentCursor(r), node: r }));
  const pageInfo: PageInfo = {
    hasNextPage: req.forward ? more : req.cursor !== null,
    hasPreviousPage: req.forward ? req.cursor !== null : more,
    startCursor: read[0] ? commentCursor(read[0]) : null,
    endCursor: read.at(-1) ? commentCursor(read.at(-1)!) : null,
  };
  return { edges, nodes: edges.map((e) => e.node), pageInfo };
}

const seqCursor = (raw: unknown[]) =>
  raw.length === 1 && typeof raw[0] === 'string' ? tryParseId(raw[0]) : null;

/** Who likes a post, newest first, hidden users left out (cursors as for comments). */
async function likedBy(
  ctx: RequestContext,
  postId: string,
  args: { first?: number | null; after?: string | null },
) {
  const size = pageSize(args.first);
  const after = decodeCursor(args.after, seqCursor);
  const post = tryParseId(postId);
  const rows =
    post === null
      ? []
      : await ctx.loaders.likePage.load({
          postId: post.toString(),
          cursor: after === null ? null : after.toString(),
          limit: size + 1,
        });
  const read = rows.slice(0, size);
  const hidden = await hiddenAmong(
    ctx.loaders,
    read.map((r) => r.userId),
  );
  const edges: Edge<Ref>[] = read
    .filter((_r, i) => hidden[i] === false)
    .map((r) => ({ cursor: encodeCursor([r.seq]), node: { id: r.userId } }));
  const pageInfo: PageInfo = {
    hasNextPage: rows.length > size,
    hasPreviousPage: after !== null,
    startCursor: read[0] ? encodeCursor([read[0].seq]) : null,
    endCursor: read.at(-1) ? encodeCursor([read.at(-1)!.seq]) : null,
  };
  return { edges, nodes: edges.map((e) => e.node), pageInfo };
}

/** A like-type mutation: parse, check the post, act, then hand out the post afresh. */
function likeMutation(act: typeof like) {
  return async (_p: unknown, args: { postId: string }, ctx: RequestContext) => {
    const viewer = requireViewer(ctx);
    const postId = parseId(args.postId, 'postId').toString();
    const post = await requirePost(ctx, postId);
    await act(ctx.app.pool, post, viewer);
    forget(ctx);
    return { post: { id: post.id } };
  };
}

export const resolvers: Resolvers<RequestContext> = {
  Query: {
    // anyone | null when absent, malformed, on a deleted or hidden post, or by a hidden author
    comment: async (_p, args: { id: string }, ctx: RequestContext) => {
      const id = tryParseId(args.id);
      return id === null ? null : visibleComment(ctx, id.toString());
    },
  },

  Mutation: {
    // signed-in viewer | UNAUTHENTICATED, BAD_USER_INPUT `postId` (malformed), NOT_FOUND (no
    // such post, deleted, or hidden from the viewer). Idempotent: a second like writes nothing.
    likePost: likeMutation(like),
    // Same rules; idempotent: unliking a post not liked writes nothing.
    unlikePost: likeMutation(unlike),

    // signed-in viewer | UNAUTHENTICATED, BAD_USER_INPUT `postId`, `text` (1-2,200 characters
    // after trimming, no control characters but line breaks and tabs), `replyToId` (malformed,
    // or not a visible top-level comment of this post), NOT_FOUND (post absent, deleted, hidden)
    addComment: async (
      _p,
      args: { input: { postId: string; text: string; replyToId?: string | null } },
      ctx: RequestContext,
    ) => {
      const viewer = requireViewer(ctx);
      const input = args.input;
      const postId = parseId(input.postId, 'postId').toString();
      const text = parseCommentText(input.text);
      const replyTo =
        input.replyToId === null || input.replyToId === undefined
          ? null
          : parseId(input.replyToId, 'replyToId').toString();
      // The post and the parent first, then both authors in one visibility call.
      const [found, parent] = await Promise.all([
        ctx.loaders.post.load(postId),
        replyTo === null ? null : ctx.loaders.comment.load(replyTo),
      ]);
      if (!found) throw notFound('No such post');
      const [author, parentAuthor] = await ctx.loaders.hidden.loadMany(
        parent ? [found.authorId, parent.authorId] : [found.authorId],
      );
      if (author instanceof Error) throw author;
      if (parentAuthor instanceof Error) throw parentAuthor;
      if (author!.content) throw notFound('No such post');
      // A parent hidden from the viewer is refused like a missing one (nothing confirmed).
      if (parent && parentAuthor!.person)
        throw badInput('replyToId must be a top-level comment of the same post', 'replyToId');
      const post = found;
      const row = await addComment(ctx.app.pool, post, viewer, text, replyTo);
      forget(ctx);
      return {
        comment: row,
        commentEdge: { cursor: commentCursor(row), node: row },
        post: { id: post.id },
        parent: replyTo === null ? null : await ctx.loaders.comment.load(replyTo),
      };
    },

    // signed-in viewer: the comment's author or the post's author | UNAUTHENTICATED,
    // BAD_USER_INPUT `id` (malformed), NOT_FOUND (absent, or not visible to the viewer),
    // FORBIDDEN (someone else's comment on someone else's post). Replies go with it.
    deleteComment: async (_p, args: { id: string }, ctx: RequestContext) => {
      const viewer = requireViewer(ctx);
      const id = parseId(args.id, 'id').toString();
      const row = await visibleComment(ctx, id);
      if (!row) throw notFound('No such comment');
      if (row.authorId !== viewer && row.postAuthorId !== viewer)
        throw forbidden('Only the comment’s author or the post’s author may delete it');
      const deleted = await deleteComment(ctx.app.pool, id);
      if (deleted.length === 0) throw notFound('No such comment');
      forget(ctx);
      return {
        deletedCommentId: id,
        post: { id: row.postId },
        parent: row.replyToId === null ? null : await ctx.loaders.comment.load(row.replyToId),
      };
    },
  },

  Post: {
    likeCount: async (post: Ref, _a, ctx: RequestContext) =>
      (await ctx.loaders.counts.load(post.id)).likes,
    commentCount: async (post: Ref, _a, ctx: RequestContext) =>
      (await ctx.loaders.counts.load(post.id)).comments,
    viewerHasLiked: (post: Ref, _a, ctx: RequestContext) => ctx.loaders.liked.load(post.id),
    // anyone | BAD_USER_INPUT `first` (1..100), `after` (malformed cursor)
    likedBy: (post: Ref, args: { first?: number | null; after?: string | null }, ctx) =>
      likedBy(ctx, post.id, args),
    // anyone | BAD_USER_INPUT `first`/`last` (1..100), `after`/`before` (malformed), mixed
    comments: (post: Ref, args: BiPageArgs, ctx: RequestContext) =>
      commentConnection(ctx, 'post', post.id, args),
  },

  Comment: {
    // Entities resolve what they are asked (no visibility here); null when deleted.
    __resolveReference: (ref: Ref, ctx: RequestContext) => {
      const id = tryParseId(ref.id);
      return id === null ? null : ctx.loaders.comment.load(id.toString());
    },
    post: (c: CommentRow): Ref => ({ id: c.postId }),
    author: (c: CommentRow): Ref => ({ id: c.authorId }),
    createdAt: (c: CommentRow) => c.createdAt.toISOString(),
    // The parent is visible whenever its reply is reachable (same post); a hidden parent
    // author gives null.
    replyTo: (c: CommentRow, _a, ctx: RequestContext) =>
      c.replyToId === null ? null : visibleComment(ctx, c.replyToId),
    replies: (c: CommentRow, args: BiPageArgs, ctx: RequestContext) =>
      c.replyToId === null
        ? commentConnection(ctx, 'replies', c.id, args)
        : commentConnection(ctx, 'replies', '0', args),
    viewerCanDelete: (c: CommentRow, _a, ctx: RequestContext) =>
      ctx.viewer.userId !== null &&
      (ctx.viewer.userId === c.authorId || ctx.viewer.userId === c.postAuthorId),
  },
};
