// Batch-first loading: every User reference in a request (the _entities call from the
// gateway included) is answered by one query. Plain SQL on the pg pool: this runs for
// every author on every feed page, and Prisma's query compiler costs several times the CPU.
import DataLoader from 'dataloader';
import { statement, type Queryable } from '../../../lib/platform/db.js';
import { tryParseId } from '../../../lib/contracts/ids.js';
import type { UserRow } from './users.js';

/**
 * What the User type shows: a profile. References (every author on every feed page) never
 * read email addresses or password hashes; sign-in and sign-up read the full row.
 */
export type UserProfile = Pick<UserRow, keyof typeof PROFILE_SELECT>;

/** The profile columns as a Prisma `select`, for the paths that read users through Prisma. */
export const PROFILE_SELECT = {
  id: true,
  username: true,
  displayName: true,
  bio: true,
  createdAt: true,
} as const;

export interface UserLoaders {
  userById: DataLoader<string, UserProfile | null>;
}

interface ProfileSql {
  id: string;
  username: string;
  display_name: string | null;
  bio: string | null;
  created_at: Date;
}

// Prepared once per connection; columns spelled out, as a migration may add some.
const profilesById = statement(
  'user_profiles_by_id',
  'SELECT id, username, display_name, bio, created_at FROM users.users WHERE id = ANY($1::bigint[])',
);

export async function getUsers(
  db: Queryable,
  ids: readonly string[],
): Promise<(UserProfile | null)[]> {
  const valid = [...new Set(ids.filter((id) => tryParseId(id) !== null))];
  const { rows } = valid.length
    ? await db.query<ProfileSql>(profilesById([valid]))
    : { rows: [] as ProfileSql[] };
  const byId = new Map<string, UserProfile>();
  for (const r of rows) {
    byId.set(r.id, {
      id: BigInt(r.id),
      username: r.username,
      displayName: r.display_name,
      bio: r.bio,
      createdAt: r.created_at,
    });
  }
  // A valid id is canonical decimal (no sign, no leading zeros), as Postgres prints it.
  return ids.map((id) => byId.get(id) ?? null);
}

export function createLoaders(db: Queryable): UserLoaders {
  return {
    userById: new DataLoader((ids) => getUsers(db, ids), { maxBatchSize: 500 }),
  };
}
