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
import { edgePage, follow, unfollow } from './follows.js';

interface UserRef {
  id: string;
}

function requireViewer(ctx: RequestContext): bigint {
  if (!ctx.viewer.userId) throw unauthenticated();
  return parseId(ctx.viewer.userId, 'viewer');
}

const seqCursor = (raw: unknown[]) =>
  raw.length === 1 && typeof raw[0] === 'string' ? tryParseId(raw[0]) : null;

async function connection(
  ctx: RequestContext,
  user: UserRef,
  direction: 'followers' | 'following',
  args: { first?: number | null; after?: string | null },
) {
  const size = pageSize(args.first);
  const before = decodeCursor(args.after, seqCursor);
  const userId = tryParseId(user.id);
  if (userId === null)
    return toConnection(
      [],
      size,
      () => '',
      () => ({ id: '' }),
      args.after,
    );
  const page = await edgePage(ctx.app, userId, direction, before, size + 1);
  const rows = page.ids.map((id, i) => ({ id, seq: page.seqs[i]! }));
  return toConnection(
    rows,
    size,
    (r) => encodeCursor([r.seq.toString()]),
    (r): UserRef => ({ id: r.id.toString() }),
    args.after,
  );
}

/** After a change, the counters this request may have cached are stale. */
function forget(ctx: RequestContext, ...ids: bigint[]): void {
  for (const id of ids) {
    ctx.loaders.stats.clear(id.toString());
    ctx.loaders.viewerFollows.clear(id.toString());
  }
}

export const resolvers: Resolvers<RequestContext> = {
  Mutation: {
    // signed-in viewer, as themselves | UNAUTHENTICATED, BAD_USER_INPUT (self, malformed
    // id), NOT_FOUND (no such user). Idempotent.
    follow: async (_p, args: { userId: string }, ctx: RequestContext): Promise<UserRef> => {
      const viewer = requireViewer(ctx);
      const target = parseId(args.userId, 'userId');
      await follow(ctx.app, viewer, target);
      forget(ctx, viewer, target);
      return { id: target.toString() };
    },

    // signed-in viewer, as themselves | UNAUTHENTICATED, BAD_USER_INPUT, NOT_FOUND. Idempotent.
    unfollow: async (_p, args: { userId: string }, ctx: RequestContext): Promise<UserRef> => {
      const viewer = requireViewer(ctx);
      const target = parseId(args.userId, 'userId');
      await unfollow(ctx.app, viewer, target);
      forget(ctx, viewer, target);
      return { id: target.toString() };
    },
  },

  User: {
    __resolveReference: (ref: UserRef): UserRef => ({ id: ref.id }),
    // anyone | BAD_USER_INPUT (first out of 1..100, malformed cursor)
    followers: (user: UserRef, args: { first?: number; after?: string }, ctx: RequestContext) =>
      connection(ctx, user, 'followers', args),
    following: (user: UserRef, args: { first?: number; after?: string }, ctx: RequestContext) =>
      connection(ctx, user, 'following', args),
    followerCount: async (user: UserRef, _a, ctx: RequestContext) =>
      (await ctx.loaders.stats.load(user.id)).followerCount,
    followingCount: async (user: UserRef, _a, ctx: RequestContext) =>
      (await ctx.loaders.stats.load(user.id)).followingCount,
    viewerIsFollowing: (user: UserRef, _a, ctx: RequestContext) =>
      ctx.loaders.viewerFollows.load(user.id),
  },
};
