// The feed subgraph's operations.
import { unauthenticated } from '../../../lib/contracts/errors.js';
import { tryParseId } from '../../../lib/contracts/ids.js';
import {
  decodeCursor,
  encodeCursor,
  pageSize,
  toConnection,
} from '../../../lib/contracts/pagination.js';
import type { Resolvers } from '../../../lib/platform/http/subgraph.js';
import type { RequestContext } from './context.js';
import { readFeed } from './read.js';

const postCursor = (raw: unknown[]) =>
  raw.length === 1 && typeof raw[0] === 'string' ? tryParseId(raw[0]) : null;

export const resolvers: Resolvers<RequestContext> = {
  Query: {
    // signed-in user | UNAUTHENTICATED, BAD_USER_INPUT (first outside 1..100, malformed cursor).
    // Posts the reader may not see (graph visibility: private accounts they do not follow,
    // blocks either way) are left out, checked with one graph call per page, never cached.
    // Posts come back as references; the post subgraph resolves them in one batch.
    feed: async (_p, args: { first?: number; after?: string }, ctx: RequestContext) => {
      if (!ctx.viewer.userId) throw unauthenticated();
      const size = pageSize(args.first);
      const before = decodeCursor(args.after, postCursor);
      const page = await readFeed(ctx.app, ctx.viewer.userId, before, size);
      // toConnection reads hasNextPage from one extra row; add a marker row when there is more.
      const rows: (bigint | null)[] = page.hasNextPage ? [...page.postIds, null] : page.postIds;
      const connection = toConnection(
        rows,
        page.postIds.length,
        (id) => encodeCursor([String(id)]),
        (id) => ({ id: String(id) }),
        args.after,
      );
      // Only hidden posts were found within the page's rounds: the next page goes on from there.
      if (page.resumeAfter !== undefined) {
        connection.pageInfo.endCursor = encodeCursor([String(page.resumeAfter)]);
      }
      return connection;
    },
  },
};
