// Input rules of the engagement operations (api.graphql). Each failure names its field.
import { badInput } from '../../../lib/contracts/errors.js';
import { hasForbiddenChars } from '../../../lib/contracts/text.js';
import { decodeCursor, pageSize } from '../../../lib/contracts/pagination.js';
import { tryParseId } from '../../../lib/contracts/ids.js';

export const COMMENT_MAX = 2200;

/** Characters as people count them (code points), not UTF-16 units. */
const length = (s: string) => [...s].length;

/** A comment's text: trimmed, NFC, 1 to 2,200 characters, line breaks and tabs allowed. */
export function parseCommentText(value: unknown): string {
  if (typeof value !== 'string') throw badInput('text must be a string', 'text');
  if (hasForbiddenChars(value, true)) throw badInput('text contains invalid characters', 'text');
  const t = value.trim().normalize('NFC');
  if (t === '') throw badInput('text must not be empty', 'text');
  if (length(t) > COMMENT_MAX)
    throw badInput(`text must be at most ${COMMENT_MAX} characters`, 'text');
  return t;
}

export interface BiPageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

/** Where a page of an oldest-first list starts: forward from `after`, or back from `before`. */
export interface PageRequest {
  forward: boolean;
  /** Exclusive bound: an id (null: from the start, or from the end going back). */
  cursor: bigint | null;
  size: number;
}

const idCursor = (raw: unknown[]) =>
  raw.length === 1 && typeof raw[0] === 'string' ? tryParseId(raw[0]) : null;

/** Decodes a cursor made by cursorOf; BAD_USER_INPUT naming `field` otherwise. */
function cursorArg(value: string | null | undefined, field: 'after' | 'before'): bigint | null {
  try {
    return decodeCursor(value, idCursor);
  } catch {
    throw badInput(`${field} is not a valid cursor`, field);
  }
}

/**
 * first/after from the oldest, or last/before back from the newest (Relay's backward
 * pagination); neither: the first 20. Mixing the two directions is refused.
 */
export function parsePageArgs(args: BiPageArgs): PageRequest {
  const backward =
    (args.last !== null && args.last !== undefined) ||
    (args.before !== null && args.before !== undefined);
  if (backward) {
    if (args.first !== null && args.first !== undefined)
      throw badInput('first cannot be combined with last or before', 'first');
    if (args.after !== null && args.after !== undefined)
      throw badInput('after cannot be combined with last or before', 'after');
    let size: number;
    try {
      size = pageSize(args.last);
    } catch {
      throw badInput('last must be between 1 and 100', 'last');
    }
    return { forward: false, cursor: cursorArg(args.before, 'before'), size };
  }
  return { forward: true, cursor: cursorArg(args.after, 'after'), size: pageSize(args.first) };
}
