// Meilisearch through its official client, when MEILI_URL is set. Documents carry the
// caption and hashtags (searchable), hashtags and authorId (filterable) and createdAt
// (sortable, epoch ms). Ranking: Meilisearch's relevance rules, then newest first.
// Ids are strings: post ids do not fit the float64 numbers Meilisearch stores.
import { Meilisearch, type Index } from 'meilisearch';
import { encodeCursor, decodeCursor } from '../../../lib/contracts/pagination.js';
import type { SearchBackend, SearchPage } from './backend.js';
import type { IndexedPost } from './index-store.js';
import { offsetCursor } from './query.js';

interface PostDoc {
  id: string;
  authorId: string;
  caption: string;
  hashtags: string[];
  createdAt: number;
}

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
      attributesToRetrieve: ['id'],
      // Every word must match, as with Postgres (the contract tests hold both to it).
      matchingStrategy: 'all',
    });
    const docs = res.hits.slice(0, limit);
    return {
      hits: docs.map((d, i) => ({ id: BigInt(d.id), cursor: encodeCursor([offset + i + 1]) })),
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
    },
    searchText: (words, after, limit) => page(words.join(' '), {}, after, limit),
    byHashtag: (tag, after, limit) =>
      page('', { filter: `hashtags = ${quote(tag)}`, sort: ['createdAt:desc'] }, after, limit),
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
          indexUids: [opts.index],
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
