// The feed's FEED_* settings come from the Config's own environment, with its rules.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, type Config } from '../../../lib/config.js';
import { feedSettings } from '../src/settings.js';

describe('feed settings', () => {
  it('reads defaults and overrides from the environment the Config was parsed from', () => {
    expect(feedSettings(parseConfig({ NODE_ENV: 'test' }))).toMatchObject({
      FEED_TIMELINE_CAP: 800,
      FEED_MATERIALIZER: true,
    });
    const cfg = parseConfig({ NODE_ENV: 'test', FEED_TIMELINE_CAP: '5', FEED_MATERIALIZER: '' });
    // Copies of a Config keep its environment; an empty value means unset.
    const copy: Config = { ...cfg, HOST: '::1' };
    expect(feedSettings(copy)).toMatchObject({
      FEED_TIMELINE_CAP: 5,
      FEED_MATERIALIZER: true,
    });
  });

  it('refuses an invalid value, naming the variable', () => {
    const cfg = parseConfig({ NODE_ENV: 'test', FEED_FANOUT_BATCH: 'many' });
    expect(() => feedSettings(cfg)).toThrow(ConfigError);
    expect(() => feedSettings(cfg)).toThrow(/FEED_FANOUT_BATCH/);
  });
});
