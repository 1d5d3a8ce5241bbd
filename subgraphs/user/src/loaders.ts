// Batch-first loading: every User reference in a request (the _entities call from the
// gateway included) is answered by one query. Plain SQL on the pg pool: this runs for
// every author on every feed page, and Prisma's query compiler costs several times the CPU.
import DataLoader from 'dataloader';
import { MAX_VISIBILITY_IDS, type GraphClient } from '../../../lib/clients/graph-client.js';
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
  website: true,
  createdAt: true,
} as const;

export interface UserLoaders {
  userById: DataLoader<string, UserProfile | null>;
  /** By lower-cased username (user(username:)), so aliased lookups share one query. */
  userByUsername: DataLoader<string, UserProfile | null>;
  /**
   * Whether a user has blocked the viewer (graph.visibility's profileHidden): every user()
   * and userById() of a request in one call; never kept beyond the request.
   */
  profileHidden: DataLoader<string, boolean>;
}

interface ProfileSql {
  id: string;
  username: string;
  display_name: string | null;
  bio: string | null;
  website: string | null;
  created_at: Date;
}

// Prepared once per connection; columns spelled out, as a migration may add some.
const profilesById = statement(
  'user_profiles_by_id_v2',
  'SELECT id, username, display_name, bio, website, created_at FROM users.users WHERE id = ANY($1::bigint[])',
);
const profilesByUsername = statement(
  'user_profiles_by_username',
  `SELECT id, username, display_name, bio, website, created_at FROM users.users
   WHERE username_lower = ANY($1::text[])`,
);

const toProfile = (r: ProfileSql): UserProfile => ({
  id: BigInt(r.id),
  username: r.username,
  displayName: r.display_name,
  bio: r.bio,
  website: r.website,
  createdAt: r.created_at,
});

export async function getUsers(
  db: Queryable,
  ids: readonly string[],
): Promise<(UserProfile | null)[]> {
  const valid = [...new Set(ids.filter((id) => tryParseId(id) !== null))];
  const { rows } = valid.length
    ? await db.query<ProfileSql>(profilesById([valid]))
    : { rows: [] as ProfileSql[] };
  const byId = new Map(rows.map((r) => [r.id, toProfile(r)]));
  // A valid id is canonical decimal (no sign, no leading zeros), as Postgres prints it.
  return ids.map((id) => byId.get(id) ?? null);
}

/** Profiles by lower-cased username (callers check the username's shape first). */
async function getUsersByUsername(
  db: Queryable,
  names: readonly string[],
): Promise<(UserProfile | null)[]> {
  const { rows } = await db.query<ProfileSql>(profilesByUsername([[...new Set(names)]]));
  const byName = new Map(rows.map((r) => [r.username.toLowerCase(), toProfile(r)]));
  return names.map((n) => byName.get(n) ?? null);
}

export function createLoaders(
  db: Queryable,
  graph: Pick<GraphClient, 'visibility'>,
  viewerId: string | null,
): UserLoaders {
  return {
    userById: new DataLoader((ids) => getUsers(db, ids), { maxBatchSize: 500 }),
    userByUsername: new DataLoader((names) => getUsersByUsername(db, names), {
      maxBatchSize: 500,
    }),
    // Only a block hides a profile, so a signed-out viewer (or one asking about themselves)
    // needs no call.
    profileHidden: new DataLoader(
      async (ids) => {
        const others = ids.filter((id) => id !== viewerId);
        if (viewerId === null || others.length === 0) return ids.map(() => false);
        const hidden = new Set((await graph.visibility(viewerId, others)).profileHidden);
        return ids.map((id) => hidden.has(id));
      },
      { maxBatchSize: MAX_VISIBILITY_IDS },
    ),
  };
}
