// The notification subgraph's operations.
import { badInput, unauthenticated } from '../../../lib/contracts/errors.js';
import { tryParseId } from '../../../lib/contracts/ids.js';
import {
  continuesEarlierPage,
  decodeCursor,
  encodeCursor,
  pageSize,
} from '../../../lib/contracts/pagination.js';
import { GraphQLScalarType, Kind } from 'graphql';
import { DateTimeScalar } from '../../../lib/contracts/scalars.js';
import type { Resolvers } from '../../../lib/platform/http/subgraph.js';
import type { RequestContext } from './context.js';
import {
  MAX_ACTORS,
  markRead,
  pageRows,
  viewRows,
  type NotificationView,
  type Position,
} from './read.js';
import { unreadCount } from './store.js';

/**
 * DateTime as the other subgraphs serialise it, but an input is checked by the resolver that
 * takes it: a scalar that refuses a variable makes Apollo Server answer HTTP 400, which the
 * gateway can only report as INTERNAL_SERVER_ERROR; the resolver's error is BAD_USER_INPUT
 * with its `field`.
 */
const DateTime = new GraphQLScalarType<unknown, string>({
  name: 'DateTime',
  serialize: DateTimeScalar.serialize.bind(DateTimeScalar),
  parseValue: (value) => value,
  // Anything but a string literal stays a node, which parseUpTo refuses.
  parseLiteral: (ast) => (ast.kind === Kind.STRING ? ast.value : ast),
});

/** upTo as a Date: an ISO-8601 time with a date, a time and a zone. */
function parseUpTo(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  const d = typeof value === 'string' && ISO_TIME.test(value) ? new Date(value) : null;
  if (!d || Number.isNaN(d.getTime())) {
    throw badInput('upTo must be an ISO-8601 time, e.g. 2026-12-02T06:00:00.000Z', 'upTo');
  }
  return d;
}
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/;

/** Rounds of (rows + one visibility call) a page may take to fill up past left-out rows. */
const MAX_ROUNDS = 3;

const position = (raw: unknown[]): Position | null =>
  raw.length === 2 &&
  typeof raw[0] === 'string' &&
  /^[0-9]{1,15}$/.test(raw[0]) &&
  tryParseId(raw[1]) !== null
    ? { atMs: raw[0], id: raw[1] as string }
    : null;

const cursorOf = (p: Position) => encodeCursor([p.atMs, p.id]);

function viewerOf(ctx: RequestContext): string {
  if (!ctx.viewer.userId) throw unauthenticated();
  return ctx.viewer.userId;
}

export const resolvers: Resolvers<RequestContext> = {
  DateTime,
  Query: {
    // signed-in user | UNAUTHENTICATED, BAD_USER_INPUT (first outside 1..100, malformed cursor).
    // Latest activity first, keyed on (latest_activity_at, id): a row only ever moves up (new
    // activity; a withdrawal leaves its time), so paging on never repeats one, and one that
    // moves past the cursor is at the head, where the live hint sends the client to look.
    // One visibility call per round of rows; rows with no actor the viewer may see are left
    // out and the page refilled from further down (at most MAX_ROUNDS rounds).
    notifications: async (_p, args: { first?: number; after?: string }, ctx: RequestContext) => {
      const viewerId = viewerOf(ctx);
      const size = pageSize(args.first);
      let cursor = decodeCursor(args.after, position);
      const page: { view: NotificationView; at: Position }[] = [];
      let exhausted = false;
      for (let round = 0; round < MAX_ROUNDS && page.length <= size && !exhausted; round++) {
        const want = size + 1 - page.length;
        const rows = await pageRows(ctx.app.pool, viewerId, cursor, want);
        exhausted = rows.length < want;
        const views = await viewRows(ctx.app.graph, viewerId, rows);
        rows.forEach((r, i) => {
          const view = views[i];
          if (view) page.push({ view, at: { atMs: r.at_ms, id: r.id } });
        });
        if (rows.length) cursor = { atMs: rows.at(-1)!.at_ms, id: rows.at(-1)!.id };
      }
      const edges = page.slice(0, size).map((p) => ({ cursor: cursorOf(p.at), node: p.view }));
      const more = page.length > size || !exhausted;
      return {
        edges,
        nodes: edges.map((e) => e.node),
        pageInfo: {
          hasNextPage: more,
          hasPreviousPage: continuesEarlierPage(args.after),
          startCursor: edges[0]?.cursor ?? null,
          // Only left-out rows after the last edge: the next page goes on past them.
          endCursor:
            page.length <= size && more && cursor
              ? cursorOf(cursor)
              : (edges.at(-1)?.cursor ?? null),
        },
      };
    },
    // signed-in user | UNAUTHENTICATED. Notifications with an actor left that are not read.
    unreadNotificationCount: (_p, _a, ctx: RequestContext) =>
      unreadCount(ctx.app.pool, viewerOf(ctx)),
  },
  Mutation: {
    // signed-in user | UNAUTHENTICATED, BAD_USER_INPUT `upTo` (not an ISO-8601 time). Idempotent:
    // marks what is unread (all, or with latest activity at or before upTo) and returns up to
    // 100 of those, latest first (one visibility call), with the new unread count.
    markNotificationsRead: async (_p, args: { upTo?: unknown }, ctx: RequestContext) => {
      const viewerId = viewerOf(ctx);
      const rows = await markRead(ctx.app.pool, viewerId, parseUpTo(args.upTo));
      const views = rows.length ? await viewRows(ctx.app.graph, viewerId, rows) : [];
      return {
        notifications: views.filter((v): v is NotificationView => v !== null),
        unreadNotificationCount: await unreadCount(ctx.app.pool, viewerId),
      };
    },
  },
  Notification: {
    // BAD_USER_INPUT (first outside 1..10). The most recent actors the viewer may see.
    actors: (n: NotificationView, args: { first?: number | null }) => {
      const first = args.first ?? 3;
      if (!Number.isInteger(first) || first < 1 || first > MAX_ACTORS) {
        throw badInput(`first must be between 1 and ${MAX_ACTORS}`, 'first');
      }
      return n.actorIds.slice(0, first).map((id) => ({ id }));
    },
    post: (n: NotificationView) => (n.postId ? { id: n.postId } : null),
    comment: (n: NotificationView) => (n.commentId ? { id: n.commentId } : null),
  },
};
