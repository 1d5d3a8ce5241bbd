import { describe, expect, it } from 'vitest';
import { extractMentions, MAX_MENTIONS } from '../mentions.js';

describe('extractMentions', () => {
  it('finds usernames after @, lower-cased, once each, in order', () => {
    expect(extractMentions('hi @Ada and @grace.hopper, and @ada again')).toEqual([
      'ada',
      'grace.hopper',
    ]);
  });

  it('leaves out e-mail addresses, @@, too short or too long names and a trailing dot', () => {
    expect(extractMentions('mail ada@example.com or @@ada')).toEqual([]);
    expect(extractMentions('@ab is short')).toEqual([]);
    expect(extractMentions(`@${'a'.repeat(31)}`)).toEqual([]);
    expect(extractMentions('thanks @ada.')).toEqual(['ada']);
    expect(extractMentions('(@linus_t)')).toEqual(['linus_t']);
    expect(extractMentions(null)).toEqual([]);
  });

  it('takes at most MAX_MENTIONS', () => {
    const text = Array.from({ length: 30 }, (_, i) => `@user${i}`).join(' ');
    expect(extractMentions(text)).toHaveLength(MAX_MENTIONS);
  });
});
