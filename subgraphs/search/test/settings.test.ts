// The search subgraph's MEILI_INDEX and SEARCH_* come from the Config's own environment,
// with its rules.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, type Config } from '../../../lib/config.js';
import { searchSettings } from '../src/settings.js';

describe('search settings', () => {
  it('reads defaults and overrides from the environment the Config was parsed from', () => {
    expect(searchSettings(parseConfig({ NODE_ENV: 'test' }))).toEqual({
      MEILI_INDEX: 'posts',
      MEILI_USERS_INDEX: 'users',
      SEARCH_INDEXER: true,
      SEARCH_CONSUMER_CONCURRENCY: 16,
      SEARCH_ACK_WAIT_SECONDS: 30,
      SEARCH_TEXT_CANDIDATES: 10_000,
    });
    const cfg = parseConfig({
      NODE_ENV: 'test',
      SEARCH_INDEXER: 'false',
      SEARCH_TEXT_CANDIDATES: '0',
      MEILI_INDEX: '',
    });
    // Copies of a Config keep its environment; an empty value means unset.
    const copy: Config = { ...cfg, HOST: '::1' };
    expect(searchSettings(copy)).toMatchObject({
      SEARCH_INDEXER: false,
      SEARCH_TEXT_CANDIDATES: 0,
      MEILI_INDEX: 'posts',
    });
  });

  it('refuses an invalid value, naming the variable', () => {
    const cfg = parseConfig({ NODE_ENV: 'test', MEILI_INDEX: 'not an index' });
    expect(() => searchSettings(cfg)).toThrow(ConfigError);
    expect(() => searchSettings(cfg)).toThrow(/MEILI_INDEX/);
  });
});
