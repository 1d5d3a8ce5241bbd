// `@username` mentions in captions and comments, shared by whoever stores, links or notifies
// them, so all agree on what a mention is. A username is 3-30 letters, digits, underscores
// or dots (the user subgraph's rule); a mention is `@` + such a name, not right after a
// letter, digit, `_`, `.` or another `@` (so `ada@example.com` mentions nobody), and a dot at
// its end is the sentence's, not the name's (`thanks @ada.`). Names are lower-cased (usernames
// are unique case-insensitively), de-duplicated and kept in the order they first appear.

/** At most this many mentions are taken from one text (the rest stay plain text). */
export const MAX_MENTIONS = 20;

const MENTION = /(?<![\p{L}\p{N}_.@])@([A-Za-z0-9_.]{3,30})(?![A-Za-z0-9_])/gu;

export function extractMentions(text: string | null | undefined): string[] {
  if (!text) return [];
  const seen = new Set<string>();
  for (const m of text.matchAll(MENTION)) {
    const name = m[1]!.replace(/\.+$/, '').toLowerCase();
    if (name.length < 3) continue;
    seen.add(name);
    if (seen.size >= MAX_MENTIONS) break;
  }
  return [...seen];
}
