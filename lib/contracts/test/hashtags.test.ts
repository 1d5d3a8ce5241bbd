import { describe, expect, it } from 'vitest';
import {
  MAX_HASHTAGS,
  MAX_HASHTAG_LENGTH,
  extractHashtags,
  isHashtag,
  normalizeHashtag,
} from '../hashtags.js';

describe('extractHashtags', () => {
  it('finds tags, lower-cased, without #, in order of first appearance', () => {
    expect(extractHashtags('Sunset #Beach and #sun, then #BEACH again #sun_set')).toEqual([
      'beach',
      'sun',
      'sun_set',
    ]);
  });

  it('handles Unicode letters, marks and digits', () => {
    expect(extractHashtags('#café #日本 #Straße #ПРИВЕТ #2024 #élan')).toEqual([
      'café',
      '日本',
      'straße',
      'привет',
      '2024',
      'élan',
    ]);
  });

  it('NFC-normalizes, so composed and decomposed spellings are one tag', () => {
    const decomposed = '#cafe\u0301';
    expect(extractHashtags(`${decomposed} #café`)).toEqual(['café']);
    expect(extractHashtags(decomposed)[0]).toBe('caf\u00e9');
  });

  it('ignores # inside words, doubled #, HTML entities and lone #', () => {
    expect(extractHashtags('a#b x##y &#39; # #ok c#d')).toEqual(['ok']);
  });

  it('stops a tag at punctuation and spaces', () => {
    expect(extractHashtags('(#one) #two! #three.four "#five"')).toEqual([
      'one',
      'two',
      'three',
      'five',
    ]);
  });

  it('caps the count and the length', () => {
    const many = Array.from({ length: 40 }, (_, i) => `#t${i}`).join(' ');
    const tags = extractHashtags(many);
    expect(tags).toHaveLength(MAX_HASHTAGS);
    expect(tags[0]).toBe('t0');
    expect(extractHashtags(`#${'a'.repeat(150)}`)[0]).toHaveLength(MAX_HASHTAG_LENGTH);
  });

  it('returns [] for empty or missing captions', () => {
    expect(extractHashtags('')).toEqual([]);
    expect(extractHashtags(null)).toEqual([]);
    expect(extractHashtags('no tags here')).toEqual([]);
  });
});

describe('normalizeHashtag / isHashtag', () => {
  it('normalizes a query tag the same way as a caption tag', () => {
    expect(normalizeHashtag('#CAFÉ')).toBe(extractHashtags('#café')[0]);
    expect(normalizeHashtag('Straße')).toBe('straße');
  });
  it('tells whole tags from other text', () => {
    expect(isHashtag('#日本')).toBe(true);
    expect(isHashtag('sun_set')).toBe(true);
    expect(isHashtag('two words')).toBe(false);
    expect(isHashtag('#')).toBe(false);
  });
});
