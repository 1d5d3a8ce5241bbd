// Cursor pagination shared by every connection: `first` bounds and opaque cursors.
// A cursor is base64url(JSON) of whatever position the owner needs (e.g. [createdAt, id]);
// clients must treat it as opaque. A malformed cursor is BAD_USER_INPUT, never a 500.
// Pagination is forward only (first/after), as the Relay connection spec allows.
import { badInput } from './errors.js';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** Validates `first`: 1..max, default 20. */
export function pageSize(first: number | null | undefined, max = MAX_PAGE_SIZE): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > max) {
    throw badInput(`first must be between 1 and ${max}`, 'first');
  }
  return first;
}

export function encodeCursor(position: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

/**
 * Decodes a cursor made by encodeCursor and checks its shape with `validate`
 * (which returns the typed position or null). null/undefined `after` means "from the start".
 */
export function decodeCursor<T>(
  after: string | null | undefined,
  validate: (raw: unknown[]) => T | null,
): T | null {
  if (after === null || after === undefined) return null;
  if (
    typeof after !== 'string' ||
    after.length === 0 ||
    after.length > 512 ||
    !/^[A-Za-z0-9_-]+$/.test(after)
  ) {
    throw badInput('after is not a valid cursor', 'after');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(after, 'base64url').toString('utf8'));
  } catch {
    throw badInput('after is not a valid cursor', 'after');
  }
  const position = Array.isArray(raw) ? validate(raw) : null;
  if (position === null) throw badInput('after is not a valid cursor', 'after');
  return position;
}

export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  nodes: T[];
  pageInfo: PageInfo;
}

/**
 * hasPreviousPage for forward pagination: true when the page continues after a cursor. The
 * Relay spec lets a server answer without looking back; nothing before the page is read.
 */
export const continuesEarlierPage = (after: string | null | undefined): boolean =>
  after !== null && after !== undefined;

/**
 * Builds a connection from up to `size + 1` rows fetched in order (the extra row only
 * tells whether there is a next page). `after` is the cursor the page was asked for with.
 */
export function toConnection<R, T>(
  rows: readonly R[],
  size: number,
  cursorOf: (row: R) => string,
  nodeOf: (row: R) => T,
  after?: string | null,
): Connection<T> {
  const page = rows.slice(0, size);
  const edges = page.map((r) => ({ cursor: cursorOf(r), node: nodeOf(r) }));
  return {
    edges,
    nodes: edges.map((e) => e.node),
    pageInfo: {
      hasNextPage: rows.length > size,
      hasPreviousPage: continuesEarlierPage(after),
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}
