// Batch-first loading: every User reference in a request (the _entities call from the
// gateway included) is answered by one query. Plain SQL on the pg pool: this runs for
// every author on every feed page, and Prisma's query compiler costs several times the CPU.
import DataLoader from 'dataloader';
import { statement, type Queryable } from '../../../lib/db.js';
import { tryParseId } from '../../../lib/ids.js';
import type { UserRow } from './users.js';

export interface UserLoaders {
  userById: DataLoader<string, UserRow | null>;
}

interface UserSql {
  id: string;
  username: string;
  username_lower: string;
  email: string;
  password_hash: string;
  display_name: string | null;
  bio: string | null;
  created_at: Date;
  updated_at: Date;
}

const toUser = (r: UserSql): UserRow => ({
  id: BigInt(r.id),
  username: r.username,
  usernameLower: r.username_lower,
  email: r.email,
  passwordHash: r.password_hash,
  displayName: r.display_name,
  bio: r.bio,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

// Prepared once per connection; columns spelled out, as a migration may add some.
const usersById = statement(
  'users_by_id',
  `SELECT id, username, username_lower, email, password_hash, display_name, bio,
          created_at, updated_at
   FROM users.users WHERE id = ANY($1::bigint[])`,
);

export async function getUsers(db: Queryable, ids: readonly string[]): Promise<(UserRow | null)[]> {
  const valid = [...new Set(ids.map(tryParseId).filter((id): id is bigint => id !== null))];
  const { rows } = valid.length
    ? await db.query<UserSql>(usersById([valid.map(String)]))
    : { rows: [] as UserSql[] };
  const byId = new Map(rows.map((r) => [r.id, toUser(r)]));
  return ids.map((id) => byId.get(tryParseId(id)?.toString() ?? '') ?? null);
}

export function createLoaders(db: Queryable): UserLoaders {
  return {
    userById: new DataLoader((ids) => getUsers(db, ids), { maxBatchSize: 500 }),
  };
}
