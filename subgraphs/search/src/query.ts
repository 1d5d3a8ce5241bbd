// What a search string means: `#tag` searches that hashtag (lib/contracts/hashtags.ts rules), anything
// else is caption text split into words. Both backends get the same parsed query, so they
// agree on what matches; input never reaches SQL or a filter expression as syntax.
import { badInput } from '../../../lib/contracts/errors.js';
import { isHashtag, normalizeHashtag } from '../../../lib/contracts/hashtags.js';
import { tryParseId } from '../../../lib/contracts/ids.js';

/** Longer queries are BAD_USER_INPUT (a caption is at most 2,200 characters; nobody types 200 to search). */
export const MAX_QUERY_LENGTH = 200;
/** Words beyond this many are ignored (each one is a term the index has to intersect). */
export const MAX_QUERY_WORDS = 16;

export type ParsedQuery =
  | { kind: 'hashtag'; tag: string }
  /** Lower-cased words; the last one also matches as a prefix (search as you type). */
  | { kind: 'text'; words: string[] }
  /** Nothing searchable (only punctuation): an empty page, not an error. */
  | { kind: 'nothing' };

const WORD = /[\p{L}\p{M}\p{N}_]+/gu;

/** Lower-cased the same way as captions are before indexing (NFC, no locale rules). */
export const foldText = (text: string): string =>
  text.normalize('NFC').toLowerCase().normalize('NFC');

export function parseQuery(raw: string): ParsedQuery {
  const query = raw.trim();
  if (query.length === 0) throw badInput('query must not be empty', 'query');
  if ([...query].length > MAX_QUERY_LENGTH) {
    throw badInput(`query must be at most ${MAX_QUERY_LENGTH} characters`, 'query');
  }
  if (query.startsWith('#')) {
    const tag = query.slice(1).trim();
    if (!isHashtag(tag)) throw badInput('query is not a valid hashtag', 'query');
    return { kind: 'hashtag', tag: normalizeHashtag(tag) };
  }
  const words = [...new Set(foldText(query).match(WORD) ?? [])].slice(0, MAX_QUERY_WORDS);
  return words.length === 0 ? { kind: 'nothing' } : { kind: 'text', words };
}

/** A hashtag name as given to `hashtag(name:)`, with or without `#`; null when it is not one. */
export function parseHashtagName(name: string): string | null {
  const bare = name.trim();
  if ([...bare].length > MAX_QUERY_LENGTH) return null;
  return isHashtag(bare) ? normalizeHashtag(bare) : null;
}

// ---- cursor positions (decoded by lib/contracts/pagination.ts decodeCursor) ----
// A cursor is client input: its position must be one the backend could have produced, or
// the query fails on a value Postgres cannot cast (a 500) instead of BAD_USER_INPUT.

/**
 * A Postgres text-search position: [rank, post id]. The rank is ts_rank_cd as `real` text:
 * non-negative and representable as a float4 (1e39 overflows it, 1e-50 underflows to 0).
 */
export function rankCursor(raw: unknown[]): { rank: string; id: bigint } | null {
  if (raw.length !== 2 || typeof raw[0] !== 'string' || typeof raw[1] !== 'string') return null;
  const id = tryParseId(raw[1]);
  if (id === null || !/^[0-9.e+-]{1,32}$/i.test(raw[0])) return null;
  const rank = Number(raw[0]);
  const asReal = Math.fround(rank);
  const inRange = rank >= 0 && Number.isFinite(asReal) && (rank === 0 || asReal !== 0);
  return inRange ? { rank: raw[0], id } : null;
}

/** A newest-first position: [post id]. */
export const idCursor = (raw: unknown[]): bigint | null =>
  raw.length === 1 && typeof raw[0] === 'string' ? tryParseId(raw[0]) : null;

/** A Meilisearch position: [offset], 1..max (the engine serves no hit past maxTotalHits). */
export const offsetCursor =
  (max: number) =>
  (raw: unknown[]): number | null =>
    raw.length === 1 &&
    Number.isSafeInteger(raw[0]) &&
    (raw[0] as number) > 0 &&
    (raw[0] as number) <= max
      ? (raw[0] as number)
      : null;
