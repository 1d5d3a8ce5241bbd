// The user subgraph's internal API, for other subgraphs: batch-first.
import { callInternal, type InternalClientOptions } from './internal-http.js';

export interface UserClient {
  /** Which of these user ids exist (order kept, duplicates dropped). */
  existing(ids: readonly string[]): Promise<string[]>;
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
  };
}
