// The gateway's edge duties: limits, CSRF, request ids, probes, and that subgraphs only
// trust what the gateway signed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { parseConfig } from '../../lib/config.js';
import { revokedSessionKey, signAccessToken } from '../../lib/auth/tokens.js';
import { signViewerContext, VIEWER_CONTEXT_HEADER } from '../../lib/auth/viewer-context.js';
import { startGateway } from '../src/server.js';
import { postGraphql, startStack, type Stack } from '../../test/support/stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    env: { MAX_QUERY_DEPTH: '2', MAX_QUERY_ALIASES: '5', RATE_LIMIT_AUTH_PER_MINUTE: '5' },
  });
});
afterAll(async () => {
  await stack?.close();
});

const signUpVars = (name: string) => ({
  input: { username: name, email: `${name}@example.com`, password: 'long enough pw' },
});
const SIGN_UP = `mutation($input: SignUpInput!) { signUp(input: $input) { accessToken } }`;

describe('query limits', () => {
  it('rejects a query deeper than MAX_QUERY_DEPTH before it reaches a subgraph', async () => {
    const ok = await stack.gql(`{ me { id } }`);
    expect(ok.errors).toBeUndefined();
    const deep = await stack.gql(
      `mutation { logIn(input: { login: "x", password: "y" }) { user { id } } }`,
    );
    expect(deep.status).toBe(400);
    expect(deep.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(deep.errors?.[0]?.message).toMatch(/depth/i);
  });

  it('rejects too many aliases', async () => {
    const aliases = Array.from({ length: 6 }, (_, i) => `a${i}: me { id }`).join(' ');
    const r = await stack.gql(`{ ${aliases} }`);
    expect(r.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(r.errors?.[0]?.message).toMatch(/alias/i);
  });

  it('never returns a stack trace', async () => {
    const r = await stack.gql(`{ nope }`);
    expect(r.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(JSON.stringify(r)).not.toMatch(/stacktrace|at .*\.js:\d+/);
  });
});

describe('rate limits', () => {
  it('limits credential mutations per IP, counting aliased attempts', async () => {
    const tries = (n: number) =>
      Array.from(
        { length: n },
        (_, i) =>
          `t${i}: logIn(input: { login: "someone", password: "guess-${i}-pw" }) { accessToken }`,
      );
    // Budget 5: four tries in one request pass the limiter (and fail as bad credentials)...
    const first = await stack.gql(`mutation { ${tries(4).join(' ')} }`);
    expect(first.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // ...two more exceed it.
    const r = await stack.gql(`mutation { ${tries(2).join(' ')} }`);
    expect(r.status).toBe(429);
    expect(r.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    // Sign-up from the same address is now limited too.
    const s = await stack.gql(SIGN_UP, signUpVars(`late_${Date.now()}`));
    expect(s.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
  });
});

describe('HTTP behaviour', () => {
  it('applies CSRF prevention: a GET without a preflight-forcing header is refused', async () => {
    const res = await fetch(
      `${stack.gatewayUrl}/graphql?query=${encodeURIComponent('{ me { id } }')}`,
    );
    expect(res.status).toBe(400);
    const ok = await fetch(
      `${stack.gatewayUrl}/graphql?query=${encodeURIComponent('{ me { id } }')}`,
      {
        headers: { 'apollo-require-preflight': 'true' },
      },
    );
    expect(ok.status).toBe(200);
  });

  it('echoes a sane x-request-id and generates one otherwise', async () => {
    const a = await fetch(`${stack.gatewayUrl}/health`, { headers: { 'x-request-id': 'abc-123' } });
    expect(a.headers.get('x-request-id')).toBe('abc-123');
    const b = await fetch(`${stack.gatewayUrl}/health`, {
      headers: { 'x-request-id': 'bad id with spaces' },
    });
    expect(b.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers CORS preflights', async () => {
    const res = await fetch(`${stack.gatewayUrl}/graphql`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
    });
    expect(res.status).toBeLessThan(300);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example');
  });

  it('lets a browser PUT a direct upload and read its ETag', async () => {
    const origin = 'https://app.example';
    const { token } = await signAccessToken(stack.cfg, {
      userId: '1234567891',
      sessionId: `cors${Date.now()}`,
    });
    const bytes = Buffer.from('0123456789');
    const ticket = await stack.gql<{ createUpload: { url: string | null } }>(
      `mutation($i: CreateUploadInput!) { createUpload(input: $i) { url } }`,
      { i: { filename: 'a.jpg', contentType: 'image/jpeg', byteSize: bytes.length } },
      { token },
    );
    expect(ticket.errors, JSON.stringify(ticket.errors)).toBeUndefined();
    const path = new URL(ticket.data!.createUpload.url!).pathname;
    const preflight = await fetch(`${stack.gatewayUrl}${path}`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(preflight.status).toBeLessThan(300);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
    expect(preflight.headers.get('access-control-allow-methods')).toMatch(/\bPUT\b/);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/content-type/i);

    const put = await fetch(`${stack.gatewayUrl}${path}`, {
      method: 'PUT',
      headers: { origin, 'content-type': 'image/jpeg' },
      body: bytes,
    });
    expect(put.status, await put.clone().text()).toBe(200);
    expect(put.headers.get('etag')).toBeTruthy();
    expect(put.headers.get('access-control-allow-origin')).toBe(origin);
    expect(put.headers.get('access-control-expose-headers')?.toLowerCase().split(/,\s*/)).toEqual(
      expect.arrayContaining(['etag', 'x-request-id', 'retry-after']),
    );
  });

  it('/health is up and /ready reports Postgres, Redis and NATS', async () => {
    expect((await fetch(`${stack.gatewayUrl}/health`)).status).toBe(200);
    const ready = await fetch(`${stack.gatewayUrl}/ready`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as {
      ready: boolean;
      checks: Record<string, { ok: boolean }>;
    };
    expect(body.ready).toBe(true);
    expect(Object.keys(body.checks).sort()).toEqual(['nats', 'postgres', 'redis']);
  });

  it('/ready is false (503) when Redis is unreachable', async () => {
    const cfg = parseConfig({ ...stack.iso.env, REDIS_URL: 'redis://127.0.0.1:1' });
    const gw = await startGateway(cfg, { port: 0, subgraphUrls: stack.subgraphUrls });
    try {
      const res = await fetch(`${gw.url}/ready`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as {
        ready: boolean;
        checks: Record<string, { ok: boolean }>;
      };
      expect(body.ready).toBe(false);
      expect(body.checks.redis?.ok).toBe(false);
      expect(body.checks.postgres?.ok).toBe(true);
    } finally {
      await gw.close();
    }
  });
});

describe('access tokens', () => {
  it('refuses an already verified (cached) token once its session is revoked', async () => {
    const sessionId = String(Date.now());
    const { token } = await signAccessToken(stack.cfg, { userId: '1234567890', sessionId });
    const ok = await stack.gql(`{ __typename }`, {}, { token });
    expect(ok.errors).toBeUndefined();
    expect(ok.data).toEqual({ __typename: 'Query' });

    const redis = new Redis(stack.cfg.REDIS_URL);
    try {
      await redis.set(revokedSessionKey(stack.cfg.REDIS_KEY_PREFIX, sessionId), '1', 'EX', 60);
    } finally {
      redis.disconnect();
    }
    const r = await stack.gql(`{ __typename }`, {}, { token });
    expect(r.status).toBe(401);
    expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('subgraphs trust only the gateway', () => {
  const ME = `{ me { id username } }`;

  it('refuses a request with no viewer context', async () => {
    const r = await postGraphql(stack.subgraphUrls.user!, ME);
    expect(r.status).toBe(401);
    expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a forged viewer context (wrong key) and a tampered one', async () => {
    const viewer = { userId: '1234567890', sessionId: '1', ip: '127.0.0.1', requestId: 'x' };
    const forged = signViewerContext('not-the-gateway-secret-but-32-chars-long', viewer);
    const r1 = await postGraphql(
      stack.subgraphUrls.user!,
      ME,
      {},
      { [VIEWER_CONTEXT_HEADER]: forged },
    );
    expect(r1.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const genuine = signViewerContext(stack.cfg.INTERNAL_SIGNING_SECRET, {
      ...viewer,
      userId: null,
    });
    const [, sig] = genuine.split('.');
    const body = Buffer.from(
      JSON.stringify({ u: '1234567890', s: '1', ip: '1.2.3.4', r: 'x', t: Date.now() }),
    ).toString('base64url');
    const r2 = await postGraphql(
      stack.subgraphUrls.user!,
      ME,
      {},
      { [VIEWER_CONTEXT_HEADER]: `${body}.${sig}` },
    );
    expect(r2.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a stale viewer context (replayed after a minute)', async () => {
    const old = signViewerContext(
      stack.cfg.INTERNAL_SIGNING_SECRET,
      { userId: null, sessionId: null, ip: '127.0.0.1', requestId: 'x' },
      Date.now() - 120_000,
    );
    const r = await postGraphql(stack.subgraphUrls.user!, ME, {}, { [VIEWER_CONTEXT_HEADER]: old });
    expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
