// Secure by default: the built-in development secrets are used only when NODE_ENV says
// development or test explicitly and every listener is on loopback; anywhere else the
// process refuses to start with one line naming the variable. Also key rotation: the
// previous key is still accepted for verification, the current one signs.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../config.js';
import { signViewerContext, verifyViewerContext } from '../auth/viewer-context.js';
import { signServiceToken, verifyServiceToken } from '../auth/service-auth.js';
import { signAccessToken, verifyAccessToken } from '../auth/tokens.js';

const secret = () => randomBytes(24).toString('base64url'); // 32 characters
const real = () => ({ JWT_SECRET: secret(), INTERNAL_SIGNING_SECRET: secret() });

/** The ConfigError message parseConfig throws for `env` (fails the test when it does not). */
function refusal(env: Record<string, string>): string {
  try {
    parseConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`parseConfig accepted ${JSON.stringify(env)}`);
}

describe('insecure defaults are refused', () => {
  it('treats an unset NODE_ENV as production: no secrets, no start', () => {
    const message = refusal({});
    expect(message).toMatch(/^JWT_SECRET must be set/);
    expect(message).toContain('NODE_ENV=unset (production)');
    expect(message).not.toContain('\n');
    expect(refusal({ JWT_SECRET: secret() })).toMatch(/^INTERNAL_SIGNING_SECRET must be set/);
    expect(parseConfig(real()).isProduction).toBe(true);
  });

  it('refuses development secrets when a listener is not on loopback, even in development', () => {
    expect(refusal({ NODE_ENV: 'development', HOST: '0.0.0.0' })).toMatch(
      /^JWT_SECRET must be set.*HOST=0\.0\.0\.0/,
    );
    expect(
      refusal({
        NODE_ENV: 'test',
        HOST: '::',
        JWT_SECRET: 'mosaic-dev-jwt-secret-change-me-0123456789abcdef',
        INTERNAL_SIGNING_SECRET: secret(),
      }),
    ).toMatch(/^JWT_SECRET is a development value or placeholder/);
    // Real secrets make an exposed development process acceptable.
    expect(parseConfig({ NODE_ENV: 'development', HOST: '0.0.0.0', ...real() }).HOST).toBe(
      '0.0.0.0',
    );
  });

  it('allows the built-in secrets in development and test on loopback', () => {
    for (const HOST of ['127.0.0.1', '::1', 'localhost', '127.0.0.2']) {
      for (const NODE_ENV of ['development', 'test']) {
        const cfg = parseConfig({ NODE_ENV, HOST, MINIO_ENDPOINT: 'http://127.0.0.1:9000' });
        expect(cfg.JWT_SECRET.length).toBeGreaterThanOrEqual(32);
        expect(cfg.MINIO_ACCESS_KEY).toBe('minioadmin');
        expect(cfg.isProduction).toBe(false);
        expect(cfg.corsOrigins).toBe('*');
      }
    }
  });

  it('refuses a development secret or a placeholder in production', () => {
    expect(
      refusal({
        NODE_ENV: 'production',
        JWT_SECRET: secret(),
        INTERNAL_SIGNING_SECRET: 'mosaic-dev-internal-secret-change-me-0123456789',
      }),
    ).toMatch(/^INTERNAL_SIGNING_SECRET is a development value/);
    // The .env.example placeholders say "change-me" and are refused like the dev values.
    expect(refusal({ ...real(), JWT_SECRET: 'change-me-to-32-or-more-random-characters' })).toMatch(
      /^JWT_SECRET /,
    );
    expect(refusal({ ...real(), REDIS_URL: 'redis://:change-me-redis@redis:6379' })).toMatch(
      /^the password in REDIS_URL /,
    );
    expect(
      refusal({ ...real(), NATS_URL: 'nats://a:4222,nats://mosaic:change-me@b:4222' }),
    ).toMatch(/^the password in NATS_URL /);
    expect(
      refusal({ ...real(), DATABASE_URL_POST: 'postgresql://mosaic_post:change-me@db/mosaic' }),
    ).toMatch(/^the password in DATABASE_URL_POST /);
  });

  it('refuses minioadmin in production when MinIO is in use', () => {
    const minio = { ...real(), MINIO_ENDPOINT: 'http://minio:9000' };
    expect(refusal(minio)).toMatch(/^MINIO_ACCESS_KEY must be set/);
    expect(
      refusal({ ...minio, MINIO_ACCESS_KEY: 'mosaic-app', MINIO_SECRET_KEY: 'minioadmin' }),
    ).toMatch(/^MINIO_SECRET_KEY is a development value/);
    const cfg = parseConfig({
      ...minio,
      MINIO_ACCESS_KEY: 'mosaic-app',
      MINIO_SECRET_KEY: secret(),
    });
    expect(cfg.MINIO_ACCESS_KEY).toBe('mosaic-app');
    // Without an endpoint media go to the filesystem and the MinIO defaults are unused.
    expect(parseConfig(real()).MINIO_ENDPOINT).toBeUndefined();
  });

  it('refuses CORS_ORIGINS=* in production and allows no origin by default', () => {
    expect(refusal({ ...real(), CORS_ORIGINS: '*' })).toMatch(/^CORS_ORIGINS=\* is not allowed/);
    expect(parseConfig(real()).corsOrigins).toEqual([]);
  });

  it('starts in production with real secrets', () => {
    const cfg = parseConfig({
      NODE_ENV: 'production',
      HOST: '0.0.0.0',
      ...real(),
      MINIO_ENDPOINT: 'http://minio:9000',
      MINIO_ACCESS_KEY: 'mosaic-app',
      MINIO_SECRET_KEY: secret(),
      MEILI_URL: 'http://meilisearch:7700',
      MEILI_MASTER_KEY: secret(),
      DATABASE_URL: `postgresql://mosaic_user:${secret()}@postgres:5432/mosaic`,
      REDIS_URL: `redis://:${secret()}@redis:6379`,
      NATS_URL: `nats://mosaic:${secret()}@nats:4222`,
      CORS_ORIGINS: 'https://app.example',
    });
    expect(cfg.isProduction).toBe(true);
    expect(cfg.corsOrigins).toEqual(['https://app.example']);
    expect(cfg.DATABASE_STATEMENT_TIMEOUT_MS).toBe(15_000);
  });
});

describe('signing-key rotation', () => {
  const viewer = { userId: '42', sessionId: '7', ip: '10.0.0.1', requestId: 'r1' };

  it('verifies viewer contexts and service tokens made with the previous key', () => {
    const [previous, current, other] = [secret(), secret(), secret()];
    const before = parseConfig({ ...real(), INTERNAL_SIGNING_SECRET: previous });
    const during = parseConfig({
      ...real(),
      INTERNAL_SIGNING_SECRET: current,
      INTERNAL_SIGNING_SECRET_PREVIOUS: previous,
    });
    const oldContext = signViewerContext(before.INTERNAL_SIGNING_SECRET, viewer);
    const oldToken = signServiceToken(before.INTERNAL_SIGNING_SECRET, 'feed');
    expect(verifyViewerContext(during.INTERNAL_SIGNING_SECRET, oldContext)).toEqual(viewer);
    expect(verifyServiceToken(during.INTERNAL_SIGNING_SECRET, oldToken)).toBe('feed');
    // The current key signs and verifies; a key that is neither is refused.
    const newContext = signViewerContext(during.INTERNAL_SIGNING_SECRET, viewer);
    expect(verifyViewerContext(current, newContext)).toEqual(viewer);
    expect(verifyViewerContext(previous, newContext)).toBeNull();
    expect(verifyViewerContext(current, signViewerContext(other, viewer))).toBeNull();
    expect(verifyServiceToken(current, signServiceToken(other, 'feed'))).toBeNull();
  });

  it('verifies access tokens signed with the previous key until they expire', async () => {
    const previous = { JWT_SECRET: secret(), ACCESS_TOKEN_TTL_SECONDS: 60 };
    const during = { JWT_SECRET: secret(), JWT_SECRET_PREVIOUS: previous.JWT_SECRET };
    const claims = { userId: '1', sessionId: '2' };
    const { token } = await signAccessToken(previous, claims);
    expect(await verifyAccessToken(during, token)).toEqual({ ok: true, claims });
    expect(await verifyAccessToken({ JWT_SECRET: during.JWT_SECRET }, token)).toEqual({
      ok: false,
      reason: 'invalid',
    });
    const stale = await signAccessToken({ ...previous, ACCESS_TOKEN_TTL_SECONDS: 0 }, claims);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await verifyAccessToken(during, stale.token)).toEqual({ ok: false, reason: 'expired' });
    const other = await signAccessToken(
      { JWT_SECRET: secret(), ACCESS_TOKEN_TTL_SECONDS: 60 },
      claims,
    );
    expect(await verifyAccessToken(during, other.token)).toEqual({ ok: false, reason: 'invalid' });
  });
});
