// The user subgraph's internal API (service token required, see lib/auth/service-auth.ts).
import type { FastifyInstance } from 'fastify';
import { tryParseId } from '../../../lib/contracts/ids.js';
import type { AppContext } from './context.js';

const MAX_IDS = 1000;

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
}
