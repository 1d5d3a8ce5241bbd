// The post subgraph's internal, batch-first API for other subgraphs (service token
// required; not part of the public GraphQL API). Client: lib/clients/post-client.ts.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { SERVICE_HEADER, verifyServiceToken } from '../../../lib/auth/service-auth.js';
import { tryParseId } from '../../../lib/contracts/ids.js';
import type { AppContext } from './context.js';

const MAX_BATCH = 5000;

function bad(reply: FastifyReply, error: string) {
  return reply.code(400).send({ error, code: 'BAD_USER_INPUT' });
}

/** Ids per lookup call (a page of posts, or a page of comments on several posts). */
export const MAX_LOOKUP_IDS = 1000;

export function registerInternalRoutes(http: FastifyInstance, app: AppContext): void {
  // POST /internal/v1/posts/lookup { ids: string[] (≤ 1,000) } → { posts: [{ id, authorId }] }
  // The live ones among the ids (deleted and unknown ids are left out), for the engagement
  // subgraph: one call per request tells which posts exist and whose they are.
  http.post<{ Body: { ids?: unknown } }>('/internal/v1/posts/lookup', async (req, reply) => {
    const token = req.headers[SERVICE_HEADER];
    if (
      !verifyServiceToken(
        app.cfg.INTERNAL_SIGNING_SECRET,
        typeof token === 'string' ? token : undefined,
      )
    ) {
      return reply
        .code(401)
        .send({ error: 'internal routes need a service token', code: 'UNAUTHENTICATED' });
    }
    const raw = (req.body as { ids?: unknown } | null)?.ids;
    if (!Array.isArray(raw) || raw.length > MAX_LOOKUP_IDS)
      return bad(reply, `ids must be an array of at most ${MAX_LOOKUP_IDS} ids`);
    const ids = raw.map(tryParseId);
    if (ids.some((id) => id === null)) return bad(reply, 'ids must hold post ids');
    if (ids.length === 0) return { posts: [] };
    const { rows } = await app.pool.query<{ id: string; author_id: string }>(
      `SELECT id::text, author_id::text FROM posts.posts
       WHERE id = ANY($1::bigint[]) AND deleted_at IS NULL`,
      [ids.map(String)],
    );
    return { posts: rows.map((r) => ({ id: r.id, authorId: r.author_id })) };
  });

  // GET /internal/v1/posts?after=<id>&limit=<n> → { posts, next }
  // Live (not deleted) posts in id order, for rebuilding derived indexes (search reindex);
  // the first page adds `estimatedTotal`.
  http.get<{ Querystring: { after?: string; limit?: string } }>(
    '/internal/v1/posts',
    async (req, reply) => {
      // Checked here, not with createHttpServer's internalSecret: the gateway forwards
      // uploads to /internal/v1/media with a viewer context, not a service token.
      const token = req.headers[SERVICE_HEADER];
      if (
        !verifyServiceToken(
          app.cfg.INTERNAL_SIGNING_SECRET,
          typeof token === 'string' ? token : undefined,
        )
      ) {
        return reply
          .code(401)
          .send({ error: 'internal routes need a service token', code: 'UNAUTHENTICATED' });
      }
      const after = req.query.after === undefined ? null : tryParseId(req.query.after);
      const limit = req.query.limit === undefined ? 1000 : Number(req.query.limit);
      if (req.query.after !== undefined && after === null)
        return bad(reply, 'after is not a valid cursor');
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_BATCH) {
        return bad(reply, `limit must be between 1 and ${MAX_BATCH}`);
      }
      const rows = await app.prisma.post.findMany({
        where: { deletedAt: null, ...(after === null ? {} : { id: { gt: after } }) },
        orderBy: { id: 'asc' },
        take: limit,
        select: { id: true, authorId: true, caption: true, hashtags: true, createdAt: true },
      });
      // The first page also carries the planner's row estimate (cheap, unlike count(*)),
      // for progress bars; -1 when the table was never analyzed.
      const estimate =
        after === null
          ? await app.pool.query<{ n: number }>(
              `SELECT reltuples::float8 AS n FROM pg_class WHERE oid = 'posts.posts'::regclass`,
            )
          : null;
      return {
        ...(estimate ? { estimatedTotal: Math.round(estimate.rows[0]?.n ?? -1) } : {}),
        posts: rows.map((p) => ({
          id: p.id.toString(),
          authorId: p.authorId.toString(),
          caption: p.caption ?? '',
          hashtags: p.hashtags,
          createdAt: p.createdAt.toISOString(),
        })),
        next: rows.length === limit ? rows.at(-1)!.id.toString() : null,
      };
    },
  );
}
