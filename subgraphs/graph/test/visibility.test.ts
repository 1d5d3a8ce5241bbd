// The visibility rule's internal call (POST /internal/v1/visibility), asked directly with a
// service token as the other subgraphs ask it: public and private accounts for every kind of
// viewer, blocks both ways, signed out, and bodies it refuses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_HEADER, signServiceToken } from '../../../lib/auth/service-auth.js';
import { createGraphClient, type GraphClient } from '../../../lib/clients/graph-client.js';
import { baseOf } from '../../../lib/clients/internal-http.js';
import {
  approve,
  block,
  follow,
  requestFollow,
  setPrivate,
  signUp,
  unblock,
  type Account,
} from '../../../test/support/content.js';
import { startStack, type Stack } from '../../../test/support/stack.js';

let stack: Stack;
let graph: GraphClient;

beforeAll(async () => {
  stack = await startStack({
    subgraphs: ['user', 'graph'],
    env: {
      RATE_LIMIT_AUTH_PER_MINUTE: '0',
      RATE_LIMIT_USER_PER_MINUTE: '0',
      RATE_LIMIT_IP_PER_MINUTE: '0',
    },
  });
  graph = createGraphClient({
    baseUrl: baseOf(stack.subgraphUrls.graph!),
    caller: 'test',
    secret: stack.cfg.INTERNAL_SIGNING_SECRET,
  });
});
afterAll(async () => {
  await stack?.close();
});

const people = (n: number) => Promise.all(Array.from({ length: n }, () => signUp(stack, 'v')));
const sorted = (ids: string[]) => [...ids].sort();

/** The answer about `users` for `viewer`, each list sorted. */
async function rule(viewer: Account | null, users: Account[]) {
  const v = await graph.visibility(
    viewer?.id ?? null,
    users.map((u) => u.id),
  );
  return {
    contentHidden: sorted(v.contentHidden),
    profileHidden: sorted(v.profileHidden),
    blocked: sorted(v.blocked),
    private: sorted(v.private),
  };
}

describe('POST /internal/v1/visibility', () => {
  it('public accounts hide nothing, from anyone, signed in or out', async () => {
    const [a, b, c] = await people(3);
    await follow(stack, a!, b!);
    const nothing = { contentHidden: [], profileHidden: [], blocked: [], private: [] };
    expect(await rule(a!, [b!, c!])).toEqual(nothing);
    expect(await rule(null, [a!, b!, c!])).toEqual(nothing);
    expect(await rule(a!, [])).toEqual(nothing);
  });

  it('a private account: hidden from strangers, requesters and signed-out viewers; seen by approved followers and itself', async () => {
    const [owner, stranger, requester, fan, pub] = await people(5);
    await setPrivate(stack, owner!, true);
    await requestFollow(stack, requester!, owner!);
    await requestFollow(stack, fan!, owner!);
    await approve(stack, owner!, fan!);
    const hidden = {
      contentHidden: [owner!.id],
      profileHidden: [],
      blocked: [],
      private: [owner!.id],
    };
    expect(await rule(stranger!, [owner!, pub!])).toEqual(hidden);
    expect(await rule(requester!, [owner!, pub!])).toEqual(hidden);
    expect(await rule(null, [owner!, pub!])).toEqual(hidden); // profile still visible
    const seen = { contentHidden: [], profileHidden: [], blocked: [], private: [owner!.id] };
    expect(await rule(fan!, [owner!, pub!])).toEqual(seen);
    expect(await rule(owner!, [owner!, pub!])).toEqual(seen); // never hidden from itself
    // Turning public: everyone sees it again on the next call (nothing is cached).
    await setPrivate(stack, owner!, false);
    expect(await rule(stranger!, [owner!])).toEqual({
      contentHidden: [],
      profileHidden: [],
      blocked: [],
      private: [],
    });
  });

  it('a block hides content both ways and the blocker from the blocked user', async () => {
    const [blocker, blocked, other] = await people(3);
    await follow(stack, blocked!, blocker!);
    await block(stack, blocker!, blocked!);
    expect(await rule(blocked!, [blocker!, other!])).toEqual({
      contentHidden: [blocker!.id],
      profileHidden: [blocker!.id],
      blocked: [],
      private: [],
    });
    expect(await rule(blocker!, [blocked!, other!])).toEqual({
      contentHidden: [blocked!.id],
      profileHidden: [],
      blocked: [blocked!.id],
      private: [],
    });
    // Third parties and signed-out viewers are unaffected.
    expect(await rule(other!, [blocker!, blocked!])).toEqual({
      contentHidden: [],
      profileHidden: [],
      blocked: [],
      private: [],
    });
    await unblock(stack, blocker!, blocked!);
    expect(await rule(blocked!, [blocker!])).toEqual({
      contentHidden: [],
      profileHidden: [],
      blocked: [],
      private: [],
    });
  });

  it('answers about 1,000 ids (duplicates and unknown ids included) in one call', async () => {
    const [viewer, owner] = await people(2);
    await setPrivate(stack, owner!, true);
    const ids = [owner!.id, owner!.id, ...Array.from({ length: 998 }, (_, i) => String(i + 1))];
    const v = await graph.visibility(viewer!.id, ids);
    expect(v).toEqual({
      contentHidden: [owner!.id],
      profileHidden: [],
      blocked: [],
      private: [owner!.id],
    });
  });

  it('refuses bad bodies with 400 BAD_USER_INPUT, and calls without a service token with 401', async () => {
    const url = `${baseOf(stack.subgraphUrls.graph!)}/internal/v1/visibility`;
    const post = (body: unknown, token = true) =>
      fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token
            ? { [SERVICE_HEADER]: signServiceToken(stack.cfg.INTERNAL_SIGNING_SECRET, 'test') }
            : {}),
        },
        body: JSON.stringify(body),
      });
    for (const body of [
      {},
      { viewerId: null },
      { viewerId: null, userIds: 'x' },
      { viewerId: 'abc', userIds: [] },
      { viewerId: 5, userIds: [] },
      { userIds: [] }, // viewerId must be given (null when signed out)
      { viewerId: null, userIds: ['1', 'nope'] },
      { viewerId: null, userIds: [1] },
      { viewerId: null, userIds: Array.from({ length: 1001 }, (_, i) => String(i + 1)) },
      [],
    ]) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe('BAD_USER_INPUT');
    }
    expect((await post({ viewerId: null, userIds: ['1'] }, false)).status).toBe(401);
  });
});
