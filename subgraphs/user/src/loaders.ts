// Batch-first loading: every User reference in a request (the _entities call from the
// gateway included) is answered by one query.
import DataLoader from 'dataloader';
import type { PrismaClient } from '../../../lib/db.js';
import { tryParseId } from '../../../lib/ids.js';
import type { UserRow } from './users.js';

export interface UserLoaders {
  userById: DataLoader<string, UserRow | null>;
}

export async function getUsers(
  prisma: PrismaClient,
  ids: readonly string[],
): Promise<(UserRow | null)[]> {
  const valid = [...new Set(ids.map(tryParseId).filter((id): id is bigint => id !== null))];
  const rows = valid.length ? await prisma.user.findMany({ where: { id: { in: valid } } }) : [];
  const byId = new Map(rows.map((r) => [r.id.toString(), r]));
  return ids.map((id) => byId.get(id) ?? null);
}

export function createLoaders(prisma: PrismaClient): UserLoaders {
  return {
    userById: new DataLoader((ids) => getUsers(prisma, ids), { maxBatchSize: 500 }),
  };
}
