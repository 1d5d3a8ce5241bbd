// Meilisearch through its official client, when MEILI_URL is set. Post documents carry the
// caption and hashtags (searchable), hashtags and authorId (filterable) and createdAt
// (sortable, epoch ms). Ranking: Meilisearch's relevance rules, then newest first.
// People go to an index of their own: folded username and display name (searchable, folded
// as in Postgres), follower count (ranking). Ids are strings: ids do not fit the float64
// numbers Meilisearch stores.
import { Meilisearch, type Index } from 'meilisearch';
import { encodeCursor, decodeCursor } from '../../../lib/contracts/pagination.js';
import type { SearchBackend, SearchPage } from './backend.js';
import type { IndexedPost } from './index-store.js';
import { offsetCursor } from './query.js';
import { foldName } from './user-query.js';
import type { IndexedUser } from './user-store.js';

interface PostDoc {
  id: string;
  authorId: string;
  caption: string;
  hashtags: string[];
  createdAt: number;
}

interface UserDoc {
  id: string;
  username: string;
  usernameKey: string;
  nameKey: string;
  followerCount: number;
}

const toUserDoc = (u: IndexedUser): UserDoc => ({
  id: u.id,
  username: u.username,
  usernameKey: foldName(u.username),
  nameKey: foldName(u.displayName ?? ''),
  followerCount: u.followerCount,
});

/** Offsets beyond this are not served (Meilisearch's maxTotalHits, raised from 1,000). */
const MAX_TOTAL_HITS = 10_000;

const toDoc = (p: IndexedPost): PostDoc => ({
  id: p.id,
  authorId: p.authorId,
  caption: p.caption,
  hashtags: p.hashtags,
  createdAt: new Date(p.createdAt).getTime(),
});

/** A filter value in double quotes: the tag is letters and digits only, but escape anyway. */
const quote = (s: string) => `"${s.replace(/["\\]/g, (ch) => `\\${ch}`)}"`;

export function createMeiliBackend(opts: {
  url: string;
  apiKey?: string;
  index: string;
  /** The people index. */
  usersIndex: string;
  /** Per HTTP request; writes only enqueue tasks, so every call should be quick. */
  timeoutMs?: number;
}): SearchBackend {
  // Without a timeout a hung Meilisearch would hold search requests and indexer events forever.
  const client = new Meilisearch({
    host: opts.url,
    apiKey: opts.apiKey,
    timeout: opts.timeoutMs ?? 5000,
  });
  const index: Index<PostDoc> = client.index<PostDoc>(opts.index);
  const users: Index<UserDoc> = client.index<UserDoc>(opts.usersIndex);

  async function page(
    q: string,
    params: { filter?: string; sort?: string[] },
    after: string | null,
    limit: number,
  ): Promise<SearchPage> {
    const offset = decodeCursor(after, offsetCursor(MAX_TOTAL_HITS)) ?? 0;
    if (offset >= MAX_TOTAL_HITS) return { hits: [], hasNextPage: false };
    const res = await index.search(q, {
      ...params,
      offset,
      limit: limit + 1,
      attributesToRetrieve: ['id', 'authorId'],
      // Every word must match, as with Postgres (the contract tests hold both to it).
      matchingStrategy: 'all',
    });
    const docs = res.hits.slice(0, limit);
    return {
      hits: docs.map((d, i) => ({
        id: BigInt(d.id),
        ownerId: d.authorId,
        cursor: encodeCursor([offset + i + 1]),
      })),
      hasNextPage: res.hits.length > limit,
    };
  }

  return {
    name: 'meilisearch',
    async prepare() {
      await client.createIndex(opts.index, { primaryKey: 'id' }).waitTask();
      await index
        .updateSettings({
          searchableAttributes: ['caption', 'hashtags'],
          filterableAttributes: ['hashtags', 'authorId'],
          sortableAttributes: ['createdAt'],
          rankingRules: [
            'words',
            'typo',
            'proximity',
            'attribute',
            'sort',
            'exactness',
            'createdAt:desc',
          ],
          pagination: { maxTotalHits: MAX_TOTAL_HITS },
        })
        .waitTask();
      await client.createIndex(opts.usersIndex, { primaryKey: 'id' }).waitTask();
      await users
        .updateSettings({
          searchableAttributes: ['usernameKey', 'nameKey'],
          // An exact word (the whole username) before a prefix, typos after both, then the
          // most followed: the Postgres tiers, as close as Meilisearch's rules come.
          rankingRules: ['words', 'typo', 'exactness', 'followerCount:desc', 'attribute'],
          pagination: { maxTotalHits: MAX_TOTAL_HITS },
        })
        .waitTask();
    },
    searchText: (words, after, limit) => page(words.join(' '), {}, after, limit),
    byHashtag: (tag, after, limit) =>
      page('', { filter: `hashtags = ${quote(tag)}`, sort: ['createdAt:desc'] }, after, limit),
    async searchUsers(key, after, limit) {
      const offset = decodeCursor(after, offsetCursor(MAX_TOTAL_HITS)) ?? 0;
      if (offset >= MAX_TOTAL_HITS) return { hits: [], hasNextPage: false };
      const res = await users.search(key, {
        offset,
        limit: limit + 1,
        attributesToRetrieve: ['id'],
        matchingStrategy: 'all',
      });
      return {
        hits: res.hits.slice(0, limit).map((d, i) => ({
          id: BigInt(d.id),
          ownerId: d.id,
          cursor: encodeCursor([offset + i + 1]),
        })),
        hasNextPage: res.hits.length > limit,
      };
    },
    async upsertUsers(list) {
      if (list.length === 0) return;
      await users.addDocuments(list.map(toUserDoc));
    },
    async upsert(posts) {
      if (posts.length === 0) return;
      await index.addDocuments(posts.map(toDoc));
    },
    async remove(ids) {
      if (ids.length === 0) return;
      await index.deleteDocuments(ids);
    },
    async flush() {
      // Every write to this index by any process, not only this one's.
      for (let i = 0; i < 600; i++) {
        const pending = await client.tasks.getTasks({
          indexUids: [opts.index, opts.usersIndex],
          statuses: ['enqueued', 'processing'],
          limit: 1,
        });
        if (pending.results.length === 0) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {},
  };
}
