// Shared by the search tests: a user + post + graph + search stack (Postgres backend, or
// Meilisearch with its own indexes when `meiliUrl` is given), accounts, posts made with the
// real createPost, people search, and waits for the indexer.
import { randomBytes } from 'node:crypto';
import { createPostClient } from '../../../lib/clients/post-client.js';
import { createUserClient } from '../../../lib/clients/user-client.js';
import { baseOf } from '../../../lib/clients/internal-http.js';
import { createLogger } from '../../../lib/platform/logger.js';
import { eventually } from '../../../test/support/events.js';
import type { Account } from '../../../test/support/content.js';
import { startStack, type Stack } from '../../../test/support/stack.js';
import { createSearchApp } from '../src/service.js';
import { reindex } from '../src/reindex.js';

export interface SearchStack extends Stack {
  signUp(name: string): Promise<{ id: string; token: string }>;
  /** An account with exactly this username (and display name). */
  account(username: string, displayName?: string): Promise<Account>;
  /** A post by `token`'s user with this caption (one READY image), once it is searchable. */
  post(user: { id: string; token: string }, caption: string): Promise<string>;
  deletePost(user: { token: string }, id: string): Promise<void>;
  /** Ids of a searchPosts page. */
  search(query: string, first?: number, after?: string): Promise<SearchResult>;
  /** Waits until the indexer has applied every change to these posts (and the engine has them). */
  settle(): Promise<void>;
  /** Runs the reindex command's logic against this stack. */
  reindex(): Promise<{ posts: number; removed: number; users: number }>;
  /** A searchUsers page (ids), as `token`'s user when given. */
  searchUsers(
    query: string,
    opts?: { first?: number; after?: string; token?: string },
  ): Promise<SearchResult>;
  /** Waits until the engine has applied every write so far (Meilisearch indexes later). */
  flush(): Promise<void>;
}

export interface SearchResult {
  status: number;
  ids: string[];
  hasNextPage: boolean;
  endCursor: string | null;
  code?: string;
}

const SEARCH_USERS = `query($q: String!, $first: Int, $after: String) {
  searchUsers(query: $q, first: $first, after: $after) {
    edges { cursor node { id username } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const SEARCH = `query($q: String!, $first: Int, $after: String) {
  searchPosts(query: $q, first: $first, after: $after) {
    edges { cursor node { id caption } }
    pageInfo { hasNextPage endCursor }
  }
}`;

export async function startSearchStack(opts: { meiliUrl?: string } = {}): Promise<SearchStack> {
  const env: Record<string, string> = {
    OUTBOX_POLL_MS: '100',
    MEDIA_JANITOR_INTERVAL_SECONDS: '0',
    RATE_LIMIT_AUTH_PER_MINUTE: '0',
  };
  if (opts.meiliUrl) {
    env.MEILI_URL = opts.meiliUrl;
    const uid = `test_${randomBytes(4).toString('hex')}`;
    env.MEILI_INDEX = uid;
    env.MEILI_USERS_INDEX = `${uid}_users`;
    if (process.env.MEILI_MASTER_KEY) env.MEILI_MASTER_KEY = process.env.MEILI_MASTER_KEY;
  }
  const stack = await startStack({ subgraphs: ['user', 'post', 'graph', 'search'], env });
  const app = await createSearchApp(stack.cfg, createLogger('search-test', stack.cfg));
  let n = 0;
  /** Changes made through the API whose indexing we have not yet waited for. */
  const pending = new Map<string, 'live' | 'deleted'>();

  const s: SearchStack = {
    ...stack,
    async signUp(name) {
      const username = `${name}_${stack.iso.id.slice(-6)}_${n++}`;
      const r = await stack.gql<{ signUp: { accessToken: string; user: { id: string } } }>(
        `mutation($input: SignUpInput!) { signUp(input: $input) { accessToken user { id } } }`,
        { input: { username, email: `${username}@example.com`, password: 'long enough pw' } },
      );
      if (!r.data) throw new Error(JSON.stringify(r.errors));
      return { id: r.data.signUp.user.id, token: r.data.signUp.accessToken };
    },
    async account(username, displayName) {
      const r = await stack.gql<{ signUp: { accessToken: string; user: { id: string } } }>(
        `mutation($input: SignUpInput!) { signUp(input: $input) { accessToken user { id } } }`,
        {
          input: {
            username,
            email: `${username}@example.com`,
            password: 'long enough pw',
            displayName,
          },
        },
      );
      if (!r.data) throw new Error(JSON.stringify(r.errors));
      return { id: r.data.signUp.user.id, username, token: r.data.signUp.accessToken };
    },
    async post(user, caption) {
      const [media] = await stack.iso.query<{ id: string }>(
        `INSERT INTO posts.media (owner_id, type, status, mime_type, bytes, width, height,
           storage_key, variants, object_keys)
         VALUES ($1, 'IMAGE', 'READY', 'image/jpeg', 1000, 640, 480, 'm/x/1080.jpg', '[]', '{}')
         RETURNING id::text`,
        [user.id],
      );
      const r = await stack.gql<{ createPost: { id: string } }>(
        `mutation($input: CreatePostInput!) { createPost(input: $input) { id } }`,
        { input: { caption, mediaIds: [media!.id] } },
        { token: user.token },
      );
      if (!r.data) throw new Error(JSON.stringify(r.errors));
      pending.set(r.data.createPost.id, 'live');
      return r.data.createPost.id;
    },
    async deletePost(user, id) {
      const r = await stack.gql(
        `mutation($id: ID!) { deletePost(id: $id) { deletedPostId } }`,
        { id },
        user,
      );
      if (!r.data) throw new Error(JSON.stringify(r.errors));
      pending.set(id, 'deleted');
    },
    async search(query, first = 20, after) {
      const r = await stack.gql<{
        searchPosts: {
          edges: { node: { id: string } }[];
          pageInfo: { hasNextPage: boolean; endCursor: string | null };
        };
      }>(SEARCH, { q: query, first, after });
      return {
        status: r.status,
        ids: r.data?.searchPosts.edges.map((e) => e.node.id) ?? [],
        hasNextPage: r.data?.searchPosts.pageInfo.hasNextPage ?? false,
        endCursor: r.data?.searchPosts.pageInfo.endCursor ?? null,
        code: r.errors?.[0]?.extensions?.code,
      };
    },
    async settle() {
      const ids = [...pending.keys()];
      const wantLive = ids.filter((id) => pending.get(id) === 'live');
      const done = await eventually(
        () =>
          stack.iso.query<{ live: string; gone: string }>(
            `SELECT count(*) FILTER (WHERE deleted_at IS NULL AND version_at > '-infinity') AS live,
                    count(*) FILTER (WHERE deleted_at IS NOT NULL) AS gone
             FROM search.posts WHERE post_id = ANY($1::bigint[])`,
            [ids],
          ),
        (rows) =>
          Number(rows[0]!.live) === wantLive.length &&
          Number(rows[0]!.gone) === ids.length - wantLive.length,
        15_000,
      );
      if (Number(done[0]!.live) !== wantLive.length) throw new Error('indexer did not catch up');
      pending.clear();
      // The engine is written just after the table and indexes asynchronously (Meilisearch).
      if (app.backend.name !== 'postgres') await new Promise((r) => setTimeout(r, 200));
      await app.backend.flush();
    },
    reindex: () =>
      reindex(
        app,
        {
          posts: createPostClient({
            baseUrl: baseOf(stack.subgraphUrls.post!),
            caller: 'search',
            secret: stack.cfg.INTERNAL_SIGNING_SECRET,
          }),
          users: createUserClient({
            baseUrl: baseOf(stack.subgraphUrls.user!),
            caller: 'search',
            secret: stack.cfg.INTERNAL_SIGNING_SECRET,
          }),
        },
        { batchSize: 7 },
      ),
    async searchUsers(query, o = {}) {
      const r = await stack.gql<{
        searchUsers: {
          edges: { node: { id: string } }[];
          pageInfo: { hasNextPage: boolean; endCursor: string | null };
        };
      }>(SEARCH_USERS, { q: query, first: o.first, after: o.after }, { token: o.token });
      return {
        status: r.status,
        ids: r.data?.searchUsers.edges.map((e) => e.node.id) ?? [],
        hasNextPage: r.data?.searchUsers.pageInfo.hasNextPage ?? false,
        endCursor: r.data?.searchUsers.pageInfo.endCursor ?? null,
        code: r.errors?.[0]?.extensions?.code,
      };
    },
    flush: () => app.backend.flush(),
    async close() {
      await app.backend.close();
      await app.pool.end();
      await stack.close();
    },
  };
  return s;
}
