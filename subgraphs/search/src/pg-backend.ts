// PostgreSQL full-text search on search.posts: a GIN index on a 'simple'-configuration
// tsvector for words, a GIN index on the hashtags array for tags. Every value is a bind
// parameter; the tsquery is built from words that can only hold letters, marks, digits
// and underscores, so no input can be read as tsquery or SQL syntax.
import type pg from 'pg';
import { decodeCursor, encodeCursor } from '../../../lib/contracts/pagination.js';
import type { SearchBackend, SearchPage } from './backend.js';
import { idCursor, rankCursor } from './query.js';
import { userRankCursor } from './user-query.js';

/** `cafe & paris:*`: every word, the last one also as a prefix. */
export function toTsquery(words: string[]): string {
  return words.map((w, i) => (i === words.length - 1 ? `${w}:*` : w)).join(' & ');
}

/**
 * The SQL the text search issues (exported for the benchmark's raw-SQL baseline). Ranking
 * reads every candidate's tsvector, so a common word's candidates are capped to its newest
 * `$5` matches (NULL: all); fewer matches than that are ranked exactly.
 */
export const TEXT_SQL = `
  SELECT m.post_id::text AS id, m.author_id::text AS author, m.score::text AS rank FROM (
    SELECT c.post_id, c.author_id, ts_rank_cd(c.tsv, to_tsquery('simple', $1))::real AS score
    FROM (
      SELECT post_id, author_id, tsv FROM search.posts
      WHERE deleted_at IS NULL AND tsv @@ to_tsquery('simple', $1)
      ORDER BY post_id DESC
      LIMIT $5
    ) c
  ) m
  WHERE $2::real IS NULL OR (m.score, m.post_id) < ($2::real, $3::bigint)
  ORDER BY m.score DESC, m.post_id DESC
  LIMIT $4`;

/** The SQL the hashtag search issues. */
export const HASHTAG_SQL = `
  SELECT post_id::text AS id, author_id::text AS author FROM search.posts
  WHERE deleted_at IS NULL AND hashtags @> ARRAY[$1::text]
    AND ($2::bigint IS NULL OR post_id < $2::bigint)
  ORDER BY post_id DESC
  LIMIT $3`;

/**
 * The SQL of people search: tier 0 the exact username, 1 a prefix of the username, of the
 * display name or of a word in it, 2 a close spelling (pg_trgm similarity of the username,
 * word similarity in the display name); within a tier the most followed first, then by id,
 * so the order is total and the keyset cursor [tier, followers, id] stable. $1 the folded
 * query, $2 and $3 it as LIKE patterns (`ada%`, `% ada%`), $4-$6 the cursor, $7 the limit,
 * $8 whether to look for close spellings: not below 3 characters, where nothing is a typo
 * and the trigram comparison would read every row (a plan-time constant: each query is
 * planned with its values, so a false $8 drops that branch).
 */
/** Queries shorter than this match by prefix only. */
export const MIN_FUZZY_LENGTH = 3;

export const USERS_SQL = `
  SELECT m.id, m.tier, m.follower_count AS followers FROM (
    SELECT user_id, user_id::text AS id, follower_count,
      CASE WHEN username_key = $1 THEN 0
           WHEN username_key LIKE $2 OR name_key LIKE $2 OR name_key LIKE $3 THEN 1
           ELSE 2 END AS tier
    FROM search.users
    WHERE version_at > '-infinity'
      AND (username_key LIKE $2 OR name_key LIKE $2 OR name_key LIKE $3
           OR ($8 AND (username_key % $1 OR name_key %> $1)))
  ) m
  WHERE $4::int IS NULL
     OR (m.tier, -m.follower_count, m.user_id) > ($4::int, -$5::int, $6::bigint)
  ORDER BY m.tier, m.follower_count DESC, m.user_id
  LIMIT $7`;

export function createPgBackend(
  pool: pg.Pool,
  opts: { textCandidates?: number } = {},
): SearchBackend {
  const candidates = opts.textCandidates ? opts.textCandidates : null;
  return {
    name: 'postgres',
    async prepare() {},
    async searchText(words, after, limit): Promise<SearchPage> {
      const pos = decodeCursor(after, rankCursor);
      const { rows } = await pool.query<{ id: string; author: string; rank: string }>(TEXT_SQL, [
        toTsquery(words),
        pos?.rank ?? null,
        pos ? String(pos.id) : null,
        limit + 1,
        candidates,
      ]);
      return {
        hits: rows.slice(0, limit).map((r) => ({
          id: BigInt(r.id),
          ownerId: r.author,
          cursor: encodeCursor([r.rank, r.id]),
        })),
        hasNextPage: rows.length > limit,
      };
    },
    async byHashtag(tag, after, limit): Promise<SearchPage> {
      const before = decodeCursor(after, idCursor);
      const { rows } = await pool.query<{ id: string; author: string }>(HASHTAG_SQL, [
        tag,
        before === null ? null : String(before),
        limit + 1,
      ]);
      return {
        hits: rows
          .slice(0, limit)
          .map((r) => ({ id: BigInt(r.id), ownerId: r.author, cursor: encodeCursor([r.id]) })),
        hasNextPage: rows.length > limit,
      };
    },
    async searchUsers(key, after, limit): Promise<SearchPage> {
      const pos = decodeCursor(after, userRankCursor);
      const like = key.replace(/[\\%_]/g, (ch) => `\\${ch}`);
      const { rows } = await pool.query<{ id: string; tier: number; followers: number }>(
        USERS_SQL,
        [
          key,
          `${like}%`,
          `% ${like}%`,
          pos?.tier ?? null,
          pos?.followers ?? null,
          pos ? String(pos.id) : null,
          limit + 1,
          [...key].length >= MIN_FUZZY_LENGTH,
        ],
      );
      return {
        hits: rows.slice(0, limit).map((r) => ({
          id: BigInt(r.id),
          ownerId: r.id,
          cursor: encodeCursor([r.tier, r.followers, r.id]),
        })),
        hasNextPage: rows.length > limit,
      };
    },
    // search.posts and search.users are the index itself: the stores have already written them.
    async upsert() {},
    async upsertUsers() {},
    async remove() {},
    async flush() {},
    async close() {},
  };
}
