// Profiles v0.2 through the gateway: the website rules, userById, user.updated for search,
// and user lookups that give null to someone the user has blocked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { block, signUp, unblock, type Account } from '../../../test/support/content.js';
import { startStack, type Stack } from '../../../test/support/stack.js';

let stack: Stack;
let ada: Account;

const UPDATE = `mutation($input: UpdateProfileInput!) {
  updateProfile(input: $input) { id displayName bio website }
}`;

interface Profile {
  id: string;
  displayName: string | null;
  bio: string | null;
  website: string | null;
}

const update = (input: Record<string, unknown>, token = ada.token) =>
  stack.gql<{ updateProfile: Profile }>(UPDATE, { input }, { token });

const outbox = (userId: string) =>
  stack.iso.query<{ subject: string; payload: Record<string, unknown> }>(
    `SELECT subject, payload FROM users.outbox WHERE payload->>'userId' = $1 ORDER BY id`,
    [userId],
  );

beforeAll(async () => {
  stack = await startStack({ env: { RATE_LIMIT_AUTH_PER_MINUTE: '0' } });
  ada = await signUp(stack, 'ada');
});
afterAll(async () => {
  await stack?.close();
});

describe('website', () => {
  it('stores an http(s) URL as the WHATWG parser normalises it', async () => {
    const cases: [string, string][] = [
      ['  HTTPS://Ada.Example  ', 'https://ada.example/'],
      ['http://ada.example:80/a/../b?q=1#top', 'http://ada.example/b?q=1#top'],
      ['https://bücher.example/über uns', 'https://xn--bcher-kva.example/%C3%BCber%20uns'],
    ];
    for (const [input, stored] of cases) {
      const r = await update({ website: input });
      expect(r.errors, input).toBeUndefined();
      expect(r.data!.updateProfile.website).toBe(stored);
      const me = await stack.gql<{ me: { website: string } }>(`{ me { website } }`, undefined, {
        token: ada.token,
      });
      expect(me.data!.me.website).toBe(stored);
    }
  });

  it('clears it with null or an empty string, and leaves it alone when left out', async () => {
    await update({ website: 'https://keep.example' });
    expect((await update({ bio: 'hello' })).data!.updateProfile.website).toBe(
      'https://keep.example/',
    );
    expect((await update({ website: null })).data!.updateProfile.website).toBeNull();
    await update({ website: 'https://keep.example' });
    expect((await update({ website: '   ' })).data!.updateProfile.website).toBeNull();
  });

  it('refuses other schemes, credentials, non-URLs and long ones, changing nothing', async () => {
    await update({ website: 'https://before.example' });
    const refused = [
      'javascript:alert(1)',
      'JavaScript:alert(document.cookie)',
      'data:text/html,<script>alert(1)</script>',
      'ftp://files.example/',
      'https://user:secret@ada.example/',
      'https://user@ada.example/',
      'ada.example',
      'not a url',
      'https://',
      `https://ada.example/${'a'.repeat(190)}`,
      // 198 characters typed, 376 once normalised (each space becomes %20)
      `https://ada.example/${' x'.repeat(89)}`,
      'https://ada.example/\u0000',
    ];
    for (const website of refused) {
      const r = await update({ website });
      expect(r.data, website).toBeNull();
      expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'website' });
      expect(r.errors?.[0]?.message).not.toContain(website.slice(0, 20));
    }
    const me = await stack.gql<{ me: { website: string } }>(`{ me { website } }`, undefined, {
      token: ada.token,
    });
    expect(me.data!.me.website).toBe('https://before.example/');
  });
});

describe('userById', () => {
  it('finds a user by id and gives null for unknown and malformed ids', async () => {
    const q = `query($id: ID!) { userById(id: $id) { id username website } }`;
    const found = await stack.gql<{ userById: { id: string; username: string } | null }>(q, {
      id: ada.id,
    });
    expect(found.errors).toBeUndefined();
    expect(found.data!.userById).toMatchObject({ id: ada.id, username: ada.username });
    for (const id of ['999999999', 'not-an-id', '-1', '99999999999999999999']) {
      const r = await stack.gql<{ userById: unknown }>(q, { id });
      expect(r.errors, id).toBeUndefined();
      expect(r.data!.userById, id).toBeNull();
    }
  });
});

describe('events for search', () => {
  it('user.created carries the display name', async () => {
    const r = await stack.gql<{ signUp: { user: { id: string } } }>(
      `mutation($input: SignUpInput!) { signUp(input: $input) { user { id } } }`,
      {
        input: {
          username: 'grace_h',
          email: 'grace_h@example.com',
          password: 'long enough pw',
          displayName: 'Grace Hopper',
        },
      },
    );
    const events = await outbox(r.data!.signUp.user.id);
    expect(events.map((e) => e.subject)).toEqual(['user.created']);
    expect(events[0]!.payload).toMatchObject({ username: 'grace_h', displayName: 'Grace Hopper' });
  });

  it('writes user.updated with the change when the display name changes, and only then', async () => {
    const bob = await signUp(stack, 'bob');
    await update({ displayName: 'Bob Builder' }, bob.token);
    await update({ bio: 'builds things', website: 'https://bob.example' }, bob.token);
    await update({ displayName: 'Bob Builder' }, bob.token); // unchanged
    await update({ displayName: '' }, bob.token); // cleared
    const events = await outbox(bob.id);
    expect(events.map((e) => e.subject)).toEqual(['user.created', 'user.updated', 'user.updated']);
    const [, first, second] = events.map((e) => e.payload);
    expect(first).toMatchObject({ v: 1, userId: bob.id, username: bob.username });
    expect(first!.displayName).toBe('Bob Builder');
    expect(second!.displayName).toBeNull();
    // Versions move forward even within one millisecond.
    expect(Date.parse(second!.updatedAt as string)).toBeGreaterThan(
      Date.parse(first!.updatedAt as string),
    );
  });

  it('writes nothing when the update is refused', async () => {
    const cy = await signUp(stack, 'cy');
    const r = await update({ displayName: 'Cy', website: 'javascript:void(0)' }, cy.token);
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await outbox(cy.id)).map((e) => e.subject)).toEqual(['user.created']);
  });
});

describe('a user who has blocked the viewer does not exist for them', () => {
  const Q = `query($name: String!, $id: ID!) {
    user(username: $name) { id }
    byId: userById(id: $id) { id }
    me { id }
  }`;
  type R = { user: { id: string } | null; byId: { id: string } | null; me: { id: string } | null };

  it('gives null to the blocked user, but not to the blocker or anyone else', async () => {
    const blocker = await signUp(stack, 'blocker');
    const blocked = await signUp(stack, 'blocked');
    const other = await signUp(stack, 'other');
    await block(stack, blocker, blocked);

    const asBlocked = await stack.gql<R>(
      Q,
      { name: blocker.username.toUpperCase(), id: blocker.id },
      { token: blocked.token },
    );
    expect(asBlocked.errors).toBeUndefined();
    expect(asBlocked.data).toEqual({ user: null, byId: null, me: { id: blocked.id } });

    // The blocker still sees the blocked user's profile (to unblock them).
    const asBlocker = await stack.gql<R>(
      Q,
      { name: blocked.username, id: blocked.id },
      { token: blocker.token },
    );
    expect(asBlocker.data).toMatchObject({ user: { id: blocked.id }, byId: { id: blocked.id } });
    for (const token of [other.token, undefined]) {
      const r = await stack.gql<R>(Q, { name: blocker.username, id: blocker.id }, { token });
      expect(r.data).toMatchObject({ user: { id: blocker.id }, byId: { id: blocker.id } });
    }

    // Lifted on the next read: nothing is cached.
    await unblock(stack, blocker, blocked);
    const after = await stack.gql<R>(
      Q,
      { name: blocker.username, id: blocker.id },
      { token: blocked.token },
    );
    expect(after.data).toMatchObject({ user: { id: blocker.id }, byId: { id: blocker.id } });
  });
});
