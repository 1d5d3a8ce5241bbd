// Batch-first loading: each kind of lookup in a request (the gateway's _entities calls
// included) is one query, however many posts, authors or carousels it covers.
import DataLoader from 'dataloader';
import type { Post as PostRow } from '../../../lib/generated/prisma/client.js';
import { statement, type Queryable } from '../../../lib/platform/db.js';
import { tryParseId } from '../../../lib/contracts/ids.js';
import type { MediaDisplayRow } from './media-view.js';

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
  /** Each post's media in carousel order: the columns clients see (no upload state). */
  mediaByPostId: DataLoader<bigint, MediaDisplayRow[], string>;
  /** Exact number of visible posts per author. */
  postCountByAuthor: DataLoader<bigint, number, string>;
  /** A page of an author's posts, newest first. */
  authorPage: DataLoader<AuthorPageKey, PostRow[], string>;
  /** Each user's avatar (its square crops), or null. */
  avatarByUser: DataLoader<bigint, MediaDisplayRow | null, string>;
  /** Media items by id with their owner and status (media(id) shows only the viewer's own). */
  mediaById: DataLoader<bigint, OwnedMediaRow | null, string>;
}

export type OwnedMediaRow = MediaDisplayRow & { ownerId: bigint; status: string };

// The hot read path (every feed page resolves 20 posts and their carousels) runs plain SQL
// on the pg pool: through Prisma's client-side query compiler the same two queries cost
// about five times the CPU.
interface PostSql {
  id: string;
  author_id: string;
  caption: string | null;
  hashtags: string[];
  created_at: Date;
  deleted_at: Date | null;
  purged_at: Date | null;
  edited_at: Date | null;
}

const toPost = (r: PostSql): PostRow => ({
  id: BigInt(r.id),
  authorId: BigInt(r.author_id),
  caption: r.caption,
  hashtags: r.hashtags,
  createdAt: r.created_at,
  deletedAt: r.deleted_at,
  purgedAt: r.purged_at,
  editedAt: r.edited_at,
});

interface MediaSql {
  post_id: string;
  id: string;
  type: string | null;
  mime_type: string | null;
  width: number | null;
  height: number | null;
  duration_seconds: number | null;
  blurhash: string | null;
  storage_key: string | null;
  poster_key: string | null;
  variants: MediaDisplayRow['variants'];
  alt_text: string | null;
}

const toMedia = (r: MediaSql): MediaDisplayRow => ({
  id: BigInt(r.id),
  type: r.type,
  mimeType: r.mime_type,
  width: r.width,
  height: r.height,
  durationSeconds: r.duration_seconds,
  blurhash: r.blurhash,
  storageKey: r.storage_key,
  posterKey: r.poster_key,
  variants: r.variants,
  altText: r.alt_text,
});

// Named statements (prepared once per connection) with their columns spelled out: a
// prepared `SELECT *` would fail on old connections once a migration adds a column.
const POST_COLUMNS =
  'p.id, p.author_id, p.caption, p.hashtags, p.created_at, p.deleted_at, p.purged_at, p.edited_at';
// Only what a client's view needs: every feed page reads 20 carousels, and each further
// column (dates, arrays, bigints) is parsed per row.
const MEDIA_COLUMNS = `m.id, m.type, m.mime_type, m.width, m.height, m.duration_seconds, m.blurhash,
  m.storage_key, m.poster_key, m.variants, m.alt_text`;
// A post and its carousel in one round trip: one row per media item (or one row with null
// media columns for a post without any), in carousel order.
const postsWithMediaById = statement(
  'posts_with_media_by_id',
  `SELECT p.id AS post_id, p.author_id, p.caption, p.hashtags, p.created_at, p.deleted_at,
          p.purged_at, p.edited_at, ${MEDIA_COLUMNS}
   FROM posts.posts p
   LEFT JOIN posts.post_media pm ON pm.post_id = p.id
   LEFT JOIN posts.media m ON m.id = pm.media_id
   WHERE p.id = ANY($1::bigint[]) AND p.deleted_at IS NULL
   ORDER BY p.id, pm.position`,
);
const mediaByPost = statement(
  'media_by_post',
  `SELECT pm.post_id, ${MEDIA_COLUMNS}
   FROM posts.post_media pm JOIN posts.media m ON m.id = pm.media_id
   WHERE pm.post_id = ANY($1::bigint[]) ORDER BY pm.post_id, pm.position`,
);
const avatarsByUser = statement(
  'avatars_by_user',
  `SELECT a.user_id AS post_id, ${MEDIA_COLUMNS}
   FROM posts.avatars a JOIN posts.media m ON m.id = a.media_id
   WHERE a.user_id = ANY($1::bigint[])`,
);
const mediaWithOwner = statement(
  'media_with_owner',
  `SELECT m.id AS post_id, m.owner_id, m.status, ${MEDIA_COLUMNS}
   FROM posts.media m WHERE m.id = ANY($1::bigint[])`,
);
const postCounts = statement(
  'post_counts',
  'SELECT author_id, post_count FROM posts.author_stats WHERE author_id = ANY($1::bigint[])',
);

// The post's columns as PostSql has them, but its id as post_id: `id` is the media item's,
// null (with every media column) for a post without media.
type PostMediaSql = Omit<MediaSql, 'id'> &
  Omit<PostSql, 'id'> & {
    id: string | null;
  };

export interface PostWithMedia {
  post: PostRow;
  media: MediaDisplayRow[];
}

/** Visible posts by id, each with its carousel; null for unknown, malformed or deleted ids. */
export async function getPostsWithMedia(
  db: Queryable,
  ids: readonly string[],
): Promise<(PostWithMedia | null)[]> {
  const valid = [...new Set(ids.filter((id) => tryParseId(id) !== null))];
  const { rows } = valid.length
    ? await db.query<PostMediaSql>(postsWithMediaById([valid]))
    : { rows: [] as PostMediaSql[] };
  const byId = new Map<string, PostWithMedia>();
  for (const r of rows) {
    let entry = byId.get(r.post_id);
    if (!entry) {
      entry = { post: toPost({ ...r, id: r.post_id }), media: [] };
      byId.set(r.post_id, entry);
    }
    if (r.id !== null) entry.media.push(toMedia(r as MediaSql));
  }
  // A valid id is canonical decimal (no sign, no leading zeros), as Postgres prints it.
  return ids.map((id) => byId.get(id) ?? null);
}

export async function getMediaByPost(
  db: Queryable,
  postIds: readonly bigint[],
): Promise<MediaDisplayRow[][]> {
  const { rows } = await db.query<MediaSql>(mediaByPost([[...new Set(postIds.map(String))]]));
  const byPost = new Map<string, MediaDisplayRow[]>();
  for (const r of rows) {
    const list = byPost.get(r.post_id) ?? [];
    list.push(toMedia(r));
    byPost.set(r.post_id, list);
  }
  return postIds.map((id) => byPost.get(id.toString()) ?? []);
}

// Both reuse MediaSql's post_id column for the key they are looked up by.
async function getAvatars(db: Queryable, userIds: readonly bigint[]) {
  const { rows } = await db.query<MediaSql>(avatarsByUser([[...new Set(userIds.map(String))]]));
  const byUser = new Map(rows.map((r) => [r.post_id, toMedia(r)]));
  return userIds.map((id) => byUser.get(id.toString()) ?? null);
}

async function getMediaWithOwner(
  db: Queryable,
  ids: readonly bigint[],
): Promise<(OwnedMediaRow | null)[]> {
  const { rows } = await db.query<MediaSql & { owner_id: string; status: string }>(
    mediaWithOwner([[...new Set(ids.map(String))]]),
  );
  const byId = new Map(
    rows.map((r) => [r.post_id, { ...toMedia(r), ownerId: BigInt(r.owner_id), status: r.status }]),
  );
  return ids.map((id) => byId.get(id.toString()) ?? null);
}

async function getPostCounts(db: Queryable, authorIds: readonly bigint[]) {
  const { rows } = await db.query<{ author_id: string; post_count: number }>(
    postCounts([[...new Set(authorIds.map(String))]]),
  );
  const byId = new Map(rows.map((r) => [r.author_id, r.post_count]));
  return authorIds.map((id) => byId.get(id.toString()) ?? 0);
}

// One statement for every page in the batch: a LATERAL index scan per author over
// (author_id, id DESC) WHERE deleted_at IS NULL.
async function getAuthorPages(db: Queryable, keys: readonly AuthorPageKey[]): Promise<PostRow[][]> {
  const { rows } = await db.query<PostSql & { k: number }>({
    text: `SELECT a.k::int AS k, ${POST_COLUMNS}
     FROM unnest($1::bigint[], $2::bigint[], $3::int[]) WITH ORDINALITY AS a(author_id, before_id, lim, k)
     CROSS JOIN LATERAL (
       SELECT p.* FROM posts.posts p
       WHERE p.author_id = a.author_id AND p.deleted_at IS NULL
         AND (a.before_id IS NULL OR p.id < a.before_id)
       ORDER BY p.id DESC
       LIMIT a.lim
     ) p
     ORDER BY a.k, p.id DESC`,
    values: [
      keys.map((k) => k.authorId.toString()),
      keys.map((k) => k.beforeId?.toString() ?? null),
      keys.map((k) => k.limit),
    ],
  });
  const pages: PostRow[][] = keys.map(() => []);
  for (const r of rows) pages[r.k - 1]!.push(toPost(r));
  return pages;
}

export function createLoaders(db: Queryable): PostLoaders {
  const mediaByPostId = new DataLoader<bigint, MediaDisplayRow[], string>(
    (ids) => getMediaByPost(db, ids),
    { maxBatchSize: 500, cacheKeyFn: (id) => id.toString() },
  );
  // Posts come with their carousels (a feed page shows both): the carousel loader is primed.
  const postById = new DataLoader<string, PostRow | null>(
    async (ids) => {
      const found = await getPostsWithMedia(db, ids);
      return found.map((f) => {
        if (!f) return null;
        mediaByPostId.prime(f.post.id, f.media);
        return f.post;
      });
    },
    { maxBatchSize: 500 },
  );
  return {
    postById,
    mediaByPostId,
    postCountByAuthor: new DataLoader((ids) => getPostCounts(db, ids), {
      maxBatchSize: 500,
      cacheKeyFn: (id) => id.toString(),
    }),
    authorPage: new DataLoader(
      async (keys) => {
        const pages = await getAuthorPages(db, keys);
        for (const page of pages) for (const p of page) postById.prime(p.id.toString(), p);
        return pages;
      },
      {
        maxBatchSize: 100,
        cacheKeyFn: (k) => `${k.authorId}:${k.beforeId ?? ''}:${k.limit}`,
      },
    ),
    avatarByUser: new DataLoader((ids) => getAvatars(db, ids), {
      maxBatchSize: 500,
      cacheKeyFn: (id) => id.toString(),
    }),
    mediaById: new DataLoader((ids) => getMediaWithOwner(db, ids), {
      maxBatchSize: 500,
      cacheKeyFn: (id) => id.toString(),
    }),
  };
}
