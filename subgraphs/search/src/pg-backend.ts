// PostgreSQL full-text search on search.posts: a GIN index on a 'simple'-configuration
// tsvector for words, a GIN index on the hashtags array for tags. Every value is a bind
// parameter; the tsquery is built from words that can only hold letters, marks, digits
// and underscores, so no input can be read as tsquery or SQL syntax.
import type pg from 'pg';
import { decodeCursor, encodeCursor } from '../../../lib/contracts/pagination.js';
import type { SearchBackend, SearchPage } from './backend.js';
import { idCursor, rankCursor } from './query.js';

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
  SELECT m.post_id::text AS id, m.score::text AS rank FROM (
    SELECT c.post_id, ts_rank_cd(c.tsv, to_tsquery('simple', $1))::real AS score
    FROM (
      SELECT post_id, tsv FROM search.posts
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
  SELECT post_id::text AS id FROM search.posts
  WHERE deleted_at IS NULL AND hashtags @> ARRAY[$1::text]
    AND ($2::bigint IS NULL OR post_id < $2::bigint)
  ORDER BY post_id DESC
  LIMIT $3`;

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
      const { rows } = await pool.query<{ id: string; rank: string }>(TEXT_SQL, [
        toTsquery(words),
        pos?.rank ?? null,
        pos ? String(pos.id) : null,
        limit + 1,
        candidates,
      ]);
      return {
        hits: rows
          .slice(0, limit)
          .map((r) => ({ id: BigInt(r.id), cursor: encodeCursor([r.rank, r.id]) })),
        hasNextPage: rows.length > limit,
      };
    },
    async byHashtag(tag, after, limit): Promise<SearchPage> {
      const before = decodeCursor(after, idCursor);
      const { rows } = await pool.query<{ id: string }>(HASHTAG_SQL, [
        tag,
        before === null ? null : String(before),
        limit + 1,
      ]);
      return {
        hits: rows.slice(0, limit).map((r) => ({ id: BigInt(r.id), cursor: encodeCursor([r.id]) })),
        hasNextPage: rows.length > limit,
      };
    },
    // search.posts is the index itself: the index store has already written it.
    async upsert() {},
    async remove() {},
    async flush() {},
    async close() {},
  };
}
