// Hashtags from a caption, shared by the post subgraph (which stores them) and the search
// subgraph (which indexes and queries them), so both agree on what a tag is.
//
// A tag is `#` followed by Unicode letters, combining marks, digits and underscores
// (`#café`, `#日本`, `#straße`). It cannot begin right after a letter, digit, mark,
// underscore or another `#` (`a#b`, `##x` are not tags), so URLs' fragments and words
// with a `#` inside stay plain text. Tags are NFC-normalized and lower-cased without
// locale rules (Turkish `İ` lower-cases the same everywhere), de-duplicated, and kept in
// the order they first appear.

/** At most this many tags per caption (Instagram allows 30). */
export const MAX_HASHTAGS = 30;
/** Longer tags are cut to this many characters (code points). */
export const MAX_HASHTAG_LENGTH = 100;

const TAG = /(?<![\p{L}\p{M}\p{N}_#&])#([\p{L}\p{M}\p{N}_]+)/gu;

/** Normalizes one tag as it is stored and searched: NFC, lower-case, without `#`. */
export function normalizeHashtag(tag: string): string {
  const bare = tag.startsWith('#') ? tag.slice(1) : tag;
  return [...bare.normalize('NFC').toLowerCase().normalize('NFC')]
    .slice(0, MAX_HASHTAG_LENGTH)
    .join('');
}

/** True when `tag` (with or without `#`) is one whole hashtag. */
export function isHashtag(tag: string): boolean {
  const bare = tag.startsWith('#') ? tag.slice(1) : tag;
  return /^[\p{L}\p{M}\p{N}_]+$/u.test(bare);
}

export function extractHashtags(caption: string | null | undefined): string[] {
  if (!caption) return [];
  const seen = new Set<string>();
  for (const m of caption.normalize('NFC').matchAll(TAG)) {
    const tag = normalizeHashtag(m[1]!);
    // A tag of only underscores or digits is allowed (Instagram allows `#2024`).
    seen.add(tag);
    if (seen.size >= MAX_HASHTAGS) break;
  }
  return [...seen];
}
