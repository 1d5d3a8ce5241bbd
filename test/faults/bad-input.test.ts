// Bad input: every public operation and REST route fed malformed, oversized, empty,
// wrong-typed, Unicode-edge and injection-looking values, malformed cursors, forged tokens,
// broken multipart bodies, truncated images and over-limit queries. Each row asserts the
// documented error code, that nothing was written (row counts of every writable table and
// the outboxes, plus the profile fields) and that no stack trace or internal detail leaks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpeg } from '../../subgraphs/post/test/media-fixtures.js';
import { block, createPost, follow, readyMedia, signUp, type Account } from '../support/content.js';
import {
  codeOf,
  expectNoLeak,
  forgedTokens,
  gqlBody,
  gqlRaw,
  multipart,
  closeSnapshots,
  raw,
  snapshot,
  type Raw,
} from '../support/probe.js';
import { startStack, type Stack } from '../support/stack.js';
import { signLiveTicket } from '../../lib/auth/live-ticket.js';
import { signViewerContext } from '../../lib/auth/viewer-context.js';
import { openSse } from '../../gateway/test/live-client.js';
import { SUBGRAPHS } from '../../scripts/services.js';

let stack: Stack;
let alice: Account;
let bob: Account;
let alicePost: string;
let bobMedia: string;
let aliceMedia: string;
let tokens: Record<string, string>;
let image: Buffer;

const MAX_IMAGE = 200_000;

beforeAll(async () => {
  stack = await startStack({
    env: {
      MAX_QUERY_DEPTH: '7',
      MAX_QUERY_ALIASES: '4',
      MAX_QUERY_TOKENS: '400',
      MEDIA_MAX_IMAGE_BYTES: String(MAX_IMAGE),
      MEDIA_MAX_VIDEO_BYTES: String(MAX_IMAGE),
      MEDIA_JANITOR_INTERVAL_SECONDS: '0',
      // Hundreds of rows from one address: the limits have their own test (abuse.test.ts).
      RATE_LIMIT_IP_PER_MINUTE: '0',
      RATE_LIMIT_USER_PER_MINUTE: '0',
      RATE_LIMIT_AUTH_PER_MINUTE: '0',
      RATE_LIMIT_UPLOADS_PER_MINUTE: '0',
      RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT: '0',
    },
  });
  alice = await signUp(stack, 'alice');
  bob = await signUp(stack, 'bob');
  alicePost = await createPost(stack, alice, 'hello #world');
  aliceMedia = await readyMedia(stack, alice.id);
  bobMedia = await readyMedia(stack, bob.id);
  tokens = await forgedTokens(stack, alice.id);
  image = await jpeg(64, 48);
}, 60_000);

afterAll(async () => {
  if (stack) await closeSnapshots(stack);
  await stack?.close();
});

// ---- building blocks ----

const gql = (
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
  headers?: Record<string, string>,
) => gqlRaw(`${stack.gatewayUrl}/graphql`, gqlBody(query, variables), { token, headers });

const b64 = (s: string) => Buffer.from(s).toString('base64url');
const emoji = (n: number) => '😀'.repeat(n);
const NUL = 'a\u0000b';
const RTL = 'abc\u202Eexe.gpj';
const ZWJ = 'a\u200Db\u200Dc';
const INJECTIONS = [
  "'; drop table users.users; --",
  '<script>alert(1)</script>',
  '{{7*7}}',
  '{"$where": "sleep(1000)"}',
];
/** JSON with a lone surrogate, which JSON.stringify would never produce from a JS string. */
const LONE = '"lone \\ud800 surrogate"';

/** Malformed `after` cursors, one of each kind. */
const cursors = () => ({
  'not base64': '!!!not-base64!!!',
  'base64 of junk': b64('\u0001\u0002garbage'),
  'base64 of an object': b64('{"$where":"1"}'),
  'base64 of the wrong shape': b64('["x","y","z"]'),
  'base64 of a number array': b64('[1e308]'),
  'base64 of an injection': b64(`["1; drop table posts.posts"]`),
  'base64 of a negative id': b64('["-5"]'),
  huge: b64(JSON.stringify(['1'.repeat(4000)])),
});

/** Well-formed search cursors whose position no backend produces (Postgres `real` overflow). */
const searchCursors = () => ({
  'rank 1e39': b64('["1e39","1"]'),
  'rank 1e-50': b64('["1e-50","1"]'),
  'rank 1e308': b64('["1e308","1"]'),
  'rank negative': b64('["-1","1"]'),
  'rank with id past int8': b64('["0.1","9223372036854775808"]'),
  'offset past the last hit': b64('[1e39]'),
});

const SIGN_UP = `mutation($i: SignUpInput!) { signUp(input: $i) { accessToken } }`;
const LOG_IN = `mutation($i: LogInInput!) { logIn(input: $i) { accessToken } }`;
const UPDATE = `mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { id } }`;
const CREATE_UPLOAD = `mutation($i: CreateUploadInput!) { createUpload(input: $i) { uploadId } }`;
const COMPLETE = `mutation($id: ID!, $p: [CompletedPartInput!]) { completeUpload(uploadId: $id, parts: $p) { id } }`;
const CREATE_POST = `mutation($i: CreatePostInput!) { createPost(input: $i) { id } }`;
const DELETE_POST = `mutation($id: ID!) { deletePost(id: $id) { deletedPostId } }`;
const FOLLOW = `mutation($id: ID!) { follow(userId: $id) { user { id } } }`;
const UNFOLLOW = `mutation($id: ID!) { unfollow(userId: $id) { user { id } } }`;
const FEED = `query($f: Int, $a: String) { feed(first: $f, after: $a) { nodes { id } } }`;
const USER_CONN = (field: string) =>
  `query($u: String!, $f: Int, $a: String) { user(username: $u) { ${field}(first: $f, after: $a) { nodes { id } } } }`;
const SEARCH = `query($q: String!, $f: Int, $a: String) { searchPosts(query: $q, first: $f, after: $a) { nodes { id } } }`;
const HASHTAG = `query($n: String!) { hashtag(name: $n) { name } }`;
const HASHTAG_POSTS = `query($n: String!, $a: String) { hashtag(name: $n) { posts(after: $a) { nodes { id } } } }`;

const signUpInput = (over: Record<string, unknown>) => ({
  i: {
    username: `ok_${Math.random().toString(36).slice(2, 10)}`,
    email: `ok${Math.random().toString(36).slice(2, 10)}@example.com`,
    password: 'long enough pw',
    ...over,
  },
});

/** A signUp whose input is spliced in as raw JSON (for lone surrogates). */
const signUpRaw = (field: string, jsonValue: string) => {
  const name = `ok_${Math.random().toString(36).slice(2, 10)}`;
  const base = { username: name, email: `${name}@example.com`, password: 'long enough pw' };
  const vars = JSON.stringify({ i: base }).replace(/}}$/, `,"${field}":${jsonValue}}}`);
  return gqlRaw(
    `${stack.gatewayUrl}/graphql`,
    `{"query":${JSON.stringify(SIGN_UP)},"variables":${vars}}`,
  );
};

interface Row {
  name: string;
  run: () => Promise<Raw>;
  /** The documented error code, or a check of a documented non-error answer (null etc.). */
  code?: string;
  status?: number;
  check?: (r: Raw) => void;
}

const NOTHING = (field: string) => (r: Raw) => {
  expect(r.json?.errors, r.text).toBeUndefined();
  expect(r.json?.data?.[field], r.text).toBeNull();
};

async function expectRow(row: Row): Promise<void> {
  const before = await snapshot(stack);
  const r = await row.run();
  if (row.code) expect(codeOf(r), `${row.name}: ${r.text.slice(0, 300)}`).toBe(row.code);
  if (row.status) expect(r.status, `${row.name}: ${r.text.slice(0, 300)}`).toBe(row.status);
  row.check?.(r);
  expect(r.status, row.name).toBeLessThan(500);
  expectNoLeak(r);
  expect(await snapshot(stack), `${row.name} wrote something`).toEqual(before);
}

function table(rows: () => Row[]) {
  // Rows are built lazily: they need the accounts made in beforeAll.
  it('answers every row with its documented error and writes nothing', async () => {
    const failures: string[] = [];
    for (const row of rows()) {
      try {
        // BAD_INPUT_TRACE=1 names each row as it runs (to find one that hangs).
        if (process.env.BAD_INPUT_TRACE) console.log('row', row.name);
        await expectRow(row);
      } catch (err) {
        failures.push(`${row.name}: ${(err as Error).message.split('\n').slice(0, 3).join(' ')}`);
      }
    }
    expect(failures).toEqual([]);
    // Dozens of requests per table: generous, so a loaded CI machine does not time out.
  }, 120_000);
}

// ---- the tables ----

describe('accounts (signUp, logIn, refreshSession, logOut, updateProfile, me, user)', () => {
  table(() => [
    {
      name: 'signUp empty username',
      run: () => gql(SIGN_UP, signUpInput({ username: '' })),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'signUp username of 31',
      run: () => gql(SIGN_UP, signUpInput({ username: 'a'.repeat(31) })),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'signUp username with NUL',
      run: () => gql(SIGN_UP, signUpInput({ username: NUL })),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'signUp username with RTL override',
      run: () => gql(SIGN_UP, signUpInput({ username: RTL })),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'signUp username with ZWJ',
      run: () => gql(SIGN_UP, signUpInput({ username: ZWJ })),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'signUp username emoji',
      run: () => gql(SIGN_UP, signUpInput({ username: emoji(5) })),
      code: 'BAD_USER_INPUT',
    },
    ...INJECTIONS.map((v) => ({
      name: `signUp username ${v}`,
      run: () => gql(SIGN_UP, signUpInput({ username: v })),
      code: 'BAD_USER_INPUT',
    })),
    ...INJECTIONS.map((v) => ({
      name: `signUp email ${v}`,
      run: () => gql(SIGN_UP, signUpInput({ email: v })),
      code: 'BAD_USER_INPUT',
    })),
    {
      name: 'signUp email oversized',
      run: () => gql(SIGN_UP, signUpInput({ email: `${'a'.repeat(250)}@example.com` })),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'signUp email with NUL',
      run: () => gql(SIGN_UP, signUpInput({ email: 'a\u0000b@example.com' })),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'signUp short password',
      run: () => gql(SIGN_UP, signUpInput({ password: 'short' })),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'signUp password of 257',
      run: () => gql(SIGN_UP, signUpInput({ password: 'p'.repeat(257) })),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'signUp 1 MB password',
      run: () => gql(SIGN_UP, signUpInput({ password: 'p'.repeat(1_000_000) })),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'signUp displayName of 65 emoji',
      run: () => gql(SIGN_UP, signUpInput({ displayName: emoji(65) })),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'signUp displayName with NUL',
      run: () => gql(SIGN_UP, signUpInput({ displayName: NUL })),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'signUp displayName lone surrogate',
      run: () => signUpRaw('displayName', LONE),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'signUp displayName 65 combining marks',
      run: () => gql(SIGN_UP, signUpInput({ displayName: `e${'\u0301'.repeat(64)}` })),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'signUp username wrong type',
      run: () => gql(SIGN_UP, signUpInput({ username: 12345 })),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'signUp username object',
      run: () => gql(SIGN_UP, signUpInput({ username: { $where: '1' } })),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'signUp missing password',
      run: () => gql(SIGN_UP, { i: { username: 'abcdef', email: 'a@example.com' } }),
      code: 'BAD_USER_INPUT',
    },
    { name: 'signUp input null', run: () => gql(SIGN_UP, { i: null }), code: 'BAD_USER_INPUT' },
    { name: 'signUp input a string', run: () => gql(SIGN_UP, { i: 'x' }), code: 'BAD_USER_INPUT' },
    {
      name: 'signUp unknown field',
      run: () => gql(SIGN_UP, signUpInput({ isAdmin: true })),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'signUp taken username',
      run: () => gql(SIGN_UP, signUpInput({ username: alice.username.toUpperCase() })),
      code: 'CONFLICT',
    },

    {
      name: 'logIn empty',
      run: () => gql(LOG_IN, { i: { login: '', password: '' } }),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'logIn oversized login',
      run: () => gql(LOG_IN, { i: { login: 'a'.repeat(300), password: 'x'.repeat(10) } }),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'logIn 1 MB password',
      run: () => gql(LOG_IN, { i: { login: alice.username, password: 'p'.repeat(1_000_000) } }),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'logIn login with NUL',
      run: () => gql(LOG_IN, { i: { login: NUL, password: 'long enough pw' } }),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'logIn email with NUL',
      run: () => gql(LOG_IN, { i: { login: 'a\u0000@example.com', password: 'long enough pw' } }),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'logIn login lone surrogate',
      run: () =>
        gqlRaw(
          `${stack.gatewayUrl}/graphql`,
          `{"query":${JSON.stringify(LOG_IN)},"variables":{"i":{"login":${LONE},"password":"long enough pw"}}}`,
        ),
      code: 'BAD_USER_INPUT',
    },
    ...INJECTIONS.map((v) => ({
      name: `logIn ${v}`,
      run: () => gql(LOG_IN, { i: { login: v, password: v } }),
      code: 'UNAUTHENTICATED',
    })),
    {
      name: "logIn alice' OR '1'='1",
      run: () => gql(LOG_IN, { i: { login: alice.username, password: "' OR '1'='1" } }),
      code: 'UNAUTHENTICATED',
    },
    {
      name: 'logIn login object',
      run: () => gql(LOG_IN, { i: { login: { $ne: null }, password: 'x' } }),
      code: 'BAD_USER_INPUT',
    },

    {
      name: 'refreshSession empty',
      run: () =>
        gql(`mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }`, {
          t: '',
        }),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'refreshSession junk',
      run: () =>
        gql(`mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }`, {
          t: "'; drop table users.refresh_tokens; --",
        }),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'refreshSession forged',
      run: () =>
        gql(`mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }`, {
          t: `1.${'A'.repeat(43)}`,
        }),
      code: 'UNAUTHENTICATED',
    },
    {
      name: 'refreshSession huge id',
      run: () =>
        gql(`mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }`, {
          t: `9999999999999999999.${'A'.repeat(43)}`,
        }),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'refreshSession 1 MB',
      run: () =>
        gql(`mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }`, {
          t: 'x'.repeat(1_000_000),
        }),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'refreshSession wrong type',
      run: () =>
        gql(`mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }`, {
          t: 42,
        }),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'logOut junk',
      run: () => gql(`mutation($t: String!) { logOut(refreshToken: $t) }`, { t: '<script>' }),
      code: 'BAD_USER_INPUT',
    },

    {
      name: 'updateProfile signed out',
      run: () => gql(UPDATE, { i: { bio: 'x' } }),
      code: 'UNAUTHENTICATED',
    },
    {
      name: 'updateProfile bio of 151',
      run: () => gql(UPDATE, { i: { bio: 'b'.repeat(151) } }, alice.token),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'updateProfile bio of 151 emoji',
      run: () => gql(UPDATE, { i: { bio: emoji(151) } }, alice.token),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'updateProfile bio with NUL',
      run: () => gql(UPDATE, { i: { bio: NUL } }, alice.token),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'updateProfile displayName lone surrogate',
      run: () =>
        gqlRaw(
          `${stack.gatewayUrl}/graphql`,
          `{"query":${JSON.stringify(UPDATE)},"variables":{"i":{"displayName":${LONE}}}}`,
          { token: alice.token },
        ),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'updateProfile wrong type',
      run: () => gql(UPDATE, { i: { bio: ['x'] } }, alice.token),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'updateProfile unknown field',
      run: () => gql(UPDATE, { i: { username: 'hijack' } }, alice.token),
      code: 'BAD_USER_INPUT',
    },

    ...Object.keys({
      'alg none': 1,
      'wrong key': 1,
      expired: 1,
      'wrong audience': 1,
      'HS512 with the right key': 1,
      'not a JWT': 1,
    }).map((k) => ({
      name: `me with ${k} token`,
      run: () => gql(`{ me { id } }`, {}, tokens[k]),
      code: 'UNAUTHENTICATED',
      status: 401,
    })),
    {
      name: 'me with Basic auth',
      run: () => gql(`{ me { id } }`, {}, undefined, { authorization: 'Basic YTpi' }),
      code: 'UNAUTHENTICATED',
      status: 401,
    },
    {
      name: 'me with a 100 kB token (header limit)',
      run: () => gql(`{ me { id } }`, {}, 'x'.repeat(100_000)),
      check: (r: Raw) => expect(r.status).toBe(431),
    },

    ...[...INJECTIONS, '', NUL, emoji(30), 'a'.repeat(10_000)].map((v) => ({
      name: `user(${v.slice(0, 30)})`,
      run: () => gql(`query($u: String!) { user(username: $u) { id } }`, { u: v }),
      check: NOTHING('user'),
    })),
    {
      name: 'user(username) wrong type',
      run: () => gql(`query($u: String!) { user(username: $u) { id } }`, { u: 5 }),
      code: 'BAD_USER_INPUT',
    },
  ]);
});

describe('media and posts (createUpload, completeUpload, createPost, deletePost, post)', () => {
  const upload = (over: Record<string, unknown>) => ({
    i: { filename: 'a.jpg', contentType: 'image/jpeg', byteSize: 1000, ...over },
  });
  table(() => [
    {
      name: 'createUpload signed out',
      run: () => gql(CREATE_UPLOAD, upload({})),
      code: 'UNAUTHENTICATED',
    },
    {
      name: 'createUpload byteSize 0',
      run: () => gql(CREATE_UPLOAD, upload({ byteSize: 0 }), alice.token),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'createUpload byteSize -1',
      run: () => gql(CREATE_UPLOAD, upload({ byteSize: -1 }), alice.token),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'createUpload byteSize 2^31',
      run: () => gql(CREATE_UPLOAD, upload({ byteSize: 2 ** 31 }), alice.token),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'createUpload byteSize 1.5',
      run: () => gql(CREATE_UPLOAD, upload({ byteSize: 1.5 }), alice.token),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'createUpload byteSize "1000"',
      run: () => gql(CREATE_UPLOAD, upload({ byteSize: '1000' }), alice.token),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'createUpload over the image limit',
      run: () => gql(CREATE_UPLOAD, upload({ byteSize: MAX_IMAGE + 1 }), alice.token),
      code: 'PAYLOAD_TOO_LARGE',
    },
    {
      name: 'createUpload text/html',
      run: () => gql(CREATE_UPLOAD, upload({ contentType: 'text/html' }), alice.token),
      code: 'UNSUPPORTED_MEDIA_TYPE',
    },
    {
      name: 'createUpload contentType injection',
      run: () =>
        gql(
          CREATE_UPLOAD,
          upload({ contentType: "image/jpeg'; drop table posts.media; --" }),
          alice.token,
        ),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'createUpload empty filename',
      run: () => gql(CREATE_UPLOAD, upload({ filename: '' }), alice.token),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'createUpload filename of 256',
      run: () => gql(CREATE_UPLOAD, upload({ filename: `${'a'.repeat(252)}.jpg` }), alice.token),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'createUpload filename with NUL',
      run: () => gql(CREATE_UPLOAD, upload({ filename: 'a\u0000.jpg' }), alice.token),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'createUpload altText of 1001',
      run: () => gql(CREATE_UPLOAD, upload({ altText: 'a'.repeat(1001) }), alice.token),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'createUpload altText with NUL',
      run: () => gql(CREATE_UPLOAD, upload({ altText: NUL }), alice.token),
      code: 'BAD_USER_INPUT',
    },

    {
      name: 'completeUpload signed out',
      run: () => gql(COMPLETE, { id: '1' }),
      code: 'UNAUTHENTICATED',
    },
    ...['abc', '-1', '1e3', '0x10', '99999999999999999999999', '', "1'; --"].map((id) => ({
      name: `completeUpload id ${id}`,
      run: () => gql(COMPLETE, { id }, alice.token),
      code: 'BAD_USER_INPUT',
    })),
    {
      name: 'completeUpload unknown id',
      run: () => gql(COMPLETE, { id: '123456789' }, alice.token),
      code: 'NOT_FOUND',
    },
    {
      name: 'completeUpload parts wrong type',
      run: () => gql(COMPLETE, { id: '1', p: [{ partNumber: 'one', etag: 'x' }] }, alice.token),
      code: 'BAD_USER_INPUT',
    },

    {
      name: 'createPost signed out',
      run: () => gql(CREATE_POST, { i: { mediaIds: [aliceMedia] } }),
      code: 'UNAUTHENTICATED',
    },
    {
      name: 'createPost no media',
      run: () => gql(CREATE_POST, { i: { mediaIds: [] } }, alice.token),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'createPost 11 media',
      run: () =>
        gql(
          CREATE_POST,
          { i: { mediaIds: Array.from({ length: 11 }, (_, i) => String(i + 1)) } },
          alice.token,
        ),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'createPost same media twice',
      run: () => gql(CREATE_POST, { i: { mediaIds: [aliceMedia, aliceMedia] } }, alice.token),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'createPost caption of 2,201',
      run: () =>
        gql(CREATE_POST, { i: { caption: 'c'.repeat(2201), mediaIds: [aliceMedia] } }, alice.token),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'createPost caption of 2,201 emoji',
      run: () =>
        gql(CREATE_POST, { i: { caption: emoji(2201), mediaIds: [aliceMedia] } }, alice.token),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'createPost caption of 2,201 combining marks',
      run: () =>
        gql(
          CREATE_POST,
          { i: { caption: `a${'\u0301'.repeat(2201)}`, mediaIds: [aliceMedia] } },
          alice.token,
        ),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'createPost caption with NUL',
      run: () => gql(CREATE_POST, { i: { caption: NUL, mediaIds: [aliceMedia] } }, alice.token),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'createPost caption lone surrogate',
      run: () =>
        gqlRaw(
          `${stack.gatewayUrl}/graphql`,
          `{"query":${JSON.stringify(CREATE_POST)},"variables":{"i":{"caption":${LONE},"mediaIds":["${aliceMedia}"]}}}`,
          { token: alice.token },
        ),
      code: 'BAD_USER_INPUT',
    },
    ...['abc', '-1', '0', '1.5', '99999999999999999999999', '1 OR 1=1'].map((id) => ({
      name: `createPost media id ${id}`,
      run: () => gql(CREATE_POST, { i: { mediaIds: [id] } }, alice.token),
      code: 'BAD_USER_INPUT',
    })),
    {
      name: 'createPost unknown media',
      run: () => gql(CREATE_POST, { i: { mediaIds: ['987654321'] } }, alice.token),
      code: 'NOT_FOUND',
    },
    {
      name: 'createPost mediaIds a string',
      run: () => gql(CREATE_POST, { i: { mediaIds: { $in: [1] } } }, alice.token),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'createPost one good one unknown',
      run: () => gql(CREATE_POST, { i: { mediaIds: [aliceMedia, '987654321'] } }, alice.token),
      code: 'NOT_FOUND',
    },
    {
      name: "createPost with bob's media",
      run: () => gql(CREATE_POST, { i: { mediaIds: [aliceMedia, bobMedia] } }, alice.token),
      code: 'FORBIDDEN',
    },

    {
      name: 'deletePost signed out',
      run: () => gql(DELETE_POST, { id: alicePost }),
      code: 'UNAUTHENTICATED',
    },
    {
      name: 'deletePost malformed',
      run: () => gql(DELETE_POST, { id: '1; delete from posts.posts' }, alice.token),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'deletePost unknown',
      run: () => gql(DELETE_POST, { id: '987654321' }, alice.token),
      code: 'NOT_FOUND',
    },
    {
      name: "deletePost someone else's",
      run: () => gql(DELETE_POST, { id: alicePost }, bob.token),
      code: 'FORBIDDEN',
    },
    {
      name: 'deletePost id wrong type',
      run: () => gql(DELETE_POST, { id: { id: 1 } }, alice.token),
      code: 'BAD_USER_INPUT',
    },

    ...['abc', '', '-1', '99999999999999999999999', ...INJECTIONS].map((id) => ({
      name: `post(${id})`,
      run: () => gql(`query($id: ID!) { post(id: $id) { id } }`, { id }),
      check: NOTHING('post'),
    })),
    {
      name: 'post(id) 1.5 float',
      run: () => gql(`query($id: ID!) { post(id: $id) { id } }`, { id: 1.5 }),
      code: 'BAD_USER_INPUT',
    },
  ]);
});

describe('post edits, avatars and media (updatePost, setAvatar, media)', () => {
  const UPDATE_POST = `mutation($i: UpdatePostInput!) { updatePost(input: $i) { id } }`;
  const SET_AVATAR = `mutation($m: ID) { setAvatar(mediaId: $m) { id } }`;
  const MEDIA = `query($id: ID!) { media(id: $id) { id } }`;
  let aliceVideo: string;
  let aliceProcessing: string;
  beforeAll(async () => {
    const insert = (type: string, status: string) =>
      stack.iso.query<{ id: string }>(
        `INSERT INTO posts.media (owner_id, type, status, mime_type, storage_key)
         VALUES ($1, $2, $3, 'video/mp4', 'm/x/video.mp4') RETURNING id::text`,
        [alice.id, type, status],
      );
    aliceVideo = (await insert('VIDEO', 'READY'))[0]!.id;
    aliceProcessing = (await insert('IMAGE', 'PROCESSING'))[0]!.id;
  });
  /** The media of alice's post (attached: not an avatar candidate). */
  const attached = async () =>
    (
      await stack.iso.query<{ id: string }>(
        'SELECT media_id::text AS id FROM posts.post_media WHERE post_id = $1',
        [alicePost],
      )
    )[0]!.id;
  const edit = (over: Record<string, unknown>, token?: string) =>
    gql(UPDATE_POST, { i: { id: alicePost, caption: 'edited', ...over } }, token);

  table(() => [
    { name: 'updatePost signed out', run: () => edit({}), code: 'UNAUTHENTICATED' },
    ...['abc', '-1', '0', '1.5', '99999999999999999999999', ...INJECTIONS].map((id) => ({
      name: `updatePost id ${id}`,
      run: () => edit({ id }, alice.token),
      code: 'BAD_USER_INPUT',
    })),
    {
      name: 'updatePost unknown',
      run: () => edit({ id: '987654321' }, alice.token),
      code: 'NOT_FOUND',
    },
    { name: "updatePost someone else's", run: () => edit({}, bob.token), code: 'FORBIDDEN' },
    {
      name: 'updatePost id wrong type',
      run: () => edit({ id: { id: 1 } }, alice.token),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'updatePost no id',
      run: () => gql(UPDATE_POST, { i: { caption: 'x' } }, alice.token),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'updatePost caption of 2,201',
      run: () => edit({ caption: 'c'.repeat(2201) }, alice.token),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'updatePost caption of 2,201 emoji',
      run: () => edit({ caption: emoji(2201) }, alice.token),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'updatePost caption with NUL',
      run: () => edit({ caption: NUL }, alice.token),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'updatePost caption a number',
      run: () => edit({ caption: 42 }, alice.token),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'updatePost caption lone surrogate',
      run: () =>
        gqlRaw(
          `${stack.gatewayUrl}/graphql`,
          `{"query":${JSON.stringify(UPDATE_POST)},"variables":{"i":{"id":"${alicePost}","caption":${LONE}}}}`,
          { token: alice.token },
        ),
      code: 'BAD_USER_INPUT',
    },

    {
      name: 'setAvatar signed out',
      run: () => gql(SET_AVATAR, { m: aliceMedia }),
      code: 'UNAUTHENTICATED',
    },
    {
      name: 'setAvatar null signed out',
      run: () => gql(SET_AVATAR, { m: null }),
      code: 'UNAUTHENTICATED',
    },
    ...['abc', '-1', '0', '1.5', '99999999999999999999999', '', ...INJECTIONS].map((m) => ({
      name: `setAvatar mediaId ${m}`,
      run: () => gql(SET_AVATAR, { m }, alice.token),
      code: 'BAD_USER_INPUT',
    })),
    {
      name: 'setAvatar mediaId wrong type',
      run: () => gql(SET_AVATAR, { m: { $in: [1] } }, alice.token),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'setAvatar unknown media',
      run: () => gql(SET_AVATAR, { m: '987654321' }, alice.token),
      code: 'NOT_FOUND',
    },
    {
      name: "setAvatar bob's media",
      run: () => gql(SET_AVATAR, { m: bobMedia }, alice.token),
      code: 'FORBIDDEN',
    },
    {
      name: 'setAvatar media in a post',
      run: async () => gql(SET_AVATAR, { m: await attached() }, alice.token),
      code: 'CONFLICT',
    },
    {
      name: 'setAvatar a video',
      run: () => gql(SET_AVATAR, { m: aliceVideo }, alice.token),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'setAvatar still processing',
      run: () => gql(SET_AVATAR, { m: aliceProcessing }, alice.token),
      code: 'BAD_USER_INPUT',
    },

    ...['abc', '', '-1', '99999999999999999999999', '987654321', ...INJECTIONS].map((id) => ({
      name: `media(${id})`,
      run: () => gql(MEDIA, { id }, alice.token),
      check: NOTHING('media'),
    })),
    {
      name: 'media signed out',
      run: () => gql(MEDIA, { id: aliceMedia }),
      check: NOTHING('media'),
    },
    {
      name: "media of bob's",
      run: () => gql(MEDIA, { id: bobMedia }, alice.token),
      check: NOTHING('media'),
    },
    {
      name: 'media still processing',
      run: () => gql(MEDIA, { id: aliceProcessing }, alice.token),
      check: NOTHING('media'),
    },
    {
      name: 'media(id) 1.5 float',
      run: () => gql(MEDIA, { id: 1.5 }, alice.token),
      code: 'BAD_USER_INPUT',
    },
  ]);
});

describe('follows, feed and connections (follow, unfollow, feed, User.posts/followers/following)', () => {
  table(() => [
    ...[
      ['follow', FOLLOW],
      ['unfollow', UNFOLLOW],
    ].flatMap(([name, q]) => [
      { name: `${name} signed out`, run: () => gql(q!, { id: bob.id }), code: 'UNAUTHENTICATED' },
      {
        name: `${name} malformed id`,
        run: () => gql(q!, { id: 'abc' }, alice.token),
        code: 'BAD_USER_INPUT',
      },
      {
        name: `${name} injection id`,
        run: () => gql(q!, { id: "1' OR '1'='1" }, alice.token),
        code: 'BAD_USER_INPUT',
      },
      {
        name: `${name} huge id`,
        run: () => gql(q!, { id: '9'.repeat(40) }, alice.token),
        code: 'BAD_USER_INPUT',
      },
      {
        name: `${name} self`,
        run: () => gql(q!, { id: alice.id }, alice.token),
        code: 'BAD_USER_INPUT',
      },
      {
        name: `${name} unknown user`,
        run: () => gql(q!, { id: '987654321' }, alice.token),
        code: 'NOT_FOUND',
      },
      {
        name: `${name} id wrong type`,
        run: () => gql(q!, { id: [bob.id] }, alice.token),
        code: 'BAD_USER_INPUT',
      },
    ]),
    { name: 'feed signed out', run: () => gql(FEED, {}), code: 'UNAUTHENTICATED' },
    ...[0, -1, 101, 2 ** 31].map((f) => ({
      name: `feed first ${f}`,
      run: () => gql(FEED, { f }, alice.token),
      code: 'BAD_USER_INPUT',
    })),
    {
      name: 'feed first "10"',
      run: () => gql(FEED, { f: '10' }, alice.token),
      code: 'BAD_USER_INPUT',
    },
    ...Object.entries(cursors()).map(([k, a]) => ({
      name: `feed cursor ${k}`,
      run: () => gql(FEED, { a }, alice.token),
      code: 'BAD_USER_INPUT',
    })),
    ...['posts', 'followers', 'following'].flatMap((field) => [
      {
        name: `User.${field} first 0`,
        run: () => gql(USER_CONN(field), { u: alice.username, f: 0 }),
        code: 'BAD_USER_INPUT',
      },
      {
        name: `User.${field} first 101`,
        run: () => gql(USER_CONN(field), { u: alice.username, f: 101 }),
        code: 'BAD_USER_INPUT',
      },
      ...Object.entries(cursors()).map(([k, a]) => ({
        name: `User.${field} cursor ${k}`,
        run: () => gql(USER_CONN(field), { u: alice.username, a }),
        code: 'BAD_USER_INPUT',
      })),
    ]),
    ...('search' in SUBGRAPHS
      ? [
          { name: 'searchPosts empty', run: () => gql(SEARCH, { q: '' }), code: 'BAD_USER_INPUT' },
          {
            name: 'searchPosts blank',
            run: () => gql(SEARCH, { q: '   ' }),
            code: 'BAD_USER_INPUT',
          },
          {
            name: 'searchPosts zero-width only',
            run: () => gql(SEARCH, { q: '\u200B\u200D' }),
            check: (r: Raw) => expect(r.json?.data?.searchPosts, r.text).toEqual({ nodes: [] }),
          },
          {
            name: 'searchPosts of 201',
            run: () => gql(SEARCH, { q: 'q'.repeat(201) }),
            code: 'BAD_USER_INPUT',
          },
          {
            name: 'searchPosts of 201 emoji',
            run: () => gql(SEARCH, { q: emoji(201) }),
            code: 'BAD_USER_INPUT',
          },
          {
            name: 'searchPosts bare #',
            run: () => gql(SEARCH, { q: '#' }),
            code: 'BAD_USER_INPUT',
          },
          {
            name: 'searchPosts #<script>',
            run: () => gql(SEARCH, { q: '#<script>' }),
            code: 'BAD_USER_INPUT',
          },
          {
            name: 'searchPosts first 0',
            run: () => gql(SEARCH, { q: 'hello', f: 0 }),
            code: 'BAD_USER_INPUT',
          },
          ...Object.entries(cursors()).map(([k, a]) => ({
            name: `searchPosts cursor ${k}`,
            run: () => gql(SEARCH, { q: 'hello', a }),
            code: 'BAD_USER_INPUT',
          })),
          ...Object.entries(cursors()).map(([k, a]) => ({
            name: `searchPosts #tag cursor ${k}`,
            run: () => gql(SEARCH, { q: '#world', a }),
            code: 'BAD_USER_INPUT',
          })),
          ...Object.entries({ ...cursors(), ...searchCursors() }).map(([k, a]) => ({
            name: `hashtag.posts cursor ${k}`,
            run: () => gql(HASHTAG_POSTS, { n: 'world', a }),
            code: 'BAD_USER_INPUT',
          })),
          ...Object.entries(searchCursors()).flatMap(([k, a]) => [
            {
              name: `searchPosts cursor ${k}`,
              run: () => gql(SEARCH, { q: 'hello', a }),
              code: 'BAD_USER_INPUT',
            },
            {
              name: `searchPosts #tag cursor ${k}`,
              run: () => gql(SEARCH, { q: '#world', a }),
              code: 'BAD_USER_INPUT',
            },
          ]),
          ...INJECTIONS.map((q) => ({
            name: `searchPosts ${q}`,
            run: () => gql(SEARCH, { q }),
            check: (r: Raw) => expect(r.json?.errors, r.text).toBeUndefined(),
          })),
          {
            name: 'searchPosts NUL',
            run: () => gql(SEARCH, { q: NUL }),
            check: (r: Raw) => expect(r.json?.errors, r.text).toBeUndefined(),
          },
          { name: 'hashtag empty', run: () => gql(HASHTAG, { n: '' }), code: 'BAD_USER_INPUT' },
          {
            name: 'hashtag <script>',
            run: () => gql(HASHTAG, { n: '<script>' }),
            code: 'BAD_USER_INPUT',
          },
          {
            name: "hashtag '; drop",
            run: () => gql(HASHTAG, { n: "'; drop table search.posts; --" }),
            code: 'BAD_USER_INPUT',
          },
          { name: 'hashtag NUL', run: () => gql(HASHTAG, { n: NUL }), code: 'BAD_USER_INPUT' },
          {
            name: 'hashtag of 201',
            run: () => gql(HASHTAG, { n: 'h'.repeat(201) }),
            code: 'BAD_USER_INPUT',
          },
        ]
      : []),
  ]);
});

describe('people (updateProfile website, userById, searchUsers)', () => {
  const BY_ID = `query($id: ID!) { userById(id: $id) { id } }`;
  const PEOPLE = `query($q: String!, $f: Int, $a: String) { searchUsers(query: $q, first: $f, after: $a) { nodes { id } } }`;
  const EMPTY = (r: Raw) => expect(r.json?.data?.searchUsers, r.text).toEqual({ nodes: [] });
  /** Well-formed people-search cursors ([tier, followers, id]) that no page produces. */
  const peopleCursors = {
    'tier 3': b64('[3,0,"1"]'),
    'negative followers': b64('[1,-1,"1"]'),
    'followers past int4': b64('[1,2147483648,"1"]'),
    'followers 1e39': b64('[1,1e39,"1"]'),
    'id past int8': b64('[0,0,"9223372036854775808"]'),
    'id as a number': b64('[0,0,1]'),
  };
  table(() => [
    ...[
      'javascript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'ftp://files.example/',
      'https://user:pw@example.com/',
      'example.com',
      'https://',
      `https://example.com/${'a'.repeat(181)}`,
      `https://example.com/${' x'.repeat(90)}`,
      NUL,
      ...INJECTIONS,
    ].map((website) => ({
      name: `updateProfile website ${website.slice(0, 30)}`,
      run: () => gql(UPDATE, { i: { website } }, alice.token),
      code: 'BAD_USER_INPUT',
      check: (r: Raw) => expect(r.json?.errors?.[0]?.extensions?.field).toBe('website'),
    })),
    {
      name: 'updateProfile website wrong type',
      run: () => gql(UPDATE, { i: { website: 42 } }, alice.token),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'updateProfile website lone surrogate',
      run: () =>
        gqlRaw(
          `${stack.gatewayUrl}/graphql`,
          `{"query":${JSON.stringify(UPDATE)},"variables":{"i":{"website":"https://a.example/${LONE.slice(1)}}}}`,
          { token: alice.token },
        ),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'updateProfile website signed out',
      run: () => gql(UPDATE, { i: { website: 'https://example.com' } }),
      code: 'UNAUTHENTICATED',
    },

    ...['', '0', '-1', '01', '1.5', '9223372036854775808', NUL, emoji(3), ...INJECTIONS].map(
      (id) => ({
        name: `userById(${id.slice(0, 30)})`,
        run: () => gql(BY_ID, { id }),
        check: NOTHING('userById'),
      }),
    ),
    {
      name: 'userById wrong type',
      run: () => gql(BY_ID, { id: { $gt: 0 } }),
      code: 'BAD_USER_INPUT',
    },

    { name: 'searchUsers empty', run: () => gql(PEOPLE, { q: '' }), code: 'BAD_USER_INPUT' },
    { name: 'searchUsers blank', run: () => gql(PEOPLE, { q: ' \t ' }), code: 'BAD_USER_INPUT' },
    {
      name: 'searchUsers of 201',
      run: () => gql(PEOPLE, { q: 'q'.repeat(201) }),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'searchUsers of 201 emoji',
      run: () => gql(PEOPLE, { q: emoji(201) }),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'searchUsers first 0',
      run: () => gql(PEOPLE, { q: 'alice', f: 0 }),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'searchUsers first 101',
      run: () => gql(PEOPLE, { q: 'alice', f: 101 }),
      code: 'BAD_USER_INPUT',
    },
    {
      name: 'searchUsers wrong type',
      run: () => gql(PEOPLE, { q: ['alice'] }),
      code: 'BAD_USER_INPUT',
    },
    ...Object.entries({ ...cursors(), ...searchCursors(), ...peopleCursors }).map(([k, a]) => ({
      name: `searchUsers cursor ${k}`,
      run: () => gql(PEOPLE, { q: 'alice', a }),
      code: 'BAD_USER_INPUT',
    })),
    { name: 'searchUsers bare @', run: () => gql(PEOPLE, { q: '@' }), check: EMPTY },
    { name: 'searchUsers @@@ !!!', run: () => gql(PEOPLE, { q: '@@@ !!!' }), check: EMPTY },
    {
      name: 'searchUsers zero-width only',
      run: () => gql(PEOPLE, { q: '\u200B\u200D' }),
      check: EMPTY,
    },
    ...[...INJECTIONS, NUL, RTL, ZWJ, '%', '_%_', '\\'].map((q) => ({
      name: `searchUsers ${q.slice(0, 30)}`,
      run: () => gql(PEOPLE, { q }),
      check: (r: Raw) => expect(r.json?.errors, r.text).toBeUndefined(),
    })),
  ]);
});

describe('follow requests, blocks and private accounts (approveFollowRequest, declineFollowRequest, removeFollower, block, unblock, setAccountPrivacy, followRequests, blockedUsers)', () => {
  const PAIR = (field: string) =>
    `mutation($id: ID!) { ${field}(userId: $id) { user { id } viewer { id } } }`;
  const PRIVACY = `mutation($p: Boolean!) { setAccountPrivacy(isPrivate: $p) { id isPrivate } }`;
  const VIEWER_CONN = (field: string) =>
    `query($f: Int, $a: String) { ${field}(first: $f, after: $a) { nodes { id } } }`;
  // carol has blocked dave: to dave she does not exist; carol must unblock before following.
  let carol: Account;
  let dave: Account;
  beforeAll(async () => {
    carol = await signUp(stack, 'carol');
    dave = await signUp(stack, 'dave');
    await block(stack, carol, dave);
  });

  table(() => [
    ...[
      'approveFollowRequest',
      'declineFollowRequest',
      'removeFollower',
      'block',
      'unblock',
    ].flatMap((name) => [
      {
        name: `${name} signed out`,
        run: () => gql(PAIR(name), { id: bob.id }),
        code: 'UNAUTHENTICATED',
      },
      ...['abc', '', '-1', '0', '9'.repeat(40), ...INJECTIONS].map((id) => ({
        name: `${name} malformed id ${id.slice(0, 20)}`,
        run: () => gql(PAIR(name), { id }, alice.token),
        code: 'BAD_USER_INPUT',
      })),
      {
        name: `${name} id wrong type`,
        run: () => gql(PAIR(name), { id: [bob.id] }, alice.token),
        code: 'BAD_USER_INPUT',
      },
      {
        name: `${name} self`,
        run: () => gql(PAIR(name), { id: alice.id }, alice.token),
        code: 'BAD_USER_INPUT',
      },
      {
        name: `${name} unknown user`,
        run: () => gql(PAIR(name), { id: '987654321' }, alice.token),
        code: 'NOT_FOUND',
      },
    ]),
    ...['approveFollowRequest', 'declineFollowRequest'].map((name) => ({
      name: `${name} without a pending request`,
      run: () => gql(PAIR(name), { id: bob.id }, alice.token),
      code: 'NOT_FOUND',
    })),
    ...['follow', 'unfollow', 'removeFollower', 'block', 'unblock', 'approveFollowRequest'].map(
      (name) => ({
        name: `${name} by a user the target has blocked`,
        run: () => gql(PAIR(name), { id: carol.id }, dave.token),
        code: 'NOT_FOUND',
      }),
    ),
    {
      name: 'follow someone the viewer has blocked',
      run: () => gql(PAIR('follow'), { id: dave.id }, carol.token),
      code: 'FORBIDDEN',
    },
    {
      name: 'setAccountPrivacy signed out',
      run: () => gql(PRIVACY, { p: true }),
      code: 'UNAUTHENTICATED',
    },
    ...[null, 'yes', 1, [true]].map((p) => ({
      name: `setAccountPrivacy isPrivate ${JSON.stringify(p)}`,
      run: () => gql(PRIVACY, { p }, alice.token),
      code: 'BAD_USER_INPUT',
    })),
    ...['followRequests', 'blockedUsers'].flatMap((field) => [
      {
        name: `${field} signed out`,
        run: () => gql(VIEWER_CONN(field), {}),
        code: 'UNAUTHENTICATED',
      },
      ...[0, -1, 101].map((f) => ({
        name: `${field} first ${f}`,
        run: () => gql(VIEWER_CONN(field), { f }, alice.token),
        code: 'BAD_USER_INPUT',
      })),
      ...Object.entries(cursors()).map(([k, a]) => ({
        name: `${field} cursor ${k}`,
        run: () => gql(VIEWER_CONN(field), { a }, alice.token),
        code: 'BAD_USER_INPUT',
      })),
    ]),
  ]);
});

describe('likes and comments (likePost, unlikePost, addComment, deleteComment, comment, Post.likedBy/comments, Comment.replies)', () => {
  const LIKE = (field: string) =>
    `mutation($id: ID!) { ${field}(postId: $id) { post { id likeCount viewerHasLiked } } }`;
  const ADD = `mutation($i: AddCommentInput!) { addComment(input: $i) { comment { id } } }`;
  const DELETE = `mutation($id: ID!) { deleteComment(id: $id) { deletedCommentId } }`;
  const COMMENT = `query($id: ID!) { comment(id: $id) { id text } }`;
  const COMMENTS = `query($id: ID!, $f: Int, $a: String, $l: Int, $b: String) { post(id: $id) { comments(first: $f, after: $a, last: $l, before: $b) { nodes { id } } } }`;
  const REPLIES = `query($id: ID!, $f: Int, $a: String, $l: Int, $b: String) { comment(id: $id) { replies(first: $f, after: $a, last: $l, before: $b) { nodes { id } } } }`;
  const LIKED_BY = `query($id: ID!, $f: Int, $a: String) { post(id: $id) { likedBy(first: $f, after: $a) { nodes { id } } } }`;
  // erin has blocked frank: erin's post and comments do not exist for frank. bobPost holds a
  // comment by alice (aliceComment) with a reply by bob (bobReply); deletedPost is gone.
  let erin: Account;
  let frank: Account;
  let erinPost: string;
  let erinComment: string;
  let frankPost: string;
  let bobPost: string;
  let aliceComment: string;
  let bobReply: string;
  let deletedPost: string;
  const comment = async (a: Account, postId: string, text: string, replyToId?: string) => {
    const r = await gqlRaw(
      `${stack.gatewayUrl}/graphql`,
      gqlBody(ADD, { i: { postId, text, ...(replyToId ? { replyToId } : {}) } }),
      { token: a.token },
    );
    const id = (r.json?.data as { addComment?: { comment: { id: string } } } | undefined)
      ?.addComment?.comment.id;
    if (!id) throw new Error(`addComment failed: ${r.text}`);
    return id;
  };
  beforeAll(async () => {
    erin = await signUp(stack, 'erin');
    frank = await signUp(stack, 'frank');
    erinPost = await createPost(stack, erin, 'erin');
    erinComment = await comment(erin, erinPost, 'mine');
    frankPost = await createPost(stack, frank, 'frank');
    await block(stack, erin, frank);
    bobPost = await createPost(stack, bob, 'bob');
    aliceComment = await comment(alice, bobPost, 'hi bob');
    bobReply = await comment(bob, bobPost, 'hi alice', aliceComment);
    deletedPost = await createPost(stack, bob, 'gone');
    await gql(DELETE_POST, { id: deletedPost }, bob.token);
    // The engagement subgraph's post.deleted consumer writes its tombstone asynchronously:
    // wait for it, so it cannot land in the middle of a row.
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const rows = await stack.iso.query(
        `SELECT 1 FROM engagement.deleted_posts WHERE post_id = $1`,
        [deletedPost],
      );
      if (rows.length) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  table(() => [
    ...['likePost', 'unlikePost'].flatMap((name) => [
      {
        name: `${name} signed out`,
        run: () => gql(LIKE(name), { id: alicePost }),
        code: 'UNAUTHENTICATED',
      },
      ...['abc', '', '-1', '0', '9'.repeat(40), ...INJECTIONS].map((id) => ({
        name: `${name} malformed postId ${id.slice(0, 20)}`,
        run: () => gql(LIKE(name), { id }, alice.token),
        code: 'BAD_USER_INPUT',
      })),
      {
        name: `${name} postId wrong type`,
        run: () => gql(LIKE(name), { id: [alicePost] }, alice.token),
        code: 'BAD_USER_INPUT',
      },
      {
        name: `${name} unknown post`,
        run: () => gql(LIKE(name), { id: '987654321' }, alice.token),
        code: 'NOT_FOUND',
      },
      {
        name: `${name} deleted post`,
        run: () => gql(LIKE(name), { id: deletedPost }, alice.token),
        code: 'NOT_FOUND',
      },
      {
        name: `${name} on the post of a user who blocked the viewer`,
        run: () => gql(LIKE(name), { id: erinPost }, frank.token),
        code: 'NOT_FOUND',
      },
      {
        name: `${name} on the post of a user the viewer blocked`,
        run: () => gql(LIKE(name), { id: frankPost }, erin.token),
        code: 'NOT_FOUND',
      },
    ]),
    {
      name: 'unlikePost of a post not liked (idempotent: nothing written)',
      run: () => gql(LIKE('unlikePost'), { id: alicePost }, bob.token),
      check: (r: Raw) => {
        expect(r.json?.errors, r.text).toBeUndefined();
        expect(r.json?.data?.unlikePost, r.text).toMatchObject({
          post: { viewerHasLiked: false },
        });
      },
    },
    {
      name: 'addComment signed out',
      run: () => gql(ADD, { i: { postId: alicePost, text: 'hi' } }),
      code: 'UNAUTHENTICATED',
    },
    ...['abc', '', '0', '9'.repeat(40), ...INJECTIONS].map((postId) => ({
      name: `addComment malformed postId ${postId.slice(0, 20)}`,
      run: () => gql(ADD, { i: { postId, text: 'hi' } }, alice.token),
      code: 'BAD_USER_INPUT',
    })),
    ...Object.entries({
      empty: '',
      blank: ' \n\t ',
      'too long': 'x'.repeat(2201),
      'too many emoji': emoji(2201),
      NUL,
      bell: 'ring \u0007',
      escape: 'a\u001Bb',
      DEL: 'a\u007Fb',
    }).map(([k, text]) => ({
      name: `addComment text ${k}`,
      run: () => gql(ADD, { i: { postId: alicePost, text } }, alice.token),
      code: 'BAD_USER_INPUT',
      check: (r: Raw) => expect(r.json?.errors?.[0]?.extensions?.field, r.text).toBe('text'),
    })),
    ...[null, 42, ['hi'], { t: 'hi' }].map((text) => ({
      name: `addComment text wrong type ${JSON.stringify(text)}`,
      run: () => gql(ADD, { i: { postId: alicePost, text } }, alice.token),
      code: 'BAD_USER_INPUT',
    })),
    {
      name: 'addComment text with a lone surrogate',
      run: () =>
        gqlRaw(
          `${stack.gatewayUrl}/graphql`,
          `{"query":${JSON.stringify(ADD)},"variables":{"i":{"postId":"${alicePost}","text":${LONE}}}}`,
          { token: alice.token },
        ),
      code: 'BAD_USER_INPUT',
    },
    ...Object.entries({
      malformed: (): string => 'abc',
      injection: (): string => INJECTIONS[0]!,
      unknown: (): string => '987654321',
      'a reply (one level only)': (): string => bobReply,
      'a comment of another post': (): string => erinComment,
    }).map(([k, replyToId]) => ({
      name: `addComment replyToId ${k}`,
      run: () =>
        gql(ADD, { i: { postId: bobPost, text: 'reply', replyToId: replyToId() } }, alice.token),
      code: 'BAD_USER_INPUT',
      check: (r: Raw) => expect(r.json?.errors?.[0]?.extensions?.field, r.text).toBe('replyToId'),
    })),
    {
      name: 'addComment unknown post',
      run: () => gql(ADD, { i: { postId: '987654321', text: 'hi' } }, alice.token),
      code: 'NOT_FOUND',
    },
    {
      name: 'addComment deleted post',
      run: () => gql(ADD, { i: { postId: deletedPost, text: 'hi' } }, alice.token),
      code: 'NOT_FOUND',
    },
    {
      name: 'addComment on the post of a user who blocked the viewer',
      run: () => gql(ADD, { i: { postId: erinPost, text: 'hi' } }, frank.token),
      code: 'NOT_FOUND',
    },
    {
      name: 'deleteComment signed out',
      run: () => gql(DELETE, { id: aliceComment }),
      code: 'UNAUTHENTICATED',
    },
    ...['abc', '', '-1', '9'.repeat(40), ...INJECTIONS].map((id) => ({
      name: `deleteComment malformed id ${id.slice(0, 20)}`,
      run: () => gql(DELETE, { id }, alice.token),
      code: 'BAD_USER_INPUT',
    })),
    {
      name: 'deleteComment unknown',
      run: () => gql(DELETE, { id: '987654321' }, alice.token),
      code: 'NOT_FOUND',
    },
    {
      name: "deleteComment someone else's comment on someone else's post",
      run: () => gql(DELETE, { id: bobReply }, alice.token),
      code: 'FORBIDDEN',
    },
    {
      name: 'deleteComment on the post of a user who blocked the viewer',
      run: () => gql(DELETE, { id: erinComment }, frank.token),
      code: 'NOT_FOUND',
    },
    ...['abc', '', '987654321', INJECTIONS[0]!].map((id) => ({
      name: `comment ${id.slice(0, 20) || 'empty'} is null`,
      run: () => gql(COMMENT, { id }, alice.token),
      check: NOTHING('comment'),
    })),
    {
      name: 'comment on the post of a user who blocked the viewer is null',
      run: () => gql(COMMENT, { id: erinComment }, frank.token),
      check: NOTHING('comment'),
    },
    ...[
      ['Post.comments', COMMENTS, () => bobPost],
      ['Comment.replies', REPLIES, () => aliceComment],
    ].flatMap(([field, query, id]) => {
      const q = query as string;
      const idOf = id as () => string;
      return [
        ...[0, -1, 101].flatMap((n) => [
          {
            name: `${field as string} first ${n}`,
            run: () => gql(q, { id: idOf(), f: n }),
            code: 'BAD_USER_INPUT',
          },
          {
            name: `${field as string} last ${n}`,
            run: () => gql(q, { id: idOf(), l: n }),
            code: 'BAD_USER_INPUT',
          },
        ]),
        {
          name: `${field as string} first and last together`,
          run: () => gql(q, { id: idOf(), f: 2, l: 2 }),
          code: 'BAD_USER_INPUT',
        },
        ...Object.entries(cursors()).flatMap(([k, c]) => [
          {
            name: `${field as string} after ${k}`,
            run: () => gql(q, { id: idOf(), a: c }),
            code: 'BAD_USER_INPUT',
          },
          {
            name: `${field as string} before ${k}`,
            run: () => gql(q, { id: idOf(), b: c }),
            code: 'BAD_USER_INPUT',
          },
        ]),
      ];
    }),
    ...[0, -1, 101].map((f) => ({
      name: `Post.likedBy first ${f}`,
      run: () => gql(LIKED_BY, { id: bobPost, f }),
      code: 'BAD_USER_INPUT',
    })),
    ...Object.entries(cursors()).map(([k, a]) => ({
      name: `Post.likedBy cursor ${k}`,
      run: () => gql(LIKED_BY, { id: bobPost, a }),
      code: 'BAD_USER_INPUT',
    })),
  ]);
});

describe('live updates (createLiveTicket, GET /v1/live)', () => {
  const TICKET = `mutation { createLiveTicket { ticket expiresAt } }`;
  const live = (query: string, headers: Record<string, string> = {}) =>
    raw(`${stack.gatewayUrl}/v1/live${query}`, {
      headers: { accept: 'text/event-stream', ...headers },
    });
  const ticketFor = async (account: Account) => {
    const r = await gql(TICKET, {}, account.token);
    return (r.json?.data?.createLiveTicket as { ticket: string }).ticket;
  };
  const unauthenticated = { code: 'UNAUTHENTICATED', status: 401 };
  table(() => [
    { name: 'createLiveTicket signed out', run: () => gql(TICKET), code: 'UNAUTHENTICATED' },
    ...['expired', 'alg none', 'wrong key'].map((kind) => ({
      name: `createLiveTicket ${kind} token`,
      run: () => gql(TICKET, {}, tokens[kind]),
      code: 'UNAUTHENTICATED',
    })),
    { name: 'GET /v1/live no ticket, no token', run: () => live(''), ...unauthenticated },
    { name: 'GET /v1/live empty ticket', run: () => live('?ticket='), ...unauthenticated },
    {
      name: 'GET /v1/live two tickets',
      run: () => live('?ticket=a.b&ticket=c.d'),
      ...unauthenticated,
    },
    {
      name: 'GET /v1/live huge ticket',
      run: () => live(`?ticket=${'a'.repeat(8000)}.b`),
      ...unauthenticated,
    },
    ...INJECTIONS.map((s) => ({
      name: `GET /v1/live ticket ${s}`,
      run: () => live(`?ticket=${encodeURIComponent(s)}`),
      ...unauthenticated,
    })),
    {
      name: 'GET /v1/live ticket with its payload changed',
      run: async () => {
        const [, sig] = (await ticketFor(alice)).split('.');
        const body = b64(JSON.stringify({ u: bob.id, s: '1', j: 'x', e: Date.now() + 30_000 }));
        return live(`?ticket=${body}.${sig}`);
      },
      ...unauthenticated,
    },
    {
      name: 'GET /v1/live a signed viewer context as the ticket (another purpose)',
      run: () =>
        live(
          `?ticket=${signViewerContext(stack.cfg.INTERNAL_SIGNING_SECRET, {
            userId: alice.id,
            sessionId: '1',
            ip: '127.0.0.1',
            requestId: 'x',
          })}`,
        ),
      ...unauthenticated,
    },
    {
      name: 'GET /v1/live expired ticket',
      run: () =>
        live(
          `?ticket=${signLiveTicket(stack.cfg.INTERNAL_SIGNING_SECRET, { userId: alice.id, sessionId: '1' }, Date.now() - 60_000).ticket}`,
        ),
      ...unauthenticated,
    },
    {
      name: 'GET /v1/live reused ticket',
      run: async () => {
        const t = await ticketFor(alice);
        const first = await openSse(`${stack.gatewayUrl}/v1/live?ticket=${t}`);
        expect(first.status).toBe(200);
        first.close();
        return live(`?ticket=${t}`);
      },
      ...unauthenticated,
    },
    ...Object.entries(tokens).map(([kind, token]) => ({
      name: `GET /v1/live ${kind} bearer token`,
      run: () => live('', { authorization: `Bearer ${token}` }),
      ...unauthenticated,
    })),
    {
      name: 'GET /v1/live Basic authorization',
      run: () => live('', { authorization: 'Basic YTpi' }),
      ...unauthenticated,
    },
  ]);
});

describe('notifications (notifications, Notification.actors, unreadNotificationCount, markNotificationsRead)', () => {
  const NOTIFICATIONS = `query($f: Int, $a: String) { notifications(first: $f, after: $a) { edges { cursor node { id } } } }`;
  const ACTORS = `query($n: Int) { notifications { edges { node { id actors(first: $n) { id } } } } }`;
  const UNREAD = `{ unreadNotificationCount }`;
  const MARK = `mutation($u: DateTime) { markNotificationsRead(upTo: $u) { notifications { id } unreadNotificationCount } }`;
  // gina has one unread notification (hal follows her): every row leaves it unread. Read state
  // is checked here rather than in WRITE_TABLES, which the consumers write to asynchronously.
  let gina: Account;
  const unread = async () => {
    const r = await gql(UNREAD, {}, gina.token);
    return (r.json?.data as { unreadNotificationCount?: number } | undefined)
      ?.unreadNotificationCount;
  };
  const stillUnread = async () => expect(await unread()).toBe(1);
  beforeAll(async () => {
    gina = await signUp(stack, 'gina');
    await follow(stack, await signUp(stack, 'hal'), gina);
    const deadline = Date.now() + 15_000;
    while ((await unread()) !== 1 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    await stillUnread();
  });

  table(() => [
    {
      name: 'notifications signed out',
      run: () => gql(NOTIFICATIONS, {}),
      code: 'UNAUTHENTICATED',
    },
    {
      name: 'unreadNotificationCount signed out',
      run: () => gql(UNREAD, {}),
      code: 'UNAUTHENTICATED',
    },
    { name: 'markNotificationsRead signed out', run: () => gql(MARK, {}), code: 'UNAUTHENTICATED' },
    ...[0, -1, 101].map((f) => ({
      name: `notifications first ${f}`,
      run: () => gql(NOTIFICATIONS, { f }, gina.token),
      code: 'BAD_USER_INPUT',
    })),
    ...Object.entries({
      ...cursors(),
      'time not digits': b64('["1.5e3","1"]'),
      'time past 15 digits': b64('["9999999999999999","1"]'),
      'id not an id': b64('["1000","x"]'),
      'numbers, not strings': b64('[1000,1]'),
    }).map(([k, a]) => ({
      name: `notifications cursor ${k}`,
      run: () => gql(NOTIFICATIONS, { a }, gina.token),
      code: 'BAD_USER_INPUT',
    })),
    ...[0, -1, 11].map((n) => ({
      name: `Notification.actors first ${n}`,
      run: () => gql(ACTORS, { n }, gina.token),
      code: 'BAD_USER_INPUT',
    })),
    ...[
      '',
      'yesterday',
      '2026-13-45T00:00:00Z',
      'T',
      ...INJECTIONS,
      123,
      true,
      ['2026-01-01T00:00:00Z'],
    ].map((u) => ({
      name: `markNotificationsRead upTo ${JSON.stringify(u).slice(0, 30)}`,
      run: () => gql(MARK, { u }, gina.token),
      code: 'BAD_USER_INPUT',
      check: () => undefined,
    })),
  ]);

  it('left the notification unread', stillUnread);
});

describe('query limits (depth, aliases, cost, tokens) and malformed requests', () => {
  const deep = (n: number) => {
    let sel = 'id';
    for (let i = 0; i < n; i++) sel = `followers(first: 1) { nodes { ${sel} } }`;
    return `query($u: String!) { user(username: $u) { ${sel} } }`;
  };
  table(() => [
    {
      name: 'depth over the limit',
      run: () => gql(deep(4), { u: alice.username }),
      code: 'GRAPHQL_VALIDATION_FAILED',
      status: 400,
    },
    {
      name: 'aliases over the limit',
      run: () => gql(`{ ${Array.from({ length: 5 }, (_, i) => `a${i}: me { id }`).join(' ')} }`),
      code: 'GRAPHQL_VALIDATION_FAILED',
      status: 400,
    },
    {
      name: 'cost over the limit',
      run: () =>
        gql(
          `query($u: String!) { user(username: $u) { followers(first: 100) { nodes { followers(first: 100) { nodes { id username } } } } } }`,
          { u: alice.username },
        ),
      code: 'GRAPHQL_VALIDATION_FAILED',
      status: 400,
    },
    {
      // Page sizes in variables count (graphql-armor's rule saw them as 1).
      name: 'cost over the limit through variables',
      run: () =>
        gql(
          `query($u: String!, $n: Int) { user(username: $u) { followers(first: $n) { nodes { followers(first: $n) { nodes { id username } } } } } }`,
          { u: alice.username, n: 100 },
        ),
      code: 'GRAPHQL_VALIDATION_FAILED',
      status: 400,
    },
    {
      name: 'cost over the limit through default page sizes',
      run: () =>
        gql(
          `query($u: String!) { user(username: $u) { followers { nodes { followers { nodes { id username displayName bio avatar { url } } } } } } }`,
          { u: alice.username },
        ),
      code: 'GRAPHQL_VALIDATION_FAILED',
      status: 400,
    },
    {
      name: 'tokens over the limit',
      run: () => gql(`{ me { ${'id '.repeat(500)} } }`),
      code: 'GRAPHQL_PARSE_FAILED',
      status: 400,
    },
    {
      name: 'aliased mutations over the limit',
      run: () =>
        gql(
          `mutation { ${Array.from({ length: 5 }, (_, i) => `a${i}: follow(userId: "${bob.id}") { user { id } }`).join(' ')} }`,
          {},
          alice.token,
        ),
      code: 'GRAPHQL_VALIDATION_FAILED',
      status: 400,
    },
    {
      name: 'unparseable query',
      run: () => gql(`{ me { id `),
      code: 'GRAPHQL_PARSE_FAILED',
      status: 400,
    },
    {
      name: 'unknown field',
      run: () => gql(`{ users { passwordHash } }`),
      code: 'GRAPHQL_VALIDATION_FAILED',
      status: 400,
    },
    {
      name: 'private field',
      run: () =>
        gql(`query($u: String!) { user(username: $u) { email passwordHash } }`, {
          u: alice.username,
        }),
      code: 'GRAPHQL_VALIDATION_FAILED',
      status: 400,
    },
    {
      name: 'body not JSON',
      run: () => gqlRaw(`${stack.gatewayUrl}/graphql`, '{"query": '),
      status: 400,
    },
    {
      name: 'body a JSON array (batching off)',
      run: () =>
        gqlRaw(`${stack.gatewayUrl}/graphql`, JSON.stringify([{ query: '{ me { id } }' }])),
      status: 400,
    },
    {
      name: 'query not a string',
      run: () => gqlRaw(`${stack.gatewayUrl}/graphql`, JSON.stringify({ query: 42 })),
      status: 400,
    },
    {
      name: 'variables not an object',
      run: () =>
        gqlRaw(`${stack.gatewayUrl}/graphql`, JSON.stringify({ query: FEED, variables: 'x' }), {
          token: alice.token,
        }),
      status: 400,
    },
    {
      name: 'body of 5 MB',
      run: () =>
        gqlRaw(
          `${stack.gatewayUrl}/graphql`,
          gqlBody(SIGN_UP, signUpInput({ displayName: 'd'.repeat(5_000_000) })),
        ),
      code: 'PAYLOAD_TOO_LARGE',
      status: 413,
    },
  ]);
});

describe('REST routes', () => {
  const media = (body: Buffer | string, headers: Record<string, string>, token?: string) =>
    raw(`${stack.gatewayUrl}/v1/media`, {
      method: 'POST',
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      body,
    });
  const form = (parts: Parameters<typeof multipart>[0], token = alice.token) => {
    const m = multipart(parts);
    return media(m.body, { 'content-type': m.contentType }, token);
  };
  table(() => [
    {
      name: 'POST /v1/media signed out',
      run: () => form([{ name: 'file', value: image, filename: 'a.jpg' }], ''),
      code: 'UNAUTHENTICATED',
      status: 401,
    },
    {
      name: 'POST /v1/media expired token',
      run: () => form([{ name: 'file', value: image, filename: 'a.jpg' }], tokens.expired),
      code: 'UNAUTHENTICATED',
      status: 401,
    },
    {
      name: 'POST /v1/media alg none',
      run: () => form([{ name: 'file', value: image, filename: 'a.jpg' }], tokens['alg none']),
      code: 'UNAUTHENTICATED',
      status: 401,
    },
    {
      name: 'POST /v1/media JSON body',
      run: () => media('{"file":"x"}', { 'content-type': 'application/json' }, alice.token),
      code: 'BAD_USER_INPUT',
      status: 400,
    },
    {
      name: 'POST /v1/media no file part',
      run: () => form([{ name: 'altText', value: 'alt' }]),
      code: 'BAD_USER_INPUT',
      status: 400,
    },
    {
      name: 'POST /v1/media empty body',
      run: () => media('', { 'content-type': 'multipart/form-data; boundary=xyz' }, alice.token),
      code: 'BAD_USER_INPUT',
      status: 400,
    },
    {
      name: 'POST /v1/media no boundary',
      run: () => media('abc', { 'content-type': 'multipart/form-data' }, alice.token),
      code: 'BAD_USER_INPUT',
      status: 400,
    },
    {
      name: 'POST /v1/media garbage body',
      run: () =>
        media(
          '--xyz\r\ngarbage',
          { 'content-type': 'multipart/form-data; boundary=xyz' },
          alice.token,
        ),
      code: 'BAD_USER_INPUT',
      status: 400,
    },
    {
      name: 'POST /v1/media two file parts',
      run: () =>
        form([
          { name: 'file', value: image, filename: 'a.jpg', type: 'image/jpeg' },
          { name: 'file', value: image, filename: 'b.jpg', type: 'image/jpeg' },
        ]),
      code: 'BAD_USER_INPUT',
      status: 400,
    },
    {
      name: 'POST /v1/media empty file',
      run: () => form([{ name: 'file', value: Buffer.alloc(0), filename: 'a.jpg' }]),
      code: 'BAD_USER_INPUT',
      status: 400,
    },
    {
      name: 'POST /v1/media truncated JPEG',
      run: () =>
        form([
          {
            name: 'file',
            value: image.subarray(0, Math.floor(image.length / 2)),
            filename: 'a.jpg',
            type: 'image/jpeg',
          },
        ]),
      code: 'BAD_USER_INPUT',
      status: 400,
    },
    {
      name: 'POST /v1/media JPEG header only',
      run: () =>
        form([
          { name: 'file', value: image.subarray(0, 20), filename: 'a.jpg', type: 'image/jpeg' },
        ]),
      code: 'BAD_USER_INPUT',
      status: 400,
    },
    {
      name: 'POST /v1/media HTML as image',
      run: () =>
        form([
          {
            name: 'file',
            value: '<script>alert(1)</script>',
            filename: 'a.jpg',
            type: 'image/jpeg',
          },
        ]),
      code: 'UNSUPPORTED_MEDIA_TYPE',
      status: 415,
    },
    {
      name: 'POST /v1/media file over the limit',
      run: () =>
        form([
          {
            name: 'file',
            value: Buffer.concat([image, Buffer.alloc(MAX_IMAGE)]),
            filename: 'a.jpg',
            type: 'image/jpeg',
          },
        ]),
      code: 'PAYLOAD_TOO_LARGE',
      status: 413,
    },
    {
      name: 'POST /v1/media body over the limit (declared)',
      run: () =>
        form([
          {
            name: 'file',
            value: Buffer.concat([image, Buffer.alloc(MAX_IMAGE + 1024 * 1024)]),
            filename: 'a.jpg',
            type: 'image/jpeg',
          },
        ]),
      code: 'PAYLOAD_TOO_LARGE',
      status: 413,
    },
    {
      name: 'POST /v1/media altText of 1001',
      run: () =>
        form([
          { name: 'altText', value: 'a'.repeat(1001) },
          { name: 'file', value: image, filename: 'a.jpg', type: 'image/jpeg' },
        ]),
      code: 'BAD_USER_INPUT',
      status: 400,
    },
    {
      name: 'POST /v1/media altText with NUL',
      run: () =>
        form([
          { name: 'file', value: image, filename: 'a.jpg', type: 'image/jpeg' },
          { name: 'altText', value: NUL },
        ]),
      code: 'BAD_USER_INPUT',
      status: 400,
    },

    ...['abc', '-1', '99999999999999999999999', "1'%20OR%20'1'='1", '%00', '987654321'].map(
      (id) => ({
        name: `GET /v1/posts/${id}`,
        run: () => raw(`${stack.gatewayUrl}/v1/posts/${id}`),
        code: 'NOT_FOUND',
        status: 404,
      }),
    ),
    ...['/v1/posts/%E0%A4%A', '/media/m/%E0%A4%A.jpg', '/v1/feed%ZZ'].map((path) => ({
      name: `GET ${path} (malformed percent-escape)`,
      run: () => raw(`${stack.gatewayUrl}${path}`),
      code: 'BAD_USER_INPUT',
      status: 400,
      check: (r: Raw) => expect(r.headers.get('x-request-id')).toBeTruthy(),
    })),
    {
      name: 'GET /v1/posts/:id forged token',
      run: () =>
        raw(`${stack.gatewayUrl}/v1/posts/${alicePost}`, {
          headers: { authorization: `Bearer ${tokens['wrong key']}` },
        }),
      code: 'UNAUTHENTICATED',
      status: 401,
    },

    {
      name: 'GET /v1/feed signed out',
      run: () => raw(`${stack.gatewayUrl}/v1/feed`),
      code: 'UNAUTHENTICATED',
      status: 401,
    },
    {
      name: 'GET /v1/feed expired token',
      run: () =>
        raw(`${stack.gatewayUrl}/v1/feed`, {
          headers: { authorization: `Bearer ${tokens.expired}` },
        }),
      code: 'UNAUTHENTICATED',
      status: 401,
    },
    ...['abc', '0', '101', '1.5', '-3', '1e400'].map((limit) => ({
      name: `GET /v1/feed?limit=${limit}`,
      run: () =>
        raw(`${stack.gatewayUrl}/v1/feed?limit=${limit}`, {
          headers: { authorization: `Bearer ${alice.token}` },
        }),
      code: 'BAD_USER_INPUT',
      status: 400,
    })),
    ...Object.entries(cursors()).map(([k, c]) => ({
      name: `GET /v1/feed cursor ${k}`,
      run: () =>
        raw(`${stack.gatewayUrl}/v1/feed?cursor=${encodeURIComponent(c)}`, {
          headers: { authorization: `Bearer ${alice.token}` },
        }),
      code: 'BAD_USER_INPUT',
      status: 400,
    })),

    ...[
      '../../etc/passwd',
      '..%2F..%2Fetc%2Fpasswd',
      '%00',
      'm/<script>.jpg',
      `${'a'.repeat(5000)}.jpg`,
      '%E0%A4%A',
    ].map((p) => ({
      name: `GET /media/${p.slice(0, 30)}`,
      run: () => raw(`${stack.gatewayUrl}/media/${p}`),
      check: (r: Raw) => expect([400, 404]).toContain(r.status),
    })),

    ...['forged', `${b64('{"k":"m/x.jpg","e":99999999999}')}.AAAA`, ''].map((t) => ({
      name: `PUT /v1/uploads/${t.slice(0, 20)}`,
      run: () =>
        raw(`${stack.gatewayUrl}/v1/uploads/${t}`, {
          method: 'PUT',
          body: image,
          headers: { 'content-type': 'image/jpeg' },
        }),
      check: (r: Raw) => expect([403, 404]).toContain(r.status),
    })),
    {
      name: 'PUT /v1/uploads over the limit',
      run: () =>
        raw(`${stack.gatewayUrl}/v1/uploads/forged`, {
          method: 'PUT',
          body: Buffer.alloc(MAX_IMAGE + 2 * 1024 * 1024),
          headers: { 'content-type': 'image/jpeg' },
        }),
      code: 'PAYLOAD_TOO_LARGE',
      status: 413,
    },
  ]);
});
