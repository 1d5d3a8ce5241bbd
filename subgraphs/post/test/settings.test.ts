// The post subgraph's own settings (storage, media, janitor, direct uploads) come from the
// Config's own environment, with its rules.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, type Config } from '../../../lib/config.js';
import { postSettings } from '../src/settings.js';

describe('post settings', () => {
  it('reads defaults and overrides from the environment the Config was parsed from', () => {
    expect(postSettings(parseConfig({ NODE_ENV: 'test' }))).toEqual({
      STORAGE_DIR: '.data/media',
      MINIO_BUCKET: 'mosaic-media',
      MINIO_REGION: 'us-east-1',
      MINIO_PUBLIC_BASE_URL: undefined,
      MEDIA_MAX_PIXELS: 50_000_000,
      MEDIA_ORPHAN_GRACE_HOURS: 24,
      MEDIA_JANITOR_INTERVAL_SECONDS: 600,
      UPLOAD_URL_TTL_SECONDS: 3600,
      UPLOAD_PART_SIZE_BYTES: 8 * 1024 * 1024,
    });
    const cfg = parseConfig({
      NODE_ENV: 'test',
      MEDIA_ORPHAN_GRACE_HOURS: '0.5',
      UPLOAD_PART_SIZE_BYTES: '5242880',
      STORAGE_DIR: '',
    });
    // Copies of a Config keep its environment; an empty value means unset.
    const copy: Config = { ...cfg, HOST: '::1' };
    expect(postSettings(copy)).toMatchObject({
      MEDIA_ORPHAN_GRACE_HOURS: 0.5,
      UPLOAD_PART_SIZE_BYTES: 5 * 1024 * 1024,
      STORAGE_DIR: '.data/media',
    });
  });

  it('refuses an invalid value, naming the variable', () => {
    const cfg = parseConfig({ NODE_ENV: 'test', MINIO_PUBLIC_BASE_URL: 'not a url' });
    expect(() => postSettings(cfg)).toThrow(ConfigError);
    expect(() => postSettings(cfg)).toThrow(/MINIO_PUBLIC_BASE_URL/);
  });
});
