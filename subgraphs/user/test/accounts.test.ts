// Accounts and sessions through the gateway, against real Postgres, Redis and NATS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { connectNats } from '../../../lib/platform/nats.js';
import { idAt } from '../../../lib/contracts/ids.js';
import { streamNames, subjectFor } from '../../../lib/contracts/events.js';
import { startStack, type Stack } from '../../../test/support/stack.js';

const SIGN_UP = `mutation($input: SignUpInput!) {
  signUp(input: $input) { accessToken refreshToken accessTokenExpiresAt user { id username displayName isViewer } }
}`;
const LOG_IN = `mutation($input: LogInInput!) {
  logIn(input: $input) { accessToken refreshToken user { id username } }
}`;
const REFRESH = `mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken user { id } } }`;
const ME = `{ me { id username displayName bio isViewer createdAt } }`;

interface AuthPayload {
  accessToken: string;
  refreshToken: string;
  accessTokenExpiresAt: string;
  user: { id: string; username: string; displayName: string | null; isViewer: boolean };
}

let stack: Stack;
let n = 0;
const fresh = (prefix = 'user') => `${prefix}_${Date.now().toString(36)}_${n++}`;

let ipSeq = 0;
/** A client address never seen before (the gateway trusts X-Forwarded-For here). */
const freshIp = () => `10.77.${Math.floor(ipSeq / 250)}.${(ipSeq++ % 250) + 1}`;
const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });

async function signUp(username = fresh(), password = 'correct horse battery', ip?: string) {
  const r = await stack.gql<{ signUp: AuthPayload }>(
    SIGN_UP,
    {
      input: {
        username,
        email: `${username.toLowerCase()}@example.com`,
        password,
        displayName: 'Test Person',
      },
    },
    ip ? from(ip) : {},
  );
  expect(r.errors).toBeUndefined();
  return { username, password, auth: r.data!.signUp };
}

const logIn = (login: string, password: string, ip = freshIp()) =>
  stack.gql<{ logIn: AuthPayload }>(LOG_IN, { input: { login, password } }, from(ip));

beforeAll(async () => {
  // A small per-account failure budget and a short first delay so the throttling tests
  // are quick.
  stack = await startStack({
    env: {
      TRUST_PROXY: 'true',
      RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT: '3',
      LOGIN_BACKOFF_BASE_SECONDS: '3',
      RATE_LIMIT_REFRESH_PER_SESSION_PER_MINUTE: '3',
      RATE_LIMIT_AUTH_PER_MINUTE: '1000',
    },
  });
});
afterAll(async () => {
  await stack?.close();
});

describe('signUp', () => {
  it('creates an account and returns a working session', async () => {
    const { username, auth } = await signUp();
    expect(auth.user).toMatchObject({ username, displayName: 'Test Person', isViewer: true });
    expect(auth.user.id).toMatch(/^[1-9][0-9]+$/);
    expect(new Date(auth.accessTokenExpiresAt).getTime()).toBeGreaterThan(Date.now());

    const me = await stack.gql<{ me: { id: string; username: string; isViewer: boolean } }>(
      ME,
      {},
      { token: auth.accessToken },
    );
    expect(me.errors).toBeUndefined();
    expect(me.data!.me).toMatchObject({ id: auth.user.id, username, isViewer: true });
  });

  it('publishes user.created through the outbox with Nats-Msg-Id = outbox row id', async () => {
    const { username, auth } = await signUp();
    const nc = await connectNats(stack.cfg, 'test');
    try {
      const jsm = await jetstreamManager(nc);
      const subject = subjectFor(stack.cfg.NATS_PREFIX, 'user.created');
      let found: { userId: string; username: string; v: number } | undefined;
      let msgId: string | undefined;
      for (let i = 0; i < 50 && !found; i++) {
        const msg = await jsm.streams
          .getMessage(streamNames(stack.cfg.NATS_PREFIX).USERS, { last_by_subj: subject })
          .catch(() => null);
        const body = msg?.json<{ userId: string; username: string; v: number }>();
        if (body?.userId === auth.user.id) {
          found = body;
          msgId = msg?.header?.get('Nats-Msg-Id');
        } else await new Promise((r) => setTimeout(r, 100));
      }
      expect(found).toMatchObject({ v: 1, userId: auth.user.id, username });
      const rows = await stack.iso.query<{ id: string }>(
        `SELECT id::text FROM users.outbox WHERE subject = 'user.created' AND payload->>'userId' = $1 AND published_at IS NOT NULL`,
        [auth.user.id],
      );
      expect(rows.map((r) => r.id)).toEqual([msgId]);
    } finally {
      await nc.close();
    }
  });

  it('rejects a taken username case-insensitively with CONFLICT', async () => {
    const { username } = await signUp(fresh('Case'));
    const r = await stack.gql(SIGN_UP, {
      input: {
        username: username.toUpperCase(),
        email: `${fresh()}@example.com`,
        password: 'long enough pw',
      },
    });
    expect(r.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(r.errors?.[0]?.message).toMatch(/username/i);
  });

  it('rejects a taken email (any case) with CONFLICT', async () => {
    const { username } = await signUp();
    const r = await stack.gql(SIGN_UP, {
      input: {
        username: fresh(),
        email: `${username.toUpperCase()}@EXAMPLE.com`,
        password: 'long enough pw',
      },
    });
    expect(r.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(r.errors?.[0]?.message).toMatch(/email/i);
  });

  it.each([
    ['a short password', { password: 'short' }, 'password'],
    ['a too-short username', { username: 'ab' }, 'username'],
    ['a username with spaces', { username: 'has space' }, 'username'],
    ['a username with a hyphen', { username: 'has-hyphen' }, 'username'],
    ['a 31-character username', { username: 'a'.repeat(31) }, 'username'],
    ['a malformed email', { email: 'not-an-email' }, 'email'],
    ['a too-long displayName', { displayName: 'x'.repeat(65) }, 'displayName'],
  ])('rejects %s with BAD_USER_INPUT and writes nothing', async (_label, override, field) => {
    const username = fresh();
    const input = {
      username,
      email: `${username}@example.com`,
      password: 'long enough pw',
      ...override,
    };
    const r = await stack.gql(SIGN_UP, { input });
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0]?.extensions?.field).toBe(field);
    const lookup = await stack.gql<{ user: unknown }>(
      `query($u: String!) { user(username: $u) { id } }`,
      {
        u: input.username,
      },
    );
    expect(lookup.data?.user ?? null).toBeNull();
  });
});

describe('logIn', () => {
  it('accepts the username (any case) or the email', async () => {
    const { username, password, auth } = await signUp(fresh('Mixed'));
    for (const login of [
      username,
      username.toLowerCase(),
      `${username.toLowerCase()}@example.com`,
    ]) {
      const r = await stack.gql<{ logIn: AuthPayload }>(LOG_IN, { input: { login, password } });
      expect(r.errors).toBeUndefined();
      expect(r.data!.logIn.user.id).toBe(auth.user.id);
    }
  });

  it('answers a wrong password and an unknown account alike: UNAUTHENTICATED', async () => {
    const { username } = await signUp();
    const wrong = await stack.gql(LOG_IN, {
      input: { login: username, password: 'wrong password!' },
    });
    const unknown = await stack.gql(LOG_IN, {
      input: { login: fresh('ghost'), password: 'wrong password!' },
    });
    expect(wrong.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(unknown.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(wrong.errors?.[0]?.message).toBe(unknown.errors?.[0]?.message);
  });

  it('counts failures via the username and via the email against one budget', async () => {
    const { username } = await signUp();
    const email = `${username.toLowerCase()}@example.com`;
    const codes: (string | undefined)[] = [];
    for (const login of [username, email.toUpperCase(), username.toUpperCase(), email]) {
      const r = await logIn(login, 'wrong password!');
      codes.push(r.errors?.[0]?.extensions?.code);
    }
    expect(codes).toEqual([
      'UNAUTHENTICATED',
      'UNAUTHENTICATED',
      'UNAUTHENTICATED',
      'RATE_LIMITED',
    ]);
  });

  it('delays guesses at an unknown login the same way', async () => {
    const ghost = fresh('ghost');
    const codes: (string | undefined)[] = [];
    for (let i = 0; i < 4; i++)
      codes.push((await logIn(ghost, 'wrong password!')).errors?.[0]?.extensions?.code);
    expect(codes).toEqual([
      'UNAUTHENTICATED',
      'UNAUTHENTICATED',
      'UNAUTHENTICATED',
      'RATE_LIMITED',
    ]);
  });

  it('makes a never-seen address wait out the delay, even with the right password; then it signs in and the count starts afresh', async () => {
    const { username, password, auth } = await signUp();
    for (let i = 0; i < 3; i++) {
      const r = await logIn(username, `wrong-${i}-password`);
      expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
    const stranger = freshIp();
    const early = await logIn(username, password, stranger);
    expect(early.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    const wait = early.errors?.[0]?.extensions?.retryAfterSeconds as number;
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(wait).toBeLessThanOrEqual(3); // LOGIN_BACKOFF_BASE_SECONDS after the 3rd failure
    // Waiting out the delay is enough: the right password is then accepted.
    await new Promise((r) => setTimeout(r, wait * 1000 + 250));
    const late = await logIn(username, password, stranger);
    expect(late.errors).toBeUndefined();
    expect(late.data!.logIn.user.id).toBe(auth.user.id);
    // The success reset the count: two more failures bring no delay.
    for (let i = 0; i < 2; i++) {
      const r = await logIn(username, `again-${i}-wrong`);
      expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
    const after = await logIn(username, password);
    expect(after.errors).toBeUndefined();
  });

  it('lets the owner in from an address that signed in before while strangers wait; wrong passwords from it still count', async () => {
    const home = freshIp(); // signed up from here
    const office = freshIp(); // signed in from here once
    const { username, password, auth } = await signUp(undefined, undefined, home);
    expect((await logIn(username, password, office)).errors).toBeUndefined();

    for (let i = 0; i < 3; i++) {
      const r = await logIn(username, `guess-${i}-password`);
      expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
    const stranger = await logIn(username, password);
    expect(stranger.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    const firstWait = stranger.errors?.[0]?.extensions?.retryAfterSeconds as number;
    expect(firstWait).toBeLessThanOrEqual(3);

    // A wrong password from a known address is checked (never delayed) and counted:
    // the next delay doubles.
    const typo = await logIn(username, 'not my password', home);
    expect(typo.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const again = await logIn(username, password);
    expect(again.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(again.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(3);

    for (const ip of [office, home]) {
      const owner = await logIn(username, password, ip);
      expect(owner.errors).toBeUndefined();
      expect(owner.data!.logIn.user.id).toBe(auth.user.id);
    }
  });
});

describe('sessions', () => {
  it('rotates refresh tokens and revokes the family when a rotated token is reused', async () => {
    const { auth } = await signUp();
    const first = await stack.gql<{ refreshSession: AuthPayload }>(REFRESH, {
      t: auth.refreshToken,
    });
    expect(first.errors).toBeUndefined();
    const second = first.data!.refreshSession;
    expect(second.refreshToken).not.toBe(auth.refreshToken);
    expect(second.user.id).toBe(auth.user.id);

    // The newest token works once...
    const third = await stack.gql<{ refreshSession: AuthPayload }>(REFRESH, {
      t: second.refreshToken,
    });
    expect(third.errors).toBeUndefined();
    const latest = third.data!.refreshSession;

    // ...and replaying an old one (a stolen copy) ends the whole session.
    const replay = await stack.gql(REFRESH, { t: auth.refreshToken });
    expect(replay.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const afterReplay = await stack.gql(REFRESH, { t: latest.refreshToken });
    expect(afterReplay.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const me = await stack.gql(ME, {}, { token: latest.accessToken });
    expect(me.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(me.status).toBe(401);
  });

  it('logOut ends the session: its refresh and access tokens stop working', async () => {
    const { auth } = await signUp();
    const out = await stack.gql<{ logOut: boolean }>(
      `mutation($t: String!) { logOut(refreshToken: $t) }`,
      {
        t: auth.refreshToken,
      },
    );
    expect(out.data?.logOut).toBe(true);
    const refresh = await stack.gql(REFRESH, { t: auth.refreshToken });
    expect(refresh.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const me = await stack.gql(ME, {}, { token: auth.accessToken });
    expect(me.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  // The family id says when the session started; rewriting it moves the sign-in back.
  async function backdateFamily(refreshToken: string, days: number): Promise<bigint> {
    const start = idAt(new Date(Date.now() - days * 86_400_000)) | 1n;
    await stack.iso.query(
      `UPDATE users.refresh_tokens SET family_id = $1
       WHERE family_id = (SELECT family_id FROM users.refresh_tokens WHERE id = $2)`,
      [start.toString(), refreshToken.split('.')[0]],
    );
    return start;
  }

  it('ends a session at its absolute lifetime (SESSION_MAX_AGE_DAYS, 60), however it was refreshed', async () => {
    const { auth } = await signUp();
    await backdateFamily(auth.refreshToken, 61);
    const r = await stack.gql(REFRESH, { t: auth.refreshToken });
    expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(r.errors?.[0]?.message).toMatch(/expired; sign in again/);
  });

  it('never lets a rotated token outlive the family start plus the max age', async () => {
    const { auth } = await signUp();
    const start = await backdateFamily(auth.refreshToken, 50);
    const r = await stack.gql<{ refreshSession: AuthPayload }>(REFRESH, { t: auth.refreshToken });
    expect(r.errors).toBeUndefined();
    const rows = await stack.iso.query<{ expires_at: Date; family_id: string }>(
      `SELECT expires_at, family_id::text FROM users.refresh_tokens WHERE id = $1`,
      [r.data!.refreshSession.refreshToken.split('.')[0]],
    );
    expect(rows[0]!.family_id).toBe(start.toString());
    // 10 days left of 60, not the 30 a refresh would otherwise grant.
    const left = rows[0]!.expires_at.getTime() - Date.now();
    expect(left).toBeLessThanOrEqual(10 * 86_400_000);
    expect(left).toBeGreaterThan(9.9 * 86_400_000);
  });

  it('logOutEverywhere ends every session of the viewer, and nobody else’s', async () => {
    const { username, password, auth: a } = await signUp();
    const signedIn = await logIn(username, password);
    expect(signedIn.errors).toBeUndefined();
    const rotated = await stack.gql<{ refreshSession: AuthPayload }>(REFRESH, {
      t: signedIn.data!.logIn.refreshToken,
    });
    const b = rotated.data!.refreshSession; // session B, after a rotation
    const { auth: other } = await signUp();

    const out = await stack.gql<{ logOutEverywhere: boolean }>(
      `mutation { logOutEverywhere }`,
      {},
      { token: a.accessToken },
    );
    expect(out.errors).toBeUndefined();
    expect(out.data?.logOutEverywhere).toBe(true);

    for (const s of [a, b]) {
      const me = await stack.gql(ME, {}, { token: s.accessToken });
      expect(me.status).toBe(401);
      expect(me.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      const refresh = await stack.gql(REFRESH, { t: s.refreshToken });
      expect(refresh.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
    const live = await stack.iso.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM users.refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL`,
      [a.user.id],
    );
    expect(live[0]!.n).toBe(0);

    // A third user's session is untouched.
    const me = await stack.gql<{ me: { id: string } }>(ME, {}, { token: other.accessToken });
    expect(me.data?.me.id).toBe(other.user.id);
    const refresh = await stack.gql(REFRESH, { t: other.refreshToken });
    expect(refresh.errors).toBeUndefined();

    // Signed out, there is nothing to end.
    const anon = await stack.gql(`mutation { logOutEverywhere }`);
    expect(anon.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // Signing in again works.
    expect((await logIn(username, password)).errors).toBeUndefined();
  });

  it('limits refreshes per session (RATE_LIMITED, retryAfterSeconds) without spending the token', async () => {
    const { username, password, auth } = await signUp();
    let token = auth.refreshToken;
    for (let i = 0; i < 3; i++) {
      const r = await stack.gql<{ refreshSession: AuthPayload }>(REFRESH, { t: token });
      expect(r.errors).toBeUndefined();
      token = r.data!.refreshSession.refreshToken;
    }
    // Changing address does not help: the budget belongs to the session.
    const limited = await stack.gql(REFRESH, { t: token }, from(freshIp()));
    expect(limited.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    const wait = limited.errors?.[0]?.extensions?.retryAfterSeconds as number;
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(60);
    // Nothing was written: the token is neither rotated nor revoked (no reuse alarm later).
    const rows = await stack.iso.query<{ rotated: boolean; revoked: boolean }>(
      `SELECT rotated_at IS NOT NULL AS rotated, revoked_at IS NOT NULL AS revoked
       FROM users.refresh_tokens WHERE id = $1`,
      [token.split('.')[0]],
    );
    expect(rows).toEqual([{ rotated: false, revoked: false }]);
    // Another session of the same user has a budget of its own.
    const other = await logIn(username, password);
    const r = await stack.gql(REFRESH, { t: other.data!.logIn.refreshToken });
    expect(r.errors).toBeUndefined();
  });

  it('rejects malformed refresh tokens with BAD_USER_INPUT and unknown ones with UNAUTHENTICATED', async () => {
    const bad = await stack.gql(REFRESH, { t: 'nonsense' });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const unknown = await stack.gql(REFRESH, { t: `12345.${'A'.repeat(43)}` });
    expect(unknown.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('rejects forged and malformed access tokens with 401 UNAUTHENTICATED', async () => {
    const { auth } = await signUp();
    const [h, p] = auth.accessToken.split('.');
    for (const token of [`${h}.${p}.forgedsignature`, 'not-a-jwt']) {
      const r = await stack.gql(ME, {}, { token });
      expect(r.status).toBe(401);
      expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
  });

  it('me is null when signed out', async () => {
    const r = await stack.gql<{ me: unknown }>(ME);
    expect(r.errors).toBeUndefined();
    expect(r.data?.me).toBeNull();
  });

  // The gateway keeps one parsed operation per query (patches/@apollo+gateway+*.patch):
  // the same query text must still follow each request's own variables.
  it('answers a repeated query by each request’s @skip/@include variables', async () => {
    const { username, auth } = await signUp();
    const Q = `query($skip: Boolean!, $bio: Boolean!) {
      me { id username @skip(if: $skip) bio @include(if: $bio) viewer: isViewer }
    }`;
    for (const [skip, bio] of [
      [false, false],
      [true, true],
      [false, true],
      [true, false],
    ] as const) {
      const r = await stack.gql<{ me: Record<string, unknown> }>(
        Q,
        { skip, bio },
        { token: auth.accessToken },
      );
      expect(r.errors).toBeUndefined();
      expect(r.data!.me).toEqual({
        id: auth.user.id,
        ...(skip ? {} : { username }),
        ...(bio ? { bio: null } : {}),
        viewer: true,
      });
    }
  });
});

describe('profiles', () => {
  it('updateProfile changes only the given fields; null or "" clears', async () => {
    const { username, auth } = await signUp();
    const UPDATE = `mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { displayName bio } }`;
    const a = await stack.gql<{ updateProfile: { displayName: string; bio: string } }>(
      UPDATE,
      { input: { bio: '  Photos of cafés ☕  ' } },
      { token: auth.accessToken },
    );
    expect(a.errors).toBeUndefined();
    expect(a.data!.updateProfile).toEqual({
      displayName: 'Test Person',
      bio: 'Photos of cafés ☕',
    });
    const b = await stack.gql<{ updateProfile: unknown }>(
      UPDATE,
      { input: { displayName: null } },
      { token: auth.accessToken },
    );
    expect(b.data!.updateProfile).toEqual({ displayName: null, bio: 'Photos of cafés ☕' });

    const pub = await stack.gql<{ user: { username: string; bio: string; isViewer: boolean } }>(
      `query($u: String!) { user(username: $u) { username bio isViewer } }`,
      { u: username.toUpperCase() },
    );
    expect(pub.data!.user).toEqual({ username, bio: 'Photos of cafés ☕', isViewer: false });
  });

  it('requires a signed-in user and valid lengths', async () => {
    const UPDATE = `mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { bio } }`;
    const anon = await stack.gql(UPDATE, { input: { bio: 'x' } });
    expect(anon.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const { auth } = await signUp();
    const long = await stack.gql(
      UPDATE,
      { input: { bio: 'x'.repeat(151) } },
      { token: auth.accessToken },
    );
    expect(long.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('user(username) is null for unknown or malformed names', async () => {
    const r = await stack.gql<{ a: unknown; b: unknown }>(
      `{ a: user(username: "nobody_here_123") { id } b: user(username: "'; drop table users; --") { id } }`,
    );
    expect(r.errors).toBeUndefined();
    expect(r.data).toEqual({ a: null, b: null });
  });
});
