// The graph subgraph's operations. Beside each: who may call it and its error codes.
import { unauthenticated } from '../../../lib/contracts/errors.js';
import { parseId, tryParseId } from '../../../lib/contracts/ids.js';
import {
  decodeCursor,
  encodeCursor,
  pageSize,
  toConnection,
} from '../../../lib/contracts/pagination.js';
import type { Resolvers } from '../../../lib/platform/http/subgraph.js';
import type { RequestContext } from './context.js';
import {
  approveRequest,
  block,
  blockPage,
  declineRequest,
  follow,
  removeFollower,
  requestPage,
  setPrivacy,
  unblock,
  unfollow,
  visibleEdgePage,
  type EdgePage,
  type FollowState,
} from './follows.js';

interface UserRef {
  id: string;
}

interface FollowPayload {
  user: UserRef;
  viewer: UserRef;
}

interface PageArgs {
  first?: number | null;
  after?: string | null;
}

function requireViewer(ctx: RequestContext): bigint {
  if (!ctx.viewer.userId) throw unauthenticated();
  return parseId(ctx.viewer.userId, 'viewer');
}

const seqCursor = (raw: unknown[]) =>
  raw.length === 1 && typeof raw[0] === 'string' ? tryParseId(raw[0]) : null;

/** A page of users from `load(before, size + 1)`, cursors on the edge/request/block seq. */
async function connection(
  args: PageArgs,
  load: ((before: bigint | null, limit: number) => Promise<EdgePage>) | null,
) {
  const size = pageSize(args.first);
  const before = decodeCursor(args.after, seqCursor);
  const page = load ? await load(before, size + 1) : { ids: [], seqs: [] };
  const rows = page.ids.map((id, i) => ({ id, seq: page.seqs[i]! }));
  return toConnection(
    rows,
    size,
    (r) => encodeCursor([r.seq.toString()]),
    (r): UserRef => ({ id: r.id.toString() }),
    args.after,
  );
}

function lists(direction: 'followers' | 'following') {
  return (user: UserRef, args: PageArgs, ctx: RequestContext) => {
    const userId = tryParseId(user.id);
    const viewer = tryParseId(ctx.viewer.userId);
    return connection(
      args,
      userId === null
        ? null
        : (before, limit) => visibleEdgePage(ctx.app, viewer, userId, direction, before, limit),
    );
  };
}

/**
 * After a write, everything this request may have loaded is stale: the payload's users must
 * be read afresh (several mutations can run in one request).
 */
function forget(ctx: RequestContext): void {
  ctx.loaders.stats.clearAll();
  ctx.loaders.relation.clearAll();
}

/** A follow-type mutation: parse, act as the viewer, then hand out both users afresh. */
function pairMutation(
  act: (ctx: RequestContext, viewer: bigint, other: bigint) => Promise<unknown>,
) {
  return async (_p: unknown, args: { userId: string }, ctx: RequestContext) => {
    const viewer = requireViewer(ctx);
    const other = parseId(args.userId, 'userId');
    await act(ctx, viewer, other);
    forget(ctx);
    return {
      user: { id: other.toString() },
      viewer: { id: viewer.toString() },
    } satisfies FollowPayload;
  };
}

export const resolvers: Resolvers<RequestContext> = {
  Query: {
    // signed-in viewer, their own requests | UNAUTHENTICATED, BAD_USER_INPUT (first out of
    // 1..100, malformed cursor)
    followRequests: (_p, args: PageArgs, ctx: RequestContext) => {
      const viewer = requireViewer(ctx);
      return connection(args, (before, limit) => requestPage(ctx.app, viewer, before, limit));
    },
    // signed-in viewer, their own blocks | UNAUTHENTICATED, BAD_USER_INPUT (first, after)
    blockedUsers: (_p, args: PageArgs, ctx: RequestContext) => {
      const viewer = requireViewer(ctx);
      return connection(args, (before, limit) => blockPage(ctx.app, viewer, before, limit));
    },
  },

  Mutation: {
    // Every follow-type mutation: signed-in viewer, as themselves | UNAUTHENTICATED,
    // BAD_USER_INPUT `userId` (self, malformed id), NOT_FOUND (no such user, or one who has
    // blocked the viewer: nothing is written).
    // + FORBIDDEN when the viewer has blocked the target. Idempotent; a private target gets a request.
    follow: pairMutation((ctx, viewer, other) => follow(ctx.app, viewer, other)),
    // Idempotent; also withdraws a pending request.
    unfollow: pairMutation((ctx, viewer, other) => unfollow(ctx.app, viewer, other)),
    // + NOT_FOUND when there is no pending request from that user.
    approveFollowRequest: pairMutation((ctx, viewer, other) =>
      approveRequest(ctx.app, viewer, other),
    ),
    // + NOT_FOUND when there is no pending request from that user.
    declineFollowRequest: pairMutation((ctx, viewer, other) =>
      declineRequest(ctx.app, viewer, other),
    ),
    // Idempotent.
    removeFollower: pairMutation((ctx, viewer, other) => removeFollower(ctx.app, viewer, other)),
    // Idempotent; ends follows and requests both ways.
    block: pairMutation((ctx, viewer, other) => block(ctx.app, viewer, other)),
    // Idempotent.
    unblock: pairMutation((ctx, viewer, other) => unblock(ctx.app, viewer, other)),

    // signed-in viewer, their own account | UNAUTHENTICATED. Idempotent; turning public
    // approves every pending request in the same transaction.
    setAccountPrivacy: async (
      _p,
      args: { isPrivate: boolean },
      ctx: RequestContext,
    ): Promise<UserRef> => {
      const viewer = requireViewer(ctx);
      await setPrivacy(ctx.app, viewer, args.isPrivate);
      forget(ctx);
      return { id: viewer.toString() };
    },
  },

  User: {
    __resolveReference: (ref: UserRef): UserRef => ({ id: ref.id }),
    // anyone; empty when the viewer may not see the list | BAD_USER_INPUT (first out of
    // 1..100, malformed cursor)
    followers: lists('followers'),
    following: lists('following'),
    followerCount: async (user: UserRef, _a, ctx: RequestContext) =>
      (await ctx.loaders.stats.load(user.id)).followerCount,
    followingCount: async (user: UserRef, _a, ctx: RequestContext) =>
      (await ctx.loaders.stats.load(user.id)).followingCount,
    isPrivate: async (user: UserRef, _a, ctx: RequestContext) =>
      (await ctx.loaders.stats.load(user.id)).isPrivate,
    // the viewer's own user only; null on anyone else and when signed out
    pendingFollowRequestCount: async (user: UserRef, _a, ctx: RequestContext) =>
      ctx.viewer.userId && ctx.viewer.userId === user.id
        ? (await ctx.loaders.stats.load(user.id)).pendingRequestCount
        : null,
    viewerIsFollowing: async (user: UserRef, _a, ctx: RequestContext) =>
      (await ctx.loaders.relation.load(user.id)).following,
    viewerFollowState: async (user: UserRef, _a, ctx: RequestContext): Promise<FollowState> => {
      const r = await ctx.loaders.relation.load(user.id);
      return r.following ? 'FOLLOWING' : r.requested ? 'REQUESTED' : 'NONE';
    },
    followsViewer: async (user: UserRef, _a, ctx: RequestContext) =>
      (await ctx.loaders.relation.load(user.id)).followsViewer,
    viewerHasBlocked: async (user: UserRef, _a, ctx: RequestContext) =>
      (await ctx.loaders.relation.load(user.id)).viewerHasBlocked,
  },
};
