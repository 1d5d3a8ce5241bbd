// The user subgraph's internal API, for other subgraphs: batch-first.
import { callInternal, type InternalClientOptions } from './internal-http.js';

/** An account's searchable profile (the reindex of people search). */
export interface UserSummary {
  id: string;
  username: string;
  displayName: string | null;
  createdAt: string;
  /** The profile's version: user.updated events carry the same time. */
  updatedAt: string;
}

export interface UserBatch {
  users: UserSummary[];
  /** Cursor of the next batch, null after the last one. */
  next: string | null;
}

/** An account found by its username (mentions). */
export interface UserRef {
  id: string;
  username: string;
}

export interface UserClient {
  /** Which of these user ids exist (order kept, duplicates dropped). */
  existing(ids: readonly string[]): Promise<string[]>;
  /** Every account in id order, `limit` (≤ 5,000) at a time from a cursor. */
  listUsers(opts?: { after?: string | null; limit?: number }): Promise<UserBatch>;
  /** The accounts among these usernames (≤ 100, case-insensitive); unknown names are left out. */
  byUsernames(usernames: readonly string[]): Promise<UserRef[]>;
}

export function createUserClient(opts: InternalClientOptions): UserClient {
  return {
    async existing(ids) {
      if (ids.length === 0) return [];
      const r = await callInternal<{ existing: string[] }>(opts, '/internal/v1/users/existing', {
        body: { ids: [...new Set(ids)] },
      });
      return r.existing;
    },
    listUsers: (o = {}) =>
      callInternal<UserBatch>(opts, '/internal/v1/users', {
        query: { after: o.after ?? undefined, limit: o.limit },
      }),
    async byUsernames(usernames) {
      if (usernames.length === 0) return [];
      const r = await callInternal<{ users: UserRef[] }>(opts, '/internal/v1/users/by-username', {
        body: { usernames: [...new Set(usernames)] },
      });
      return r.users;
    },
  };
}
