// Abuse: brute-force sign-in (per IP across accounts, per account across IPs), upload
// floods, and acting as someone else through any route: GraphQL mutations, REST, direct
// subgraph calls with forged, stale or absent viewer contexts, and /internal/* routes
// without a valid service token. The gateway trusts X-Forwarded-For here (TRUST_PROXY).
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signServiceToken, SERVICE_HEADER } from '../../lib/auth/service-auth.js';
import { signViewerContext, VIEWER_CONTEXT_HEADER } from '../../lib/auth/viewer-context.js';
import { SUBGRAPHS } from '../../scripts/services.js';
import { jpeg } from '../../subgraphs/post/test/media-fixtures.js';
import { readyMedia, type Account } from '../support/content.js';
import { codeOf, expectNoLeak, multipart, raw, type Raw } from '../support/probe.js';
import { startStack, type Stack } from '../support/stack.js';
import { openSse, type SseStream } from '../../gateway/test/live-client.js';

let stack: Stack;
let alice: Account;
let bob: Account;
let ipSeq = 0;
/** A fresh client address per call, so set-up traffic never spends a tested budget. */
const freshIp = () => `10.200.${Math.floor(ipSeq / 250)}.${(ipSeq++ % 250) + 1}`;

const gql = (
  query: string,
  variables: Record<string, unknown> = {},
  opts: { token?: string; ip?: string; headers?: Record<string, string> } = {},
): Promise<Raw> =>
  raw(`${stack.gatewayUrl}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-forwarded-for': opts.ip ?? freshIp(),
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...opts.headers,
    },
    body: JSON.stringify({ query, variables }),
  });

/**
 * A request whose path goes out exactly as written (fetch would resolve `..`, `.` and
 * some escapes before sending), for path traversal and encoding probes.
 */
function rawPath(
  base: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Raw> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { hostname, port, path, method: init.method ?? 'GET', headers: init.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const headers = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
          }
          let json: Raw['json'] = null;
          try {
            json = JSON.parse(text) as Raw['json'];
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode ?? 0, text, headers, json });
        });
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

const LOG_IN = `mutation($i: LogInInput!) { logIn(input: $i) { accessToken } }`;
const PASSWORD = 'long enough pw';

async function account(prefix: string): Promise<Account> {
  const username = `${prefix}_${Date.now().toString(36)}_${ipSeq}`;
  const r = await gql(
    `mutation($i: SignUpInput!) { signUp(input: $i) { accessToken user { id } } }`,
    { i: { username, email: `${username}@example.com`, password: PASSWORD } },
  );
  const data = r.json?.data as { signUp: { accessToken: string; user: { id: string } } };
  if (!data) throw new Error(`signUp failed: ${r.text}`);
  return { id: data.signUp.user.id, username, token: data.signUp.accessToken };
}

beforeAll(async () => {
  stack = await startStack({
    env: {
      TRUST_PROXY: 'true',
      RATE_LIMIT_AUTH_PER_MINUTE: '5',
      RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT: '3',
      LOGIN_BACKOFF_BASE_SECONDS: '30',
      RATE_LIMIT_UPLOADS_PER_MINUTE: '3',
      MEDIA_JANITOR_INTERVAL_SECONDS: '0',
    },
  });
  alice = await account('alice');
  bob = await account('bob');
}, 60_000);

afterAll(async () => {
  await stack?.close();
});

describe('brute-force sign-in', () => {
  it('limits credential attempts per IP, across many accounts', async () => {
    const ip = freshIp();
    const codes: (string | undefined)[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await gql(LOG_IN, { i: { login: `nobody_${i}`, password: 'guess-guess' } }, { ip });
      codes.push(codeOf(r));
      if (i >= 5) {
        expect(r.status).toBe(429);
        expectNoLeak(r);
      }
    }
    expect(codes).toEqual([
      ...Array<string>(5).fill('UNAUTHENTICATED'),
      'RATE_LIMITED',
      'RATE_LIMITED',
    ]);
    // Other addresses are unaffected.
    const other = await gql(LOG_IN, { i: { login: alice.username, password: PASSWORD } });
    expect(other.json?.errors).toBeUndefined();
  });

  it('throttles one account attacked from many IPs, yet lets its owner in from a known address', async () => {
    const victim = await account('victim');
    const home = freshIp();
    const before = await gql(
      LOG_IN,
      { i: { login: victim.username, password: PASSWORD } },
      { ip: home },
    );
    expect(before.json?.errors).toBeUndefined();
    const codes: (string | undefined)[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await gql(LOG_IN, { i: { login: victim.username, password: `wrong-${i}-pw` } });
      codes.push(codeOf(r));
    }
    expect(codes).toEqual([
      'UNAUTHENTICATED',
      'UNAUTHENTICATED',
      'UNAUTHENTICATED',
      'RATE_LIMITED',
      'RATE_LIMITED',
    ]);
    // Case and the email form are the same account; a new address waits, right password or not.
    const upper = await gql(LOG_IN, {
      i: { login: victim.username.toUpperCase(), password: PASSWORD },
    });
    expect(codeOf(upper)).toBe('RATE_LIMITED');
    const retry = upper.json?.errors?.[0]?.extensions as { retryAfterSeconds?: number };
    expect(retry.retryAfterSeconds).toBeGreaterThan(0);
    expectNoLeak(upper);
    // Other accounts still sign in.
    const ok = await gql(LOG_IN, { i: { login: bob.username, password: PASSWORD } });
    expect(ok.json?.errors).toBeUndefined();
    // No session was created for the victim by any of this.
    const sessions = await stack.iso.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM users.refresh_tokens WHERE user_id = $1`,
      [victim.id],
    );
    expect(sessions[0]!.n).toBe(2); // signUp's and home's
    // The owner, from an address that signed in before, is not delayed.
    const owner = await gql(
      LOG_IN,
      { i: { login: victim.username, password: PASSWORD } },
      { ip: home },
    );
    expect(owner.json?.errors, owner.text).toBeUndefined();
  });

  it('counts credential mutations hidden in inline, named and nested fragments', async () => {
    const tries = (field: 'logIn' | 'signUp', n: number) =>
      Array.from({ length: n }, (_, i) => {
        const name = `frag_${Date.now().toString(36)}_${ipSeq}_${i}`;
        return field === 'logIn'
          ? `t${i}: logIn(input: { login: "${name}", password: "guess-${i}-pw" }) { accessToken }`
          : `t${i}: signUp(input: { username: "${name}", email: "${name}@example.com", password: "${PASSWORD}" }) { accessToken }`;
      }).join(' ');
    // Budget 5 per IP; each operation runs 6 attempts, so each must be refused whole.
    const ops: Record<string, string> = {
      inline: `mutation { ... on Mutation { ${tries('logIn', 6)} } }`,
      named: `mutation { ...F } fragment F on Mutation { ${tries('signUp', 6)} }`,
      nested: `mutation { ... on Mutation { ...A } } fragment A on Mutation { ... on Mutation { ...B } ${tries('logIn', 3).replace(/t(\d)/g, 'u$1')} } fragment B on Mutation { ${tries('logIn', 3)} }`,
      'split between top level and a fragment': `mutation { ${tries('logIn', 3)} ...F } fragment F on Mutation { ${tries('signUp', 3).replace(/t(\d)/g, 'u$1')} }`,
    };
    const users = await stack.iso.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM users.users`,
    );
    for (const [kind, query] of Object.entries(ops)) {
      const r = await gql(query, {}, { ip: freshIp() });
      expect(r.status, `${kind}: ${r.text.slice(0, 300)}`).toBe(429);
      expect(codeOf(r), kind).toBe('RATE_LIMITED');
      expectNoLeak(r);
    }
    // Nothing ran: no account was created by the refused signUps.
    const after = await stack.iso.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM users.users`,
    );
    expect(after[0]!.n).toBe(users[0]!.n);
    // Fields skipped with @skip/@include do not run and are not counted.
    const skipped = await gql(
      `mutation { ...F } fragment F on Mutation { ${tries('logIn', 4)} ... @skip(if: true) { ${tries('logIn', 6).replace(/t(\d)/g, 's$1')} } }`,
      {},
      { ip: freshIp() },
    );
    expect(codeOf(skipped), skipped.text.slice(0, 300)).toBe('UNAUTHENTICATED');
  });

  it('gives refreshSession a per-IP budget of its own', async () => {
    const ip = freshIp();
    const session = await gql(`mutation($i: LogInInput!) { logIn(input: $i) { refreshToken } }`, {
      i: { login: alice.username, password: PASSWORD },
    });
    let refreshToken = (session.json?.data as { logIn: { refreshToken: string } }).logIn
      .refreshToken;
    // Spend this address's credential budget (5) and one more.
    for (let i = 0; i < 6; i++) {
      await gql(LOG_IN, { i: { login: `nobody_${i}`, password: 'guess-guess' } }, { ip });
    }
    const limited = await gql(LOG_IN, { i: { login: alice.username, password: PASSWORD } }, { ip });
    expect(codeOf(limited)).toBe('RATE_LIMITED');
    // Users behind the same NAT keep refreshing their sessions.
    for (let i = 0; i < 3; i++) {
      const r = await gql(
        `mutation($t: String!) { refreshSession(refreshToken: $t) { refreshToken } }`,
        { t: refreshToken },
        { ip },
      );
      expect(r.json?.errors, r.text).toBeUndefined();
      refreshToken = (r.json?.data as { refreshSession: { refreshToken: string } }).refreshSession
        .refreshToken;
    }
  });
});

describe('upload flood', () => {
  it('answers RATE_LIMITED (429, Retry-After) past the per-user upload budget', async () => {
    const flooder = await account('flood');
    const CREATE = `mutation($i: CreateUploadInput!) { createUpload(input: $i) { uploadId } }`;
    const input = { i: { filename: 'a.jpg', contentType: 'image/jpeg', byteSize: 1000 } };
    for (let i = 0; i < 3; i++) {
      const r = await gql(CREATE, input, { token: flooder.token });
      expect(r.json?.errors, r.text).toBeUndefined();
    }
    const before = await stack.iso.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM posts.media WHERE owner_id = $1`,
      [flooder.id],
    );
    const limited = await gql(CREATE, input, { token: flooder.token });
    expect(limited.status).toBe(429);
    expect(codeOf(limited)).toBe('RATE_LIMITED');

    const m = multipart([
      { name: 'file', value: await jpeg(32, 32), filename: 'a.jpg', type: 'image/jpeg' },
    ]);
    const rest = await raw(`${stack.gatewayUrl}/v1/media`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${flooder.token}`,
        'content-type': m.contentType,
        'x-forwarded-for': freshIp(),
      },
      body: m.body,
    });
    expect(rest.status).toBe(429);
    expect(codeOf(rest)).toBe('RATE_LIMITED');
    expect(Number(rest.headers.get('retry-after'))).toBeGreaterThan(0);
    // The budget is per user: a change of address does not reset it, and nothing was stored.
    const after = await stack.iso.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM posts.media WHERE owner_id = $1`,
      [flooder.id],
    );
    expect(after[0]!.n).toBe(before[0]!.n);
    // Someone else can still upload.
    const other = await gql(CREATE, input, { token: alice.token });
    expect(other.json?.errors, other.text).toBeUndefined();
  });

  it('counts createUpload hidden in inline, named and nested fragments', async () => {
    const uploads = (n: number, prefix = 'c') =>
      Array.from(
        { length: n },
        (_, i) =>
          `${prefix}${i}: createUpload(input: { filename: "a.jpg", contentType: "image/jpeg", byteSize: 1000 }) { uploadId }`,
      ).join(' ');
    // Budget 3 per user; each operation runs 4.
    const ops: Record<string, string> = {
      inline: `mutation { ... on Mutation { ${uploads(4)} } }`,
      named: `mutation { ...F } fragment F on Mutation { ${uploads(4)} }`,
      nested: `mutation { ... on Mutation { ...A } } fragment A on Mutation { ${uploads(2, 'd')} ... on Mutation { ...B } } fragment B on Mutation { ${uploads(2)} }`,
    };
    for (const [kind, query] of Object.entries(ops)) {
      const user = await account(`upfrag_${kind.slice(0, 3)}`);
      const r = await gql(query, {}, { token: user.token });
      expect(r.status, `${kind}: ${r.text.slice(0, 300)}`).toBe(429);
      expect(codeOf(r), kind).toBe('RATE_LIMITED');
      const stored = await stack.iso.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM posts.media WHERE owner_id = $1`,
        [user.id],
      );
      expect(stored[0]!.n, kind).toBe(0);
    }
  });
});

describe('acting as someone else', () => {
  it('refuses to delete, publish or complete with what belongs to another user', async () => {
    const bobMedia = await readyMedia(stack, bob.id);
    const bobPost = await gql(
      `mutation($i: CreatePostInput!) { createPost(input: $i) { id } }`,
      { i: { mediaIds: [bobMedia] } },
      { token: bob.token },
    );
    const postId = (bobPost.json?.data as { createPost: { id: string } }).createPost.id;

    const del = await gql(
      `mutation($id: ID!) { deletePost(id: $id) { deletedPostId } }`,
      { id: postId },
      {
        token: alice.token,
      },
    );
    expect(codeOf(del)).toBe('FORBIDDEN');
    const other = await readyMedia(stack, bob.id);
    const steal = await gql(
      `mutation($i: CreatePostInput!) { createPost(input: $i) { id } }`,
      { i: { mediaIds: [other] } },
      { token: alice.token },
    );
    expect(codeOf(steal)).toBe('FORBIDDEN');

    const ticket = await gql(
      `mutation($i: CreateUploadInput!) { createUpload(input: $i) { uploadId } }`,
      { i: { filename: 'b.jpg', contentType: 'image/jpeg', byteSize: 1000 } },
      { token: bob.token },
    );
    const uploadId = (ticket.json?.data as { createUpload: { uploadId: string } }).createUpload
      .uploadId;
    const complete = await gql(
      `mutation($id: ID!) { completeUpload(uploadId: $id) { id } }`,
      { id: uploadId },
      { token: alice.token },
    );
    expect(codeOf(complete)).toBe('FORBIDDEN');

    const rows = await stack.iso.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM posts.posts WHERE id = $1 AND deleted_at IS NULL`,
      [postId],
    );
    expect(rows[0]!.n).toBe(1);
    const attached = await stack.iso.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM posts.post_media WHERE media_id = $1`,
      [other],
    );
    expect(attached[0]!.n).toBe(0);
  });

  it('acts only as the token holder, whatever context header the client sends', async () => {
    // A viewer context signed for alice, replayed by bob with his own token.
    const forged = signViewerContext(stack.cfg.INTERNAL_SIGNING_SECRET, {
      userId: alice.id,
      sessionId: '1',
      ip: '127.0.0.1',
      requestId: 'replay',
    });
    const r = await gql(
      `mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { id } }`,
      { i: { bio: 'set by bob' } },
      { token: bob.token, headers: { [VIEWER_CONTEXT_HEADER]: forged } },
    );
    expect((r.json?.data as { updateProfile: { id: string } }).updateProfile.id).toBe(bob.id);
    const bios = await stack.iso.query<{ id: string; bio: string | null }>(
      `SELECT id::text, bio FROM users.users WHERE id = ANY($1::bigint[])`,
      [[alice.id, bob.id]],
    );
    expect(Object.fromEntries(bios.map((b) => [b.id, b.bio]))).toEqual({
      [alice.id]: null,
      [bob.id]: 'set by bob',
    });
    // Signed out with alice's context: still anonymous.
    const anon = await gql(
      `mutation { follow(userId: "${bob.id}") { user { id } } }`,
      {},
      { headers: { [VIEWER_CONTEXT_HEADER]: forged } },
    );
    expect(codeOf(anon)).toBe('UNAUTHENTICATED');
    // A follow is always the viewer's own.
    await gql(
      `mutation { follow(userId: "${alice.id}") { user { id } } }`,
      {},
      { token: bob.token },
    );
    const follows = await stack.iso.query<{ follower_id: string }>(
      `SELECT follower_id::text FROM graph.follows WHERE followee_id = $1`,
      [alice.id],
    );
    expect(follows.map((f) => f.follower_id)).toEqual([bob.id]);
  });

  it('REST uploads belong to the token holder', async () => {
    const m = multipart([
      { name: 'file', value: await jpeg(32, 32), filename: 'a.jpg', type: 'image/jpeg' },
    ]);
    const forged = signViewerContext(stack.cfg.INTERNAL_SIGNING_SECRET, {
      userId: alice.id,
      sessionId: '1',
      ip: '127.0.0.1',
      requestId: 'replay',
    });
    const r = await raw(`${stack.gatewayUrl}/v1/media`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${bob.token}`,
        'content-type': m.contentType,
        [VIEWER_CONTEXT_HEADER]: forged,
        'x-forwarded-for': freshIp(),
      },
      body: m.body,
    });
    expect(r.status, r.text).toBe(201);
    const id = (r.json as unknown as { id: string }).id;
    const owner = await stack.iso.query<{ owner_id: string }>(
      `SELECT owner_id::text FROM posts.media WHERE id = $1`,
      [id],
    );
    expect(owner[0]!.owner_id).toBe(bob.id);
  });
});

describe('direct calls past the gateway', () => {
  const secret = () => stack.cfg.INTERNAL_SIGNING_SECRET;
  const contexts = () => ({
    absent: undefined,
    garbage: 'not-a-context',
    'signed with another secret': signViewerContext('x'.repeat(48), {
      userId: alice.id,
      sessionId: '1',
      ip: '1.2.3.4',
      requestId: 'r',
    }),
    'stale (replayed after 2 minutes)': signViewerContext(
      secret(),
      { userId: alice.id, sessionId: '1', ip: '1.2.3.4', requestId: 'r' },
      Date.now() - 120_000,
    ),
    'a service token': signServiceToken(secret(), 'feed'),
  });

  it('every subgraph refuses GraphQL requests without a fresh gateway-signed context', async () => {
    const failures: string[] = [];
    for (const [name, url] of Object.entries(stack.subgraphUrls)) {
      for (const [kind, header] of Object.entries(contexts())) {
        const r = await raw(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(header ? { [VIEWER_CONTEXT_HEADER]: header } : {}),
          },
          body: JSON.stringify({
            query: `mutation { updateProfile(input: { bio: "pwned" }) { id } }`,
          }),
        });
        if (r.status !== 401 || codeOf(r) !== 'UNAUTHENTICATED')
          failures.push(`${name} with ${kind}: ${r.status} ${r.text.slice(0, 200)}`);
        expectNoLeak(r);
      }
    }
    expect(failures).toEqual([]);
    expect(Object.keys(stack.subgraphUrls).sort()).toEqual(Object.keys(SUBGRAPHS).sort());
    const bios = await stack.iso.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM users.users WHERE bio = 'pwned'`,
    );
    expect(bios[0]!.n).toBe(0);
  });

  it('internal routes need a valid service token (401), and the gateway does not expose them', async () => {
    const base = (name: string) => new URL(stack.subgraphUrls[name]!).origin;
    const routes: [string, string, string, unknown?][] = [
      ['user', 'POST', '/internal/v1/users/existing', { ids: [alice.id] }],
      ['graph', 'GET', `/internal/v1/users/${alice.id}/followers`],
      ['graph', 'GET', `/internal/v1/users/${alice.id}/following`],
      ['graph', 'POST', '/internal/v1/celebrities/among', { ids: [alice.id] }],
      ['graph', 'GET', `/internal/v1/users/${alice.id}/celebrity-followees`],
      ['graph', 'POST', '/internal/v1/visibility', { viewerId: alice.id, userIds: [alice.id] }],
      ['post', 'GET', '/internal/v1/posts'],
      ['post', 'POST', '/internal/v1/posts/lookup', { ids: [alice.id] }],
      ['feed', 'GET', '/internal/v1/anything'],
    ];
    const tokens: Record<string, string | undefined> = {
      absent: undefined,
      forged: signServiceToken('y'.repeat(48), 'feed'),
      stale: signServiceToken(secret(), 'feed', Date.now() - 120_000),
      'a viewer context': signViewerContext(secret(), {
        userId: alice.id,
        sessionId: '1',
        ip: '1.2.3.4',
        requestId: 'r',
      }),
    };
    const failures: string[] = [];
    for (const [name, method, path, body] of routes) {
      for (const [kind, token] of Object.entries(tokens)) {
        const r = await raw(`${base(name)}${path}`, {
          method,
          headers: {
            ...(body ? { 'content-type': 'application/json' } : {}),
            ...(token ? { [SERVICE_HEADER]: token } : {}),
          },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
        if (r.status !== 401 || codeOf(r) !== 'UNAUTHENTICATED')
          failures.push(`${name} ${method} ${path} with ${kind}: ${r.status}`);
      }
      // With a real token the route answers (so the 401s above are the guard, not a 404).
      const ok = await raw(`${base(name)}${path}`, {
        method,
        headers: {
          ...(body ? { 'content-type': 'application/json' } : {}),
          [SERVICE_HEADER]: signServiceToken(secret(), 'test'),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      if (name !== 'feed' && ok.status !== 200)
        failures.push(`${name} ${path} with a valid token: ${ok.status}`);
    }
    // The upload route takes a viewer context instead: absent or forged → 401.
    for (const [kind, header] of Object.entries(contexts())) {
      const r = await raw(`${base('post')}/internal/v1/media`, {
        method: 'POST',
        headers: {
          'content-type': 'multipart/form-data; boundary=x',
          ...(header ? { [VIEWER_CONTEXT_HEADER]: header } : {}),
        },
        body: '--x--\r\n',
      });
      if (r.status !== 401) failures.push(`post /internal/v1/media with ${kind}: ${r.status}`);
    }
    for (const path of ['/internal/v1/posts', '/internal/v1/users/existing']) {
      const r = await raw(`${stack.gatewayUrl}${path}`);
      if (r.status !== 404) failures.push(`gateway ${path}: ${r.status}`);
    }
    expect(failures).toEqual([]);
  });

  it('internal routes stay closed to encoded, doubled, dotted and case-changed paths', async () => {
    const base = (name: string) => new URL(stack.subgraphUrls[name]!).origin;
    const routes: [string, string, string, unknown?][] = [
      ['user', 'POST', '/internal/v1/users/existing', { ids: [alice.id] }],
      ['graph', 'GET', `/internal/v1/users/${alice.id}/followers`],
      ['graph', 'POST', '/internal/v1/celebrities/among', { ids: [alice.id] }],
      ['post', 'GET', '/internal/v1/posts'],
      ['feed', 'GET', '/internal/v1/anything'],
    ];
    const variants = (path: string) => {
      const rest = path.slice('/internal'.length);
      return [
        `/%69nternal${rest}`,
        `/%69%6E%74%65%72%6E%61%6C${rest}`,
        `/%49nternal${rest}`,
        `/INTERNAL${rest}`,
        `/Internal${rest}`,
        `/${path}`,
        `//${path}`,
        `/.${path}`,
        `/%2e${path}`,
        `/x/..${path}`,
        `/x/%2e%2e${path}`,
        `/%2F${path.slice(1)}`,
        `/%5C${path.slice(1)}`,
        `/internal%2F${rest.slice(1)}`,
        `/internal%2f${rest.slice(1)}`,
        `${path}/`,
        `${path}?x=1`,
      ];
    };
    const failures: string[] = [];
    for (const [name, method, path, body] of routes) {
      expect(stack.subgraphUrls[name], name).toBeDefined();
      for (const variant of variants(path)) {
        for (const [target, origin] of [
          [name, base(name)],
          ['gateway', stack.gatewayUrl],
        ] as const) {
          const r = await rawPath(origin, variant, {
            method,
            headers: body ? { 'content-type': 'application/json' } : {},
            ...(body ? { body: JSON.stringify(body) } : {}),
          });
          if (r.status !== 401 && r.status !== 404)
            failures.push(`${target} ${method} ${variant}: ${r.status} ${r.text.slice(0, 80)}`);
          else if (r.status === 401 && codeOf(r) !== 'UNAUTHENTICATED')
            failures.push(`${target} ${method} ${variant}: 401 without UNAUTHENTICATED`);
          expectNoLeak(r);
        }
      }
    }
    expect(failures).toEqual([]);
  });
});

describe('live streams (GET /v1/live)', () => {
  const newTicket = async (token: string) => {
    const r = await gql(`mutation { createLiveTicket { ticket } }`, {}, { token });
    return (r.json?.data as { createLiveTicket: { ticket: string } }).createLiveTicket.ticket;
  };

  it('caps the streams one user holds open; a refused ticket is not spent', async () => {
    const ip = freshIp();
    const open: SseStream[] = [];
    // LIVE_MAX_STREAMS_PER_USER defaults to 5.
    for (let i = 0; i < 5; i++) {
      const s = await openSse(
        `${stack.gatewayUrl}/v1/live?ticket=${await newTicket(alice.token)}`,
        {
          'x-forwarded-for': ip,
        },
      );
      expect(s.status).toBe(200);
      open.push(s);
    }
    const spare = await newTicket(alice.token);
    const refused = await openSse(`${stack.gatewayUrl}/v1/live?ticket=${spare}`, {
      'x-forwarded-for': ip,
    });
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 30 });
    // A bearer token does not get around it either.
    const bearer = await openSse(`${stack.gatewayUrl}/v1/live`, {
      authorization: `Bearer ${alice.token}`,
      'x-forwarded-for': freshIp(),
    });
    expect(bearer.status).toBe(429);
    open.pop()!.close();
    await new Promise((r) => setTimeout(r, 200));
    const retried = await openSse(`${stack.gatewayUrl}/v1/live?ticket=${spare}`, {
      'x-forwarded-for': ip,
    });
    expect(retried.status).toBe(200);
    for (const s of [...open, retried]) s.close();
  });

  it('a live ticket is no access token, and an access token no ticket', async () => {
    const t = await newTicket(bob.token);
    const asToken = await gql(`{ me { id } }`, {}, { token: t });
    expect(codeOf(asToken)).toBe('UNAUTHENTICATED');
    expectNoLeak(asToken);
    const asTicket = await raw(`${stack.gatewayUrl}/v1/live?ticket=${bob.token}`, {
      headers: { 'x-forwarded-for': freshIp() },
    });
    expect(asTicket.status).toBe(401);
    expect(codeOf(asTicket)).toBe('UNAUTHENTICATED');
    expectNoLeak(asTicket);
    // The ticket itself is still good for what it is for.
    const s = await openSse(`${stack.gatewayUrl}/v1/live?ticket=${t}`, {
      'x-forwarded-for': freshIp(),
    });
    expect(s.status).toBe(200);
    s.close();
  });
});

describe('media proxy (GET /media/*, PUT /v1/uploads/*)', () => {
  // Signs of a route other than a media file: Prometheus text, the readiness report, an
  // internal route's answer.
  const ELSEWHERE = /# HELP|# TYPE|process_cpu|"checks"|service token|"posts"/;

  it('never resolves a media path to another route of the post service', async () => {
    const paths = [
      '/media/../metrics',
      '/media/../../metrics',
      '/media/%2e%2e/metrics',
      '/media/%2E%2E/metrics',
      '/media/.%2e/metrics',
      '/media/..%2fmetrics',
      '/media/..%2Fmetrics',
      '/media/m%2F..%2F..%2Fmetrics',
      '/media/%2e%2e%2fmetrics',
      '/media/..%5cmetrics',
      '/media/..\\metrics',
      '/media/./metrics',
      '/media/%2e/metrics',
      '/media//metrics',
      '/media/%2Fmetrics',
      '/media/..;/metrics',
      '/%6Dedia/../metrics',
      '/media/../ready',
      '/media/%2e%2e/ready',
      '/media/../health',
      '/media/../internal/v1/posts',
      '/media/%2e%2e/internal/v1/posts',
      '/media/m/x.jpg%00',
      '/media/m/%00/x.jpg',
      '/media/%252e%252e/metrics',
    ];
    const failures: string[] = [];
    for (const path of paths) {
      for (const method of ['GET', 'HEAD']) {
        const r = await rawPath(stack.gatewayUrl, path, { method });
        if (![400, 404].includes(r.status) || ELSEWHERE.test(r.text))
          failures.push(`${method} ${path}: ${r.status} ${r.text.slice(0, 80)}`);
        expectNoLeak(r);
      }
    }
    for (const path of [
      '/v1/uploads/../metrics',
      '/v1/uploads/%2e%2e/%2e%2e/internal/v1/media',
      '/v1/uploads/a.b%2F..%2F..%2Fmetrics',
      '/v1/uploads/a.b/../../ready',
    ]) {
      const r = await rawPath(stack.gatewayUrl, path, {
        method: 'PUT',
        headers: { 'content-type': 'image/jpeg' },
        body: 'xx',
      });
      if (![403, 404].includes(r.status) || ELSEWHERE.test(r.text))
        failures.push(`PUT ${path}: ${r.status} ${r.text.slice(0, 80)}`);
    }
    expect(failures).toEqual([]);
  });

  it('serves media and its errors with nosniff, a sandboxing CSP and CORP', async () => {
    const owner = await account('media_hdr');
    const m = multipart([
      { name: 'file', value: await jpeg(32, 32), filename: 'a.jpg', type: 'image/jpeg' },
    ]);
    const up = await raw(`${stack.gatewayUrl}/v1/media`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${owner.token}`,
        'content-type': m.contentType,
        'x-forwarded-for': freshIp(),
      },
      body: m.body,
    });
    expect(up.status, up.text).toBe(201);
    const path = new URL((up.json as unknown as { url: string }).url).pathname;
    const answers: [string, Raw][] = [
      ['file', await rawPath(stack.gatewayUrl, path)],
      ['HEAD', await rawPath(stack.gatewayUrl, path, { method: 'HEAD' })],
      ['missing', await rawPath(stack.gatewayUrl, '/media/m/nothing-here.jpg')],
      ['traversal', await rawPath(stack.gatewayUrl, '/media/../metrics')],
      ['bad escape', await rawPath(stack.gatewayUrl, '/media/%E0%A4%A')],
    ];
    expect(answers.map(([k, r]) => `${k} ${r.status}`)).toEqual([
      'file 200',
      'HEAD 200',
      'missing 404',
      'traversal 404',
      'bad escape 400',
    ]);
    for (const [kind, r] of answers) {
      expect(r.headers.get('x-content-type-options'), kind).toBe('nosniff');
      expect(r.headers.get('content-security-policy'), kind).toMatch(/default-src 'none'/);
      expect(r.headers.get('content-security-policy'), kind).toMatch(/sandbox/);
      // A malformed URL is answered before routing, with the headers every error gets.
      if (kind !== 'bad escape')
        expect(r.headers.get('cross-origin-resource-policy'), kind).toBe('cross-origin');
    }
    expect(codeOf(answers[4]![1])).toBe('BAD_USER_INPUT');
    expect(answers[0]![1].headers.get('content-type')).toBe('image/jpeg');
  });
});
