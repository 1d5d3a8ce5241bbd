// The graph's internal, batch-first API for the feed and for every subgraph that applies the
// visibility rule (service token required; not part of the public GraphQL API). Client:
// lib/clients/graph-client.ts.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { tryParseId } from '../../../lib/contracts/ids.js';
import type { AppContext } from './context.js';
import { MAX_VISIBILITY_IDS } from '../../../lib/clients/graph-client.js';
import { celebritiesAmong, celebritiesFollowedBy, edgePage, visibility } from './follows.js';

const MAX_BATCH = 10_000;
const MAX_IDS = 10_000;

function bad(reply: FastifyReply, error: string) {
  return reply.code(400).send({ error, code: 'BAD_USER_INPUT' });
}

export function registerInternalRoutes(http: FastifyInstance, app: AppContext): void {
  // GET /internal/v1/users/:id/followers?after=<cursor>&limit=<n>
  // GET /internal/v1/users/:id/following?after=<cursor>&limit=<n>
  // Edges newest first in batches; `next` is the cursor of the next batch (null at the end).
  for (const direction of ['followers', 'following'] as const) {
    http.get<{ Params: { id: string }; Querystring: { after?: string; limit?: string } }>(
      `/internal/v1/users/:id/${direction}`,
      async (req, reply) => {
        const userId = tryParseId(req.params.id);
        const after = req.query.after === undefined ? null : tryParseId(req.query.after);
        const limit = req.query.limit === undefined ? 1000 : Number(req.query.limit);
        if (userId === null) return bad(reply, 'id is not a valid id');
        if (req.query.after !== undefined && after === null)
          return bad(reply, 'after is not a valid cursor');
        if (!Number.isInteger(limit) || limit < 1 || limit > MAX_BATCH) {
          return bad(reply, `limit must be between 1 and ${MAX_BATCH}`);
        }
        const page = await edgePage(app, userId, direction, after, limit);
        return {
          ids: page.ids.map(String),
          next: page.ids.length === limit ? page.seqs.at(-1)!.toString() : null,
        };
      },
    );
  }

  // POST /internal/v1/celebrities/among { ids } → { ids }: which of these are celebrities now.
  http.post<{ Body: { ids?: unknown } }>('/internal/v1/celebrities/among', async (req, reply) => {
    const raw = req.body?.ids;
    if (!Array.isArray(raw) || raw.length > MAX_IDS)
      return bad(reply, `ids must be an array of at most ${MAX_IDS}`);
    const ids = raw.map(tryParseId).filter((id): id is bigint => id !== null);
    return {
      ids: (await celebritiesAmong(app, ids)).map(String),
      threshold: app.cfg.CELEBRITY_FOLLOWER_THRESHOLD,
    };
  });

  // GET /internal/v1/users/:id/celebrity-followees → { ids }: the celebrities this user follows.
  http.get<{ Params: { id: string } }>(
    '/internal/v1/users/:id/celebrity-followees',
    async (req, reply) => {
      const userId = tryParseId(req.params.id);
      if (userId === null) return bad(reply, 'id is not a valid id');
      return {
        ids: (await celebritiesFollowedBy(app, userId)).map(String),
        threshold: app.cfg.CELEBRITY_FOLLOWER_THRESHOLD,
      };
    },
  );

  // POST /internal/v1/visibility { viewerId: string | null, userIds: string[] (≤ 1,000) }
  // → { contentHidden, profileHidden, private }: the visibility rule in one query. Each list
  // names only the exceptions; never cached (a block or privacy change holds on the next read).
  http.post<{ Body: { viewerId?: unknown; userIds?: unknown } }>(
    '/internal/v1/visibility',
    async (req, reply) => {
      const body = req.body;
      if (typeof body !== 'object' || body === null) return bad(reply, 'body must be an object');
      const viewerId = body.viewerId === null ? null : tryParseId(body.viewerId);
      if (body.viewerId !== null && viewerId === null)
        return bad(reply, 'viewerId must be a user id or null');
      const raw = body.userIds;
      if (!Array.isArray(raw) || raw.length > MAX_VISIBILITY_IDS)
        return bad(reply, `userIds must be an array of at most ${MAX_VISIBILITY_IDS} ids`);
      const userIds = raw.map(tryParseId);
      if (userIds.some((id) => id === null)) return bad(reply, 'userIds must hold user ids');
      return visibility(app, viewerId, userIds as bigint[]);
    },
  );
}
