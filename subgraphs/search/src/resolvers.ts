// The search subgraph's operations. Posts come back as references; the post subgraph
// resolves a whole page in one batched call through federation.
import { badInput } from '../../../lib/contracts/errors.js';
import {
  continuesEarlierPage,
  pageSize,
  toConnection,
  type Connection,
} from '../../../lib/contracts/pagination.js';
import type { Resolvers } from '../../../lib/platform/http/subgraph.js';
import type { SearchHit, SearchPage } from './backend.js';
import type { AppContext, RequestContext } from './context.js';
import { hashtagCount, liveAmong, suggestHashtags } from './index-store.js';
import { parseHashtagName, parseQuery } from './query.js';

type PostRef = { id: string };

/**
 * A page as a connection. Results from an engine other than search.posts itself are
 * checked against it, so a post whose deletion was indexed never appears (the post
 * subgraph would resolve it to null, which a non-null edge cannot carry).
 */
async function toPostConnection(
  app: AppContext,
  page: SearchPage,
  after: string | null | undefined,
): Promise<Connection<PostRef>> {
  let hits = page.hits;
  if (app.backend.name !== 'postgres') {
    const live = await liveAmong(
      app.pool,
      hits.map((h) => h.id),
    );
    hits = hits.filter((h) => live.has(String(h.id)));
  }
  // toConnection reads hasNextPage from one extra row; add a marker row when there is more.
  const rows: (SearchHit | null)[] = page.hasNextPage ? [...hits, null] : hits;
  return toConnection(
    rows,
    hits.length,
    (h) => h!.cursor,
    (h) => ({ id: String(h!.id) }),
    after,
  );
}

const emptyConnection = (after: string | null | undefined): Connection<PostRef> => ({
  edges: [],
  nodes: [],
  pageInfo: {
    hasNextPage: false,
    hasPreviousPage: continuesEarlierPage(after),
    startCursor: null,
    endCursor: null,
  },
});

interface HashtagView {
  name: string;
  postCount: number;
}

export const resolvers: Resolvers<RequestContext> = {
  Query: {
    // anyone | query 1-200 characters, first 1-100 (default 20) | BAD_USER_INPUT (empty or
    // too long query, invalid hashtag, first, malformed cursor). Only punctuation → empty page.
    searchPosts: async (
      _p,
      args: { query: string; first?: number | null; after?: string | null },
      ctx: RequestContext,
    ) => {
      const size = pageSize(args.first);
      const q = parseQuery(args.query);
      const { backend } = ctx.app;
      if (q.kind === 'nothing') return emptyConnection(args.after);
      const page =
        q.kind === 'hashtag'
          ? await backend.byHashtag(q.tag, args.after ?? null, size)
          : await backend.searchText(q.words, args.after ?? null, size);
      return toPostConnection(ctx.app, page, args.after);
    },

    // anyone | name with or without '#', at most 200 characters | BAD_USER_INPUT (not a hashtag).
    // null when no live post carries the tag.
    hashtag: async (
      _p,
      args: { name: string },
      ctx: RequestContext,
    ): Promise<HashtagView | null> => {
      const name = parseHashtagName(args.name);
      if (name === null) throw badInput('name is not a valid hashtag', 'name');
      const count = await hashtagCount(ctx.app.pool, name);
      return count ? { name, postCount: count } : null;
    },

    // anyone | prefix a hashtag of at most 200 characters, first 1-50 (default 10) |
    // BAD_USER_INPUT (not a hashtag, first). Prefix matches first, then typos (pg_trgm).
    searchHashtags: async (
      _p,
      args: { prefix: string; first?: number | null },
      ctx: RequestContext,
    ): Promise<HashtagView[]> => {
      const size = pageSize(args.first ?? 10, 50);
      const prefix = parseHashtagName(args.prefix);
      if (prefix === null) throw badInput('prefix is not a valid hashtag', 'prefix');
      return suggestHashtags(ctx.app.pool, prefix, size);
    },
  },

  Hashtag: {
    // anyone | first 1-100 (default 20) | BAD_USER_INPUT (first, malformed cursor). Newest first.
    posts: async (
      tag: HashtagView,
      args: { first?: number | null; after?: string | null },
      ctx: RequestContext,
    ) => {
      const size = pageSize(args.first);
      const page = await ctx.app.backend.byHashtag(tag.name, args.after ?? null, size);
      return toPostConnection(ctx.app, page, args.after);
    },
  },
};
