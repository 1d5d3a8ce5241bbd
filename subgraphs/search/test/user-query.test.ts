// What a people search means: folding shared by names and queries, `@`, the searchPosts
// input rules, and the people cursor's checks.
import { describe, expect, it } from 'vitest';
import { foldName, parseUserQuery, userRankCursor } from '../src/user-query.js';

describe('foldName', () => {
  it('folds case, accents, compatibility forms and a few plain spellings alike', () => {
    const same: [string, string][] = [
      ['Élodie Dupré', 'elodie dupre'],
      ['ÉLODIE', 'elodie'],
      ['Straße', 'strasse'],
      ['Søren Kierkegaard', 'soren kierkegaard'],
      ['Łukasz', 'lukasz'],
      ['Æsa Œuvre', 'aesa oeuvre'],
      ['ｆｕｌｌ　ｗｉｄｔｈ', 'full width'],
      ['ﬁne', 'fine'],
      ['  many \t spaces\n', 'many spaces'],
      ['zero\u200Bwidth\u202E', 'zerowidth'],
      ['nul\u0000byte', 'nul byte'],
      ['日本語', '日本語'],
    ];
    for (const [name, key] of same) expect(foldName(name), name).toBe(key);
  });
});

describe('parseUserQuery', () => {
  it('drops a leading @ and folds the rest', () => {
    expect(parseUserQuery('@Ada')).toEqual({ kind: 'name', key: 'ada' });
    expect(parseUserQuery('  @@Élodie D ')).toEqual({ kind: 'name', key: 'elodie d' });
    expect(parseUserQuery('ada@example')).toEqual({ kind: 'name', key: 'ada@example' });
  });

  it('gives nothing to search for without a letter or digit, and refuses empty or long ones', () => {
    for (const q of ['@', '!!!', '@ _ .', '\u200B'])
      expect(parseUserQuery(q)).toEqual({ kind: 'nothing' });
    for (const q of ['', '   ', 'a'.repeat(201), '😀'.repeat(201)]) {
      expect(() => parseUserQuery(q), q.slice(0, 5)).toThrow(
        expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', field: 'query' } }),
      );
    }
    expect(parseUserQuery('😀'.repeat(200))).toEqual({ kind: 'nothing' });
  });
});

describe('userRankCursor', () => {
  it('accepts only positions a page can end at', () => {
    expect(userRankCursor([0, 0, '1'])).toEqual({ tier: 0, followers: 0, id: 1n });
    expect(userRankCursor([2, 2 ** 31 - 1, '9223372036854775807'])).toMatchObject({ tier: 2 });
    for (const bad of [
      [3, 0, '1'],
      [-1, 0, '1'],
      [0.5, 0, '1'],
      [0, -1, '1'],
      [0, 2 ** 31, '1'],
      [0, 1.5, '1'],
      [0, 0, 1],
      [0, 0, '01'],
      [0, 0, '9223372036854775808'],
      [0, 0],
      ['0', 0, '1'],
    ]) {
      expect(userRankCursor(bad), JSON.stringify(bad)).toBeNull();
    }
  });
});
