// What a people search means (searchUsers): a username or display name, typed as it comes,
// `@name` too. Names and queries are folded the same way (foldName) before they meet, in
// both backends, so case and accents never matter: `ÉLODIE`, `elodie` and `Élodie` match.
import { badInput } from '../../../lib/contracts/errors.js';
import { tryParseId } from '../../../lib/contracts/ids.js';
import { MAX_QUERY_LENGTH } from './query.js';

/** Letters that carry no combining mark to strip but have a plain spelling. */
const PLAIN: Record<string, string> = {
  ß: 'ss',
  æ: 'ae',
  œ: 'oe',
  ø: 'o',
  ł: 'l',
  đ: 'd',
  ð: 'd',
  þ: 'th',
  ı: 'i',
};
const PLAIN_RE = new RegExp(`[${Object.keys(PLAIN).join('')}]`, 'gu');

/**
 * The match key of a name or query: control and format characters dropped (Postgres text
 * cannot hold NUL), compatibility-decomposed (NFKD: `ﬁ` → `fi`, full-width → ASCII), marks
 * removed (`é` → `e`), lower-cased without locale rules, a few letters spelled plainly
 * (`ß` → `ss`, `ø` → `o`), whitespace collapsed to single spaces and trimmed.
 */
export function foldName(text: string): string {
  return text
    .replace(/[\p{Cc}\p{Cs}]/gu, ' ') // controls (NUL, tabs) and lone surrogates: spaces
    .replace(/\p{Cf}/gu, '') // zero-width and direction marks: nothing
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(PLAIN_RE, (ch) => PLAIN[ch]!)
    .replace(/\s+/gu, ' ')
    .trim();
}

export type ParsedUserQuery =
  /** The folded query, without a leading `@`. */
  | { kind: 'name'; key: string }
  /** Nothing searchable (`@` alone, only punctuation): an empty page, not an error. */
  | { kind: 'nothing' };

/**
 * The same rules as searchPosts: empty or blank and over 200 characters are BAD_USER_INPUT;
 * a query without a letter or digit is an empty page. A leading `@` (as in a mention) is
 * dropped: `@ada` searches `ada`.
 */
export function parseUserQuery(raw: string): ParsedUserQuery {
  const query = raw.trim();
  if (query.length === 0) throw badInput('query must not be empty', 'query');
  if ([...query].length > MAX_QUERY_LENGTH) {
    throw badInput(`query must be at most ${MAX_QUERY_LENGTH} characters`, 'query');
  }
  const key = foldName(query.replace(/^@+/u, ''));
  return /[\p{L}\p{N}]/u.test(key) ? { kind: 'name', key } : { kind: 'nothing' };
}

// ---- cursor positions (decoded by lib/contracts/pagination.ts decodeCursor) ----

/** Ranking tiers: exact username, then prefixes, then close spellings. */
export const TIER = { exact: 0, prefix: 1, similar: 2 } as const;

/** A Postgres people-search position: [tier, follower count, user id]. */
export function userRankCursor(
  raw: unknown[],
): { tier: number; followers: number; id: bigint } | null {
  if (raw.length !== 3) return null;
  const [tier, followers, id] = raw;
  if (tier !== 0 && tier !== 1 && tier !== 2) return null;
  if (!Number.isSafeInteger(followers) || (followers as number) < 0) return null;
  if ((followers as number) > 2 ** 31 - 1 || typeof id !== 'string') return null;
  const userId = tryParseId(id);
  return userId === null ? null : { tier, followers: followers as number, id: userId };
}
