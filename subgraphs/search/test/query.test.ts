// What a search string means (shared by both backends).
import { describe, expect, it } from 'vitest';
import { idCursor, offsetCursor, parseHashtagName, parseQuery, rankCursor } from '../src/query.js';
import { toTsquery } from '../src/pg-backend.js';

const code = (fn: () => unknown) => {
  try {
    fn();
    return null;
  } catch (err) {
    return (err as { extensions?: { code?: string } }).extensions?.code ?? 'thrown';
  }
};

describe('parseQuery', () => {
  it('reads #tag as a normalized hashtag', () => {
    expect(parseQuery('  #Café ')).toEqual({ kind: 'hashtag', tag: 'café' });
    expect(parseQuery('#日本')).toEqual({ kind: 'hashtag', tag: '日本' });
    expect(parseQuery('#STRAẞE')).toEqual({ kind: 'hashtag', tag: 'straße' });
  });

  it('splits text into lower-cased words, dropping punctuation and SQL syntax', () => {
    expect(parseQuery(`'; DROP TABLE posts; --`)).toEqual({
      kind: 'text',
      words: ['drop', 'table', 'posts'],
    });
    expect(parseQuery('Crème brûlée à Paris')).toEqual({
      kind: 'text',
      words: ['crème', 'brûlée', 'à', 'paris'],
    });
    expect(parseQuery('!!! ... ???')).toEqual({ kind: 'nothing' });
  });

  it('refuses empty, too long and invalid hashtag queries', () => {
    expect(code(() => parseQuery(''))).toBe('BAD_USER_INPUT');
    expect(code(() => parseQuery(' \n\t '))).toBe('BAD_USER_INPUT');
    expect(code(() => parseQuery('a'.repeat(201)))).toBe('BAD_USER_INPUT');
    expect(code(() => parseQuery('a'.repeat(200)))).toBeNull();
    expect(code(() => parseQuery('#'))).toBe('BAD_USER_INPUT');
    expect(code(() => parseQuery('#a-b'))).toBe('BAD_USER_INPUT');
  });

  it('builds a tsquery from words only, the last one a prefix', () => {
    expect(toTsquery(['golden', 'hou'])).toBe('golden & hou:*');
  });
});

describe('parseHashtagName', () => {
  it('accepts names with or without #, in any case', () => {
    expect(parseHashtagName('#Travel')).toBe('travel');
    expect(parseHashtagName('travel')).toBe('travel');
    expect(parseHashtagName('no spaces')).toBeNull();
    expect(parseHashtagName('')).toBeNull();
  });
});

describe('cursor positions', () => {
  it('accepts only ranks a Postgres real holds, non-negative', () => {
    for (const rank of ['0', '0.1', '1.5e-05', '1e-45', '3.4028235e+38', '12'])
      expect(rankCursor([rank, '1']), rank).toEqual({ rank, id: 1n });
    for (const rank of ['1e39', '1e-50', '1e308', '-1', '3.4028236e38', 'NaN', '.', '1e', ''])
      expect(rankCursor([rank, '1']), rank).toBeNull();
  });

  it('accepts only positive int8 post ids', () => {
    expect(rankCursor(['0.1', '9223372036854775807'])?.id).toBe(9223372036854775807n);
    for (const id of ['0', '-1', '9223372036854775808', '1e3', ' 1'])
      expect(rankCursor(['0.1', id]), id).toBeNull();
    expect(idCursor(['42'])).toBe(42n);
    expect(idCursor(['9223372036854775808'])).toBeNull();
  });

  it('accepts only Meilisearch offsets up to the last hit served', () => {
    const offset = offsetCursor(10_000);
    expect(offset([1])).toBe(1);
    expect(offset([10_000])).toBe(10_000);
    for (const bad of [0, -1, 1.5, 10_001, 1e39, '1'])
      expect(offset([bad]), String(bad)).toBeNull();
  });
});
