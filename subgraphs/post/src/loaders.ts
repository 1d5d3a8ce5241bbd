// Batch-first loading: each kind of lookup in a request (the gateway's _entities calls
// included) is one query, however many posts, authors or carousels it covers.
import DataLoader from 'dataloader';
import type { Post as PostRow } from '../../../lib/generated/prisma/client.js';
import type { PrismaClient } from '../../../lib/db.js';
import { tryParseId } from '../../../lib/ids.js';
import type { MediaRow } from './media-records.js';

export type { PostRow };

/** One page of an author's posts: `limit` rows (callers ask for one extra) below `beforeId`. */
export interface AuthorPageKey {
  authorId: bigint;
  beforeId: bigint | null;
  limit: number;
}

export interface PostLoaders {
  /** Visible (not deleted) posts by id; null for unknown, malformed or deleted ids. */
  postById: DataLoader<string, PostRow | null>;
  /** Each post's media in carousel order. */
  mediaByPostId: DataLoader<bigint, MediaRow[], string>;
  /** Exact number of visible posts per author. */
  postCountByAuthor: DataLoader<bigint, number, string>;
  /** A page of an author's posts, newest first. */
  authorPage: DataLoader<AuthorPageKey, PostRow[], string>;
}

export async function getPosts(
  prisma: PrismaClient,
  ids: readonly string[],
): Promise<(PostRow | null)[]> {
  const valid = [...new Set(ids.map(tryParseId).filter((id): id is bigint => id !== null))];
  const rows = valid.length
    ? await prisma.post.findMany({ where: { id: { in: valid }, deletedAt: null } })
    : [];
  const byId = new Map(rows.map((r) => [r.id.toString(), r]));
  return ids.map((id) => byId.get(id) ?? null);
}

export async function getMediaByPost(
  prisma: PrismaClient,
  postIds: readonly bigint[],
): Promise<MediaRow[][]> {
  const links = await prisma.postMedia.findMany({
    where: { postId: { in: [...new Set(postIds)] } },
    include: { media: true },
    orderBy: [{ postId: 'asc' }, { position: 'asc' }],
  });
  const byPost = new Map<bigint, MediaRow[]>();
  for (const l of links) {
    const list = byPost.get(l.postId) ?? [];
    list.push(l.media);
    byPost.set(l.postId, list);
  }
  return postIds.map((id) => byPost.get(id) ?? []);
}

async function getPostCounts(prisma: PrismaClient, authorIds: readonly bigint[]) {
  const rows = await prisma.authorStats.findMany({
    where: { authorId: { in: [...new Set(authorIds)] } },
  });
  const byId = new Map(rows.map((r) => [r.authorId, r.postCount]));
  return authorIds.map((id) => byId.get(id) ?? 0);
}

// One statement for every page in the batch: a LATERAL index scan per author over
// (author_id, id DESC) WHERE deleted_at IS NULL.
async function getAuthorPages(
  prisma: PrismaClient,
  keys: readonly AuthorPageKey[],
): Promise<PostRow[][]> {
  const rows = await prisma.$queryRaw<
    {
      k: number;
      id: bigint;
      author_id: bigint;
      caption: string | null;
      hashtags: string[];
      created_at: Date;
    }[]
  >`
    SELECT a.k::int AS k, p.id, p.author_id, p.caption, p.hashtags, p.created_at
    FROM unnest(${keys.map((k) => k.authorId)}::bigint[],
                ${keys.map((k) => k.beforeId)}::bigint[],
                ${keys.map((k) => k.limit)}::int[]) WITH ORDINALITY AS a(author_id, before_id, lim, k)
    CROSS JOIN LATERAL (
      SELECT p.* FROM posts.posts p
      WHERE p.author_id = a.author_id AND p.deleted_at IS NULL
        AND (a.before_id IS NULL OR p.id < a.before_id)
      ORDER BY p.id DESC
      LIMIT a.lim
    ) p
    ORDER BY a.k, p.id DESC`;
  const pages: PostRow[][] = keys.map(() => []);
  for (const r of rows) {
    pages[r.k - 1]!.push({
      id: r.id,
      authorId: r.author_id,
      caption: r.caption,
      hashtags: r.hashtags,
      createdAt: r.created_at,
      deletedAt: null,
      purgedAt: null,
    });
  }
  return pages;
}

export function createLoaders(prisma: PrismaClient): PostLoaders {
  const postById = new DataLoader<string, PostRow | null>((ids) => getPosts(prisma, ids), {
    maxBatchSize: 500,
  });
  return {
    postById,
    mediaByPostId: new DataLoader((ids) => getMediaByPost(prisma, ids), {
      maxBatchSize: 500,
      cacheKeyFn: (id) => id.toString(),
    }),
    postCountByAuthor: new DataLoader((ids) => getPostCounts(prisma, ids), {
      maxBatchSize: 500,
      cacheKeyFn: (id) => id.toString(),
    }),
    authorPage: new DataLoader(
      async (keys) => {
        const pages = await getAuthorPages(prisma, keys);
        for (const page of pages) for (const p of page) postById.prime(p.id.toString(), p);
        return pages;
      },
      {
        maxBatchSize: 100,
        cacheKeyFn: (k) => `${k.authorId}:${k.beforeId ?? ''}:${k.limit}`,
      },
    ),
  };
}
