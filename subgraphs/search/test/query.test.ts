// What a search string means (shared by both backends).
import { describe, expect, it } from 'vitest';
import { parseHashtagName, parseQuery } from '../src/query.js';
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
