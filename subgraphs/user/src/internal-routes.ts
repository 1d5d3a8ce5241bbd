// The user subgraph's internal API (service token required, see lib/auth/service-auth.ts).
import type { FastifyInstance } from 'fastify';
import { tryParseId } from '../../../lib/contracts/ids.js';
import type { AppContext } from './context.js';

const MAX_IDS = 1000;
/** Usernames per by-username call (a text mentions at most MAX_MENTIONS, lib/contracts/mentions.ts). */
const MAX_USERNAMES = 100;
const MAX_BATCH = 5000;

export function registerInternalRoutes(http: FastifyInstance, app: AppContext): void {
  // Which of these ids are accounts: for subgraphs that must not reference unknown users.
  http.post<{ Body: { ids?: unknown } }>('/internal/v1/users/existing', async (req, reply) => {
    const raw = req.body?.ids;
    if (!Array.isArray(raw) || raw.length > MAX_IDS) {
      return reply
        .code(400)
        .send({ error: `ids must be an array of at most ${MAX_IDS} ids`, code: 'BAD_USER_INPUT' });
    }
    const ids = [...new Set(raw.map(tryParseId).filter((id): id is bigint => id !== null))];
    const rows = ids.length
      ? await app.prisma.user.findMany({ where: { id: { in: ids } }, select: { id: true } })
      : [];
    const found = new Set(rows.map((r) => r.id.toString()));
    return { existing: ids.map(String).filter((id) => found.has(id)) };
  });

  // Accounts by username (case-insensitive), for resolving @mentions: { users: [{ id, username }] }
  // for the names that are accounts, in no particular order; unknown names are left out.
  http.post<{ Body: { usernames?: unknown } }>(
    '/internal/v1/users/by-username',
    async (req, reply) => {
      const raw = req.body?.usernames;
      if (
        !Array.isArray(raw) ||
        raw.length > MAX_USERNAMES ||
        raw.some((u) => typeof u !== 'string' || u.length > 100)
      ) {
        return reply.code(400).send({
          error: `usernames must be an array of at most ${MAX_USERNAMES} names`,
          code: 'BAD_USER_INPUT',
        });
      }
      const names = [...new Set((raw as string[]).map((u) => u.toLowerCase()))];
      const rows = names.length
        ? await app.prisma.user.findMany({
            where: { usernameLower: { in: names } },
            select: { id: true, username: true },
          })
        : [];
      return { users: rows.map((u) => ({ id: u.id.toString(), username: u.username })) };
    },
  );

  // GET /internal/v1/users?after=<id>&limit=<n> (≤ 5,000): every account's searchable profile
  // in id order, for rebuilding the search index. `next` is the cursor of the next batch
  // (null after the last one); `updatedAt` is the version user.updated events carry.
  http.get<{ Querystring: { after?: string; limit?: string } }>(
    '/internal/v1/users',
    async (req, reply) => {
      const after = req.query.after === undefined ? null : tryParseId(req.query.after);
      const limit = req.query.limit === undefined ? 1000 : Number(req.query.limit);
      if (req.query.after !== undefined && after === null) {
        return reply
          .code(400)
          .send({ error: 'after is not a valid cursor', code: 'BAD_USER_INPUT' });
      }
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_BATCH) {
        return reply
          .code(400)
          .send({ error: `limit must be between 1 and ${MAX_BATCH}`, code: 'BAD_USER_INPUT' });
      }
      const rows = await app.prisma.user.findMany({
        where: after === null ? {} : { id: { gt: after } },
        orderBy: { id: 'asc' },
        take: limit,
        select: { id: true, username: true, displayName: true, createdAt: true, updatedAt: true },
      });
      return {
        users: rows.map((u) => ({
          id: u.id.toString(),
          username: u.username,
          displayName: u.displayName,
          createdAt: u.createdAt.toISOString(),
          updatedAt: u.updatedAt.toISOString(),
        })),
        next: rows.length === limit ? rows.at(-1)!.id.toString() : null,
      };
    },
  );
}
