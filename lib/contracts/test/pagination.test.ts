import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, pageSize, toConnection } from '../pagination.js';

const idCursor = (raw: unknown[]) =>
  raw.length === 1 && typeof raw[0] === 'string' ? raw[0] : null;

describe('pagination', () => {
  it('bounds first', () => {
    expect(pageSize(undefined)).toBe(20);
    expect(pageSize(100)).toBe(100);
    for (const bad of [0, -1, 101, 1.5]) expect(() => pageSize(bad)).toThrow(/first must be/);
  });

  it('round-trips cursors and rejects malformed ones with BAD_USER_INPUT', () => {
    expect(decodeCursor(encodeCursor(['42']), idCursor)).toBe('42');
    expect(decodeCursor(null, idCursor)).toBeNull();
    for (const bad of [
      '',
      '!!',
      'x'.repeat(600),
      encodeCursor([42]),
      Buffer.from('{"a":1}').toString('base64url'),
      'bm90IGpzb24',
    ]) {
      try {
        decodeCursor(bad, idCursor);
        expect.unreachable();
      } catch (err) {
        expect((err as { extensions?: { code?: string } }).extensions?.code).toBe('BAD_USER_INPUT');
      }
    }
  });

  it('builds a connection with hasNextPage from the extra row', () => {
    const c = toConnection(
      ['a', 'b', 'c'],
      2,
      (r) => encodeCursor([r]),
      (r) => r.toUpperCase(),
    );
    expect(c.nodes).toEqual(['A', 'B']);
    expect(c.pageInfo).toEqual({
      hasNextPage: true,
      hasPreviousPage: false,
      startCursor: encodeCursor(['a']),
      endCursor: encodeCursor(['b']),
    });
    expect(toConnection([], 2, String, String).pageInfo).toEqual({
      hasNextPage: false,
      hasPreviousPage: false,
      startCursor: null,
      endCursor: null,
    });
  });

  it('has a previous page exactly when the page continues after a cursor', () => {
    const after = encodeCursor(['a']);
    const c = toConnection(['b', 'c'], 2, (r) => encodeCursor([r]), String, after);
    expect(c.pageInfo).toEqual({
      hasNextPage: false,
      hasPreviousPage: true,
      startCursor: encodeCursor(['b']),
      endCursor: encodeCursor(['c']),
    });
    // Past the end: an empty page still continues an earlier one.
    expect(toConnection([], 2, String, String, after).pageInfo).toMatchObject({
      hasPreviousPage: true,
      startCursor: null,
    });
    expect(toConnection(['a'], 2, String, String, null).pageInfo.hasPreviousPage).toBe(false);
  });
});
