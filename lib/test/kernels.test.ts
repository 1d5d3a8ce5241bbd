// Unit tests of the shared kernels that need no services: config, ids, viewer context.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../config.js';
import { ID_EPOCH_MS, idAt, idTime, parseId, tryParseId } from '../contracts/ids.js';
import { signViewerContext, verifyViewerContext } from '../auth/viewer-context.js';
import { parseRefreshToken, signAccessToken, verifyAccessToken } from '../auth/tokens.js';

describe('config', () => {
  it('has working defaults for a development machine', () => {
    const cfg = parseConfig({ NODE_ENV: 'development' });
    expect(cfg.GATEWAY_PORT).toBe(4000);
    expect(cfg.USER_PORT).toBe(4001);
    expect(cfg.DATABASE_URL).toBe('postgresql://postgres@127.0.0.1:5432/mosaic');
    expect(cfg.corsOrigins).toBe('*');
    expect(cfg.APOLLO_TELEMETRY_DISABLED).toBe(true);
  });

  it('treats empty values as unset and coerces numbers and booleans', () => {
    const cfg = parseConfig({
      NODE_ENV: 'test',
      GATEWAY_PORT: '',
      USER_PORT: '5001',
      TRUST_PROXY: 'yes',
    });
    expect(cfg.GATEWAY_PORT).toBe(4000);
    expect(cfg.USER_PORT).toBe(5001);
    expect(cfg.TRUST_PROXY).toBe(true);
  });

  it('names every invalid variable', () => {
    expect(() => parseConfig({ USER_PORT: 'abc', REDIS_URL: 'not a url' })).toThrow(
      /USER_PORT[\s\S]*REDIS_URL|REDIS_URL[\s\S]*USER_PORT/,
    );
  });

  it('refuses the development secrets in production', () => {
    expect(() => parseConfig({ NODE_ENV: 'production' })).toThrow(ConfigError);
    const cfg = parseConfig({
      NODE_ENV: 'production',
      JWT_SECRET: 'x'.repeat(40),
      INTERNAL_SIGNING_SECRET: 'y'.repeat(40),
      CORS_ORIGINS: 'https://a.example, https://b.example',
    });
    expect(cfg.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
  });
});

describe('ids', () => {
  it('round-trips time through the id layout', () => {
    const t = new Date('2026-11-25T12:00:00.000Z');
    const id = idAt(t) | (1n << 10n) | 7n; // shard 1, sequence 7
    expect(idTime(id).toISOString()).toBe(t.toISOString());
    expect(idTime(0n).getTime()).toBe(ID_EPOCH_MS);
  });

  it('accepts only positive decimal 63-bit ids from clients', () => {
    expect(parseId('238373155356279809')).toBe(238373155356279809n);
    for (const bad of ['', '0', '-1', '01', '1e5', 'abc', '9223372036854775808', ' 1', 12]) {
      expect(tryParseId(bad)).toBeNull();
      expect(() => parseId(bad)).toThrow(/not a valid id/);
    }
  });
});

describe('viewer context', () => {
  const secret = 's'.repeat(40);
  const viewer = { userId: '42', sessionId: '7', ip: '10.0.0.1', requestId: 'r1' };

  it('verifies what it signed', () => {
    expect(verifyViewerContext(secret, signViewerContext(secret, viewer))).toEqual(viewer);
  });

  it('rejects another key, tampering, staleness and junk', () => {
    const header = signViewerContext(secret, viewer);
    expect(verifyViewerContext('t'.repeat(40), header)).toBeNull();
    const [body, mac] = header.split('.');
    const tampered = Buffer.from(
      Buffer.from(body!, 'base64url').toString().replace('"u":"42"', '"u":"43"'),
    ).toString('base64url');
    expect(verifyViewerContext(secret, `${tampered}.${mac}`)).toBeNull();
    expect(
      verifyViewerContext(secret, signViewerContext(secret, viewer, Date.now() - 61_000)),
    ).toBeNull();
    for (const junk of [undefined, '', '.', 'abc', 'a.b.c', 'x'.repeat(5000)]) {
      expect(verifyViewerContext(secret, junk)).toBeNull();
    }
  });
});

describe('tokens', () => {
  const cfg = { JWT_SECRET: 'j'.repeat(40), ACCESS_TOKEN_TTL_SECONDS: 60 };

  it('signs and verifies access tokens; another key or expiry fails', async () => {
    const { token, expiresAt } = await signAccessToken(cfg, { userId: '1', sessionId: '2' });
    expect(expiresAt.getTime()).toBeGreaterThan(Date.now());
    expect(await verifyAccessToken(cfg, token)).toEqual({
      ok: true,
      claims: { userId: '1', sessionId: '2' },
    });
    expect(await verifyAccessToken({ JWT_SECRET: 'k'.repeat(40) }, token)).toEqual({
      ok: false,
      reason: 'invalid',
    });
    const expired = await signAccessToken(
      { ...cfg, ACCESS_TOKEN_TTL_SECONDS: 0 },
      { userId: '1', sessionId: '2' },
    );
    await new Promise((r) => setTimeout(r, 1100));
    expect(await verifyAccessToken(cfg, expired.token)).toEqual({ ok: false, reason: 'expired' });
  });

  it('parses refresh tokens strictly', () => {
    expect(parseRefreshToken(`123.${'A'.repeat(43)}`)).toEqual({
      id: '123',
      secret: 'A'.repeat(43),
    });
    for (const bad of [
      '',
      '123',
      `0.${'A'.repeat(43)}`,
      `123.${'A'.repeat(42)}`,
      `123.${'A'.repeat(43)}.x`,
    ]) {
      expect(parseRefreshToken(bad)).toBeNull();
    }
  });
});
