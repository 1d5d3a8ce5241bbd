// The search subgraph's operations. Posts and users come back as references; their
// subgraphs resolve a whole page in one batched call through federation. Results the viewer
// may not see (graph.visibility) are left out, never reported: a page is filled from further
// results instead, with one visibility call per batch fetched.
import { MAX_VISIBILITY_IDS } from '../../../lib/clients/graph-client.js';
import { badInput } from '../../../lib/contracts/errors.js';
import {
  continuesEarlierPage,
  pageSize,
  type Connection,
} from '../../../lib/contracts/pagination.js';
import type { Resolvers } from '../../../lib/platform/http/subgraph.js';
import type { SearchHit, SearchPage } from './backend.js';
import type { RequestContext } from './context.js';
import { hashtagCount, liveAmong, suggestHashtags } from './index-store.js';
import { parseHashtagName, parseQuery } from './query.js';
import { parseUserQuery } from './user-query.js';
import { searchableAmong } from './user-store.js';

type Ref = { id: string };

/** Batches fetched per page at most when results are left out (each: one visibility call). */
export const MAX_ROUNDS_PER_PAGE = 3;

/**
 * One page of `size` results the viewer may see. Each round fetches up to twice what is
 * still missing (plus one, to know whether more follow), and `admit` keeps what may be
 * shown. Cursors are the backend's, so a page continues exactly after the last result it
 * shows. When the rounds run out before the page is full (almost everything hidden), the
 * page is shorter and its endCursor is that of the last result looked at, so the next
 * page never reads the same hidden results again.
 */
async function visiblePage(
  fetch: (after: string | null, limit: number) => Promise<SearchPage>,
  admit: (hits: SearchHit[]) => Promise<SearchHit[]>,
  size: number,
  after: string | null | undefined,
): Promise<Connection<Ref>> {
  const kept: SearchHit[] = [];
  let cursor = after ?? null;
  let more = true;
  for (let round = 0; round < MAX_ROUNDS_PER_PAGE && more && kept.length <= size; round++) {
    const missing = size + 1 - kept.length;
    const batch = await fetch(cursor, Math.min(2 * missing, MAX_VISIBILITY_IDS));
    if (batch.hits.length > 0) kept.push(...(await admit(batch.hits)));
    cursor = batch.hits.at(-1)?.cursor ?? cursor;
    more = batch.hasNextPage && batch.hits.length > 0;
  }
  const page = kept.slice(0, size);
  const edges = page.map((h) => ({ cursor: h.cursor, node: { id: String(h.id) } }));
  const cutShort = kept.length <= size && more;
  return {
    edges,
    nodes: edges.map((e) => e.node),
    pageInfo: {
      hasNextPage: kept.length > size || more,
      hasPreviousPage: continuesEarlierPage(after),
      startCursor: edges[0]?.cursor ?? null,
      endCursor: cutShort ? cursor : (edges.at(-1)?.cursor ?? null),
    },
  };
}

/** Owners (authors, or the users themselves) among the hits, without the viewer. */
const ownersOf = (hits: SearchHit[], viewerId: string | null) =>
  [...new Set(hits.map((h) => h.ownerId))].filter((id) => id !== viewerId);

/**
 * Posts the viewer may see: live in search.posts (checked when the results come from an
 * engine other than that table, so a post whose deletion was indexed never appears: the
 * post subgraph would resolve it to null, which a non-null edge cannot carry), and by an
 * author whose content is not hidden from the viewer (private and not followed, blocks).
 */
function admitPosts(ctx: RequestContext) {
  const { app } = ctx;
  const viewerId = ctx.viewer.userId ?? null;
  return async (hits: SearchHit[]): Promise<SearchHit[]> => {
    let live = hits;
    if (app.backend.name !== 'postgres') {
      const ids = await liveAmong(
        app.pool,
        hits.map((h) => h.id),
      );
      live = hits.filter((h) => ids.has(String(h.id)));
    }
    const owners = ownersOf(live, viewerId);
    if (owners.length === 0) return live;
    const hidden = new Set((await app.graph.visibility(viewerId, owners)).contentHidden);
    return live.filter((h) => !hidden.has(h.ownerId));
  };
}

/**
 * Users the viewer may find: indexed in search.users (checked for an engine other than that
 * table, which decides), and not among those who have blocked the viewer (signed out: all).
 */
function admitUsers(ctx: RequestContext) {
  const { app } = ctx;
  const viewerId = ctx.viewer.userId ?? null;
  return async (hits: SearchHit[]): Promise<SearchHit[]> => {
    let indexed = hits;
    if (app.backend.name !== 'postgres') {
      const ids = await searchableAmong(
        app.pool,
        hits.map((h) => h.id),
      );
      indexed = hits.filter((h) => ids.has(String(h.id)));
    }
    const others = ownersOf(indexed, viewerId);
    if (viewerId === null || others.length === 0) return indexed;
    const hidden = new Set((await app.graph.visibility(viewerId, others)).profileHidden);
    return indexed.filter((h) => !hidden.has(h.ownerId));
  };
}

const emptyConnection = (after: string | null | undefined): Connection<Ref> => ({
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
    // Posts whose author's content is hidden from the viewer are left out.
    searchPosts: async (
      _p,
      args: { query: string; first?: number | null; after?: string | null },
      ctx: RequestContext,
    ) => {
      const size = pageSize(args.first);
      const q = parseQuery(args.query);
      const { backend } = ctx.app;
      if (q.kind === 'nothing') return emptyConnection(args.after);
      const fetch =
        q.kind === 'hashtag'
          ? (after: string | null, limit: number) => backend.byHashtag(q.tag, after, limit)
          : (after: string | null, limit: number) => backend.searchText(q.words, after, limit);
      return visiblePage(fetch, admitPosts(ctx), size, args.after);
    },

    // anyone | query 1-200 characters ("@name" too), first 1-100 (default 20) |
    // BAD_USER_INPUT (empty or too long query, first, malformed cursor). No letter or digit →
    // empty page. Exact username, then prefixes, then close spellings; most followed first
    // within each. Users who have blocked the viewer are left out.
    searchUsers: async (
      _p,
      args: { query: string; first?: number | null; after?: string | null },
      ctx: RequestContext,
    ) => {
      const size = pageSize(args.first);
      const q = parseUserQuery(args.query);
      if (q.kind === 'nothing') return emptyConnection(args.after);
      const { backend } = ctx.app;
      return visiblePage(
        (after, limit) => backend.searchUsers(q.key, after, limit),
        admitUsers(ctx),
        size,
        args.after,
      );
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
    // anyone | first 1-100 (default 20) | BAD_USER_INPUT (first, malformed cursor). Newest
    // first; posts whose author's content is hidden from the viewer are left out.
    posts: async (
      tag: HashtagView,
      args: { first?: number | null; after?: string | null },
      ctx: RequestContext,
    ) => {
      const size = pageSize(args.first);
      const { backend } = ctx.app;
      return visiblePage(
        (after, limit) => backend.byHashtag(tag.name, after, limit),
        admitPosts(ctx),
        size,
        args.after,
      );
    },
  },
};
