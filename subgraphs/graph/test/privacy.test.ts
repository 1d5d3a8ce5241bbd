// Private accounts, follow requests and blocks through the gateway against real
// Postgres/Redis/NATS: states and fresh counts in every payload, the events each change
// writes to the outbox, who may see the follower/following lists, paging, and exact counts
// under concurrency.
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEvent, streamNames, unprefixSubject } from '../../../lib/contracts/events.js';
import { connectNats } from '../../../lib/platform/nats.js';
import {
  approve,
  block,
  follow,
  pendingOutbox,
  requestFollow,
  setPrivate,
  signUp,
  unblock,
  type Account,
} from '../../../test/support/content.js';
import { signViewerContext, VIEWER_CONTEXT_HEADER } from '../../../lib/auth/viewer-context.js';
import {
  postGraphql,
  startStack,
  type GqlResult,
  type Stack,
} from '../../../test/support/stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    subgraphs: ['user', 'graph'],
    env: {
      RATE_LIMIT_AUTH_PER_MINUTE: '0',
      RATE_LIMIT_USER_PER_MINUTE: '0',
      RATE_LIMIT_IP_PER_MINUTE: '0',
    },
  });
});
afterAll(async () => {
  await stack?.close();
});

const people = (n: number) => Promise.all(Array.from({ length: n }, () => signUp(stack, 'p')));

interface Side {
  id: string;
  followerCount: number;
  followingCount: number;
  viewerFollowState: string;
  followsViewer: boolean;
  viewerHasBlocked: boolean;
  isPrivate: boolean;
  pendingFollowRequestCount: number | null;
}
interface Payload {
  user: Side;
  viewer: Side;
}

const SIDE = `id followerCount followingCount viewerFollowState followsViewer viewerHasBlocked isPrivate pendingFollowRequestCount`;

/** A follow-type mutation by `viewer` about `other`: the payload, or the error code. */
async function mutate(
  field: string,
  viewer: Account,
  other: Account | string,
): Promise<{ payload?: Payload; code?: string }> {
  const r = await stack.gql<Record<string, Payload>>(
    `mutation($id: ID!) { ${field}(userId: $id) { user { ${SIDE} } viewer { ${SIDE} } } }`,
    { id: typeof other === 'string' ? other : other.id },
    { token: viewer.token },
  );
  if (r.errors) return { code: r.errors[0]?.extensions?.code as string };
  return { payload: r.data![field]! };
}

/** A user as `viewer` sees it (by id through the user subgraph's username lookup). */
async function seen(viewer: Account | null, user: Account): Promise<Side> {
  const r = await stack.gql<{ user: Side }>(
    `query($u: String!) { user(username: $u) { ${SIDE} } }`,
    { u: user.username },
    viewer ? { token: viewer.token } : {},
  );
  if (!r.data?.user) throw new Error(JSON.stringify(r.errors ?? 'no user'));
  return r.data.user;
}

async function events(subject: string, id: string) {
  return stack.iso.query<{ payload: Record<string, unknown> }>(
    `SELECT payload FROM graph.outbox WHERE subject = $1 AND payload::text LIKE '%' || $2 || '%' ORDER BY id`,
    [subject, id],
  );
}

async function rowCount(table: string, where: string, params: unknown[]): Promise<number> {
  const rows = await stack.iso.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM graph.${table} WHERE ${where}`,
    params,
  );
  return Number(rows[0]!.n);
}

/** Every maintained counter equals a count of its rows. */
async function drift(): Promise<number> {
  const rows = await stack.iso.query<{ n: string }>(`
    SELECT count(*)::text AS n FROM graph.user_stats s WHERE
      s.follower_count <> (SELECT count(*) FROM graph.follows WHERE followee_id = s.user_id) OR
      s.following_count <> (SELECT count(*) FROM graph.follows WHERE follower_id = s.user_id) OR
      s.pending_request_count <> (SELECT count(*) FROM graph.follow_requests WHERE target_id = s.user_id)`);
  return Number(rows[0]!.n);
}

describe('private accounts and follow requests', () => {
  it('a follow on a private account is a request; approving it makes the follow with fresh counts and states', async () => {
    const [owner, fan] = await people(2);
    await setPrivate(stack, owner!, true);
    expect((await seen(fan!, owner!)).isPrivate).toBe(true);

    const asked = await mutate('follow', fan!, owner!);
    expect(asked.payload!.user).toMatchObject({
      id: owner!.id,
      followerCount: 0,
      viewerFollowState: 'REQUESTED',
      isPrivate: true,
      pendingFollowRequestCount: null, // not the viewer's own
    });
    expect(asked.payload!.viewer).toMatchObject({ id: fan!.id, followingCount: 0 });
    expect(await rowCount('follows', 'followee_id = $1', [owner!.id])).toBe(0);
    // Asking again is a no-op.
    expect((await mutate('follow', fan!, owner!)).payload!.user.viewerFollowState).toBe(
      'REQUESTED',
    );
    expect(await rowCount('follow_requests', 'target_id = $1', [owner!.id])).toBe(1);
    expect((await seen(owner!, owner!)).pendingFollowRequestCount).toBe(1);
    expect((await events('graph.follow_requested', fan!.id)).map((e) => e.payload)).toEqual([
      expect.objectContaining({ v: 1, requesterId: fan!.id, targetId: owner!.id }),
    ]);
    expect(await events('graph.followed', fan!.id)).toEqual([]);

    const ok = await mutate('approveFollowRequest', owner!, fan!);
    expect(ok.payload!.user).toMatchObject({
      id: fan!.id,
      followingCount: 1,
      followsViewer: true,
      pendingFollowRequestCount: null,
    });
    expect(ok.payload!.viewer).toMatchObject({
      id: owner!.id,
      followerCount: 1,
      pendingFollowRequestCount: 0,
    });
    expect(await seen(fan!, owner!)).toMatchObject({
      viewerFollowState: 'FOLLOWING',
      followerCount: 1,
    });
    const followed = await events('graph.followed', fan!.id);
    expect(followed.map((e) => e.payload)).toEqual([
      expect.objectContaining({
        followerId: fan!.id,
        followeeId: owner!.id,
        followeeFollowerCount: 1,
        viaRequest: true,
      }),
    ]);
    expect((await events('graph.follow_request_removed', fan!.id)).map((e) => e.payload)).toEqual([
      expect.objectContaining({ requesterId: fan!.id, targetId: owner!.id, reason: 'approved' }),
    ]);
    // No request left: approving again, or declining, is NOT_FOUND.
    expect((await mutate('approveFollowRequest', owner!, fan!)).code).toBe('NOT_FOUND');
    expect((await mutate('declineFollowRequest', owner!, fan!)).code).toBe('NOT_FOUND');
    // A follower of a private account follows again: no-op.
    expect((await mutate('follow', fan!, owner!)).payload!.user.viewerFollowState).toBe(
      'FOLLOWING',
    );
    expect(await drift()).toBe(0);
  });

  it('declining and withdrawing (unfollow) end a request without a follow', async () => {
    const [owner, a, b] = await people(3);
    await setPrivate(stack, owner!, true);
    expect(await requestFollow(stack, a!, owner!)).toBe('REQUESTED');
    expect(await requestFollow(stack, b!, owner!)).toBe('REQUESTED');

    const declined = await mutate('declineFollowRequest', owner!, a!);
    expect(declined.payload!.viewer).toMatchObject({
      followerCount: 0,
      pendingFollowRequestCount: 1,
    });
    expect(declined.payload!.user.followsViewer).toBe(false);
    expect((await seen(a!, owner!)).viewerFollowState).toBe('NONE');

    const withdrawn = await mutate('unfollow', b!, owner!);
    expect(withdrawn.payload!.user).toMatchObject({ viewerFollowState: 'NONE', followerCount: 0 });
    expect((await seen(owner!, owner!)).pendingFollowRequestCount).toBe(0);
    const reasons = [
      ...(await events('graph.follow_request_removed', a!.id)),
      ...(await events('graph.follow_request_removed', b!.id)),
    ].map((e) => e.payload.reason);
    expect(reasons).toEqual(['declined', 'withdrawn']);
    expect(await rowCount('follows', 'followee_id = $1', [owner!.id])).toBe(0);
    expect(await drift()).toBe(0);
  });

  it('removeFollower ends a follow from the followed side, idempotently', async () => {
    const [owner, fan] = await people(2);
    await follow(stack, fan!, owner!);
    const removed = await mutate('removeFollower', owner!, fan!);
    expect(removed.payload!.viewer).toMatchObject({ followerCount: 0 });
    expect(removed.payload!.user).toMatchObject({ followingCount: 0, followsViewer: false });
    expect((await mutate('removeFollower', owner!, fan!)).payload!.viewer.followerCount).toBe(0);
    expect((await events('graph.unfollowed', fan!.id)).map((e) => e.payload)).toEqual([
      expect.objectContaining({
        followerId: fan!.id,
        followeeId: owner!.id,
        followeeFollowerCount: 0,
      }),
    ]);
  });

  it('turning public approves every pending request in one go (counts, events)', async () => {
    const [owner, ...fans] = await people(6);
    await setPrivate(stack, owner!, true);
    await setPrivate(stack, owner!, true); // no change, no event
    for (const f of fans) expect(await requestFollow(stack, f, owner!)).toBe('REQUESTED');

    const r = await stack.gql<{
      setAccountPrivacy: {
        isPrivate: boolean;
        followerCount: number;
        pendingFollowRequestCount: number;
      };
    }>(
      `mutation { setAccountPrivacy(isPrivate: false) { isPrivate followerCount pendingFollowRequestCount } }`,
      {},
      { token: owner!.token },
    );
    expect(r.data!.setAccountPrivacy).toEqual({
      isPrivate: false,
      followerCount: fans.length,
      pendingFollowRequestCount: 0,
    });
    for (const f of fans)
      expect(await seen(f, owner!)).toMatchObject({
        viewerFollowState: 'FOLLOWING',
        isPrivate: false,
      });
    const followed = (await events('graph.followed', owner!.id)).map((e) => e.payload);
    expect(followed).toHaveLength(fans.length);
    expect(followed.every((p) => p.viaRequest === true)).toBe(true);
    // Each event carries the count after its own follow: 1..n.
    expect(followed.map((p) => p.followeeFollowerCount)).toEqual(fans.map((_, i) => i + 1));
    const approved = (await events('graph.follow_request_removed', owner!.id)).map(
      (e) => e.payload.reason,
    );
    expect(approved).toEqual(fans.map(() => 'approved'));
    const privacy = (await events('graph.privacy_changed', owner!.id)).map(
      (e) => e.payload.isPrivate,
    );
    expect(privacy).toEqual([true, false]);
    // Public again: a new follower follows at once.
    const [late] = await people(1);
    expect(await requestFollow(stack, late!, owner!)).toBe('FOLLOWING');
    expect(await drift()).toBe(0);
  });
});

describe('payload freshness', () => {
  it('several follow-type mutations in one request each read both users after their own write', async () => {
    const [a, b] = await people(2);
    const r = await stack.gql<Record<string, { user: Side; viewer: Side }>>(
      `mutation($id: ID!) {
        one: follow(userId: $id) { user { followerCount viewerFollowState } viewer { followingCount } }
        two: unfollow(userId: $id) { user { followerCount viewerFollowState } viewer { followingCount } }
        three: follow(userId: $id) { user { followerCount viewerFollowState } viewer { followingCount } }
        four: block(userId: $id) { user { followerCount viewerFollowState viewerHasBlocked } viewer { followingCount } }
      }`,
      { id: b!.id },
      { token: a!.token },
    );
    expect(r.errors).toBeUndefined();
    expect(r.data).toEqual({
      one: {
        user: { followerCount: 1, viewerFollowState: 'FOLLOWING' },
        viewer: { followingCount: 1 },
      },
      two: { user: { followerCount: 0, viewerFollowState: 'NONE' }, viewer: { followingCount: 0 } },
      three: {
        user: { followerCount: 1, viewerFollowState: 'FOLLOWING' },
        viewer: { followingCount: 1 },
      },
      four: {
        user: { followerCount: 0, viewerFollowState: 'NONE', viewerHasBlocked: true },
        viewer: { followingCount: 0 },
      },
    });
  });
});

describe('blocks', () => {
  it('a block ends follows and requests both ways with fresh counts and hides the blocker', async () => {
    const [a, b] = await people(2);
    await follow(stack, a!, b!);
    await setPrivate(stack, a!, true);
    expect(await requestFollow(stack, b!, a!)).toBe('REQUESTED');

    const blocked = await mutate('block', a!, b!);
    expect(blocked.payload!.user).toMatchObject({
      id: b!.id,
      followerCount: 0,
      followingCount: 0,
      viewerFollowState: 'NONE',
      followsViewer: false,
      viewerHasBlocked: true,
    });
    expect(blocked.payload!.viewer).toMatchObject({
      id: a!.id,
      followerCount: 0,
      followingCount: 0,
      pendingFollowRequestCount: 0,
    });
    expect((await mutate('block', a!, b!)).payload!.user.viewerHasBlocked).toBe(true); // idempotent
    expect(await events('graph.blocked', b!.id)).toHaveLength(1);
    expect((await events('graph.unfollowed', b!.id)).map((e) => e.payload)).toEqual([
      expect.objectContaining({ followerId: a!.id, followeeId: b!.id }),
    ]);
    expect((await events('graph.follow_request_removed', b!.id)).map((e) => e.payload)).toEqual([
      expect.objectContaining({ requesterId: b!.id, targetId: a!.id, reason: 'blocked' }),
    ]);

    // The blocked user cannot find the blocker: every mutation about them is NOT_FOUND.
    for (const field of ['follow', 'unfollow', 'block', 'unblock', 'removeFollower'])
      expect((await mutate(field, b!, a!)).code).toBe('NOT_FOUND');
    // The blocker must unblock first.
    expect((await mutate('follow', a!, b!)).code).toBe('FORBIDDEN');
    expect(await rowCount('follows', 'follower_id = $1 OR followee_id = $1', [a!.id])).toBe(0);

    const lifted = await mutate('unblock', a!, b!);
    expect(lifted.payload!.user).toMatchObject({
      viewerHasBlocked: false,
      viewerFollowState: 'NONE',
    });
    expect((await mutate('unblock', a!, b!)).payload!.user.viewerHasBlocked).toBe(false);
    expect(await events('graph.unblocked', b!.id)).toHaveLength(1);
    expect(await requestFollow(stack, a!, b!)).toBe('FOLLOWING');
    expect(await drift()).toBe(0);
  });

  it('lets either side of a (raced) mutual block lift their own block, and list it', async () => {
    const [a, b] = await people(2);
    await block(stack, a!, b!);
    // Through the API the second block is NOT_FOUND (to b, a is gone); two blocks racing
    // each other can still both commit, as this row stands for.
    expect((await mutate('block', b!, a!)).code).toBe('NOT_FOUND');
    await stack.iso.query('INSERT INTO graph.blocks (blocker_id, blocked_id) VALUES ($1, $2)', [
      b!.id,
      a!.id,
    ]);
    const blockedBy = async (viewer: Account) =>
      (
        await stack.gql<{ blockedUsers: { nodes: { id: string }[] } }>(
          `{ blockedUsers { nodes { id } } }`,
          {},
          { token: viewer.token },
        )
      ).data!.blockedUsers.nodes.map((n) => n.id);
    expect(await blockedBy(a!)).toEqual([b!.id]);
    expect(await blockedBy(b!)).toEqual([a!.id]);

    const lifted = await mutate('unblock', a!, b!);
    expect(lifted.payload!.user).toMatchObject({ id: b!.id, viewerHasBlocked: false });
    expect(await blockedBy(a!)).toEqual([]);
    // b's block stands: to a, b is gone again, unblock included (nothing left to lift).
    expect((await mutate('unblock', a!, b!)).code).toBe('NOT_FOUND');
    expect((await mutate('follow', a!, b!)).code).toBe('NOT_FOUND');
    expect(await blockedBy(b!)).toEqual([a!.id]);
  });

  it('blockedUsers and followRequests page newest first; both need a signed-in viewer', async () => {
    const [owner, ...others] = await people(5);
    await setPrivate(stack, owner!, true);
    for (const o of others) await requestFollow(stack, o, owner!);
    const PAGE = (field: string) => `query($after: String) {
      ${field}(first: 2, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } }
    }`;
    type Conn = {
      edges: { node: { id: string } }[];
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
    };
    async function all(field: string, viewer: Account): Promise<string[]> {
      const ids: string[] = [];
      let after: string | null = null;
      for (;;) {
        const r: GqlResult<Record<string, Conn>> = await stack.gql<Record<string, Conn>>(
          PAGE(field),
          { after },
          { token: viewer.token },
        );
        expect(r.errors).toBeUndefined();
        const conn = r.data![field]!;
        expect(conn.edges.length).toBeLessThanOrEqual(2);
        ids.push(...conn.edges.map((e) => e.node.id));
        if (!conn.pageInfo.hasNextPage) return ids;
        after = conn.pageInfo.endCursor;
      }
    }
    const newestFirst = [...others].reverse().map((o) => o.id);
    expect(await all('followRequests', owner!)).toEqual(newestFirst);
    for (const o of others) await block(stack, owner!, o);
    expect(await all('blockedUsers', owner!)).toEqual(newestFirst);
    expect(await all('followRequests', owner!)).toEqual([]); // the blocks ended them
    await unblock(stack, owner!, others[0]!);
    expect(await all('blockedUsers', owner!)).toEqual(newestFirst.slice(0, -1));
    for (const field of ['followRequests', 'blockedUsers']) {
      const anon = await stack.gql(`{ ${field} { nodes { id } } }`);
      expect(anon.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
  });
});

describe('who sees the follower and following lists', () => {
  const LISTS = `query($u: String!) { user(username: $u) {
    followers { nodes { id } } following { nodes { id } } } }`;
  async function lists(viewer: Account | null, user: Account) {
    const r = await stack.gql<{
      user: {
        followers: { nodes: { id: string }[] };
        following: { nodes: { id: string }[] };
      } | null;
    }>(LISTS, { u: user.username }, viewer ? { token: viewer.token } : {});
    expect(r.errors).toBeUndefined();
    // null: the user subgraph hides a user who has blocked the viewer altogether.
    if (!r.data!.user) return null;
    return {
      followers: r.data!.user.followers.nodes.map((n) => n.id),
      following: r.data!.user.following.nodes.map((n) => n.id),
    };
  }

  it('a private account shows them to itself and approved followers only', async () => {
    const [owner, fan, stranger, requester, other] = await people(5);
    await follow(stack, fan!, owner!);
    await follow(stack, owner!, other!);
    await setPrivate(stack, owner!, true);
    await requestFollow(stack, requester!, owner!);
    const full = { followers: [fan!.id], following: [other!.id] };
    const none = { followers: [], following: [] };
    expect(await lists(owner!, owner!)).toEqual(full);
    expect(await lists(fan!, owner!)).toEqual(full);
    expect(await lists(stranger!, owner!)).toEqual(none);
    expect(await lists(requester!, owner!)).toEqual(none);
    expect(await lists(null, owner!)).toEqual(none);
    // Counts stay public.
    expect(await seen(stranger!, owner!)).toMatchObject({ followerCount: 1, followingCount: 1 });
    await approve(stack, owner!, requester!);
    expect((await lists(requester!, owner!))?.followers).toEqual([requester!.id, fan!.id]);
  });

  it('a block hides the lists both ways, and users who blocked the viewer are left out of lists', async () => {
    const [star, a, b, c] = await people(4);
    for (const f of [a, b, c]) await follow(stack, f!, star!);
    await block(stack, b!, c!); // b blocks c: to c, b does not exist
    expect((await lists(c!, star!))?.followers).toEqual([c!.id, a!.id]);
    expect((await lists(a!, star!))?.followers).toEqual([c!.id, b!.id, a!.id]);
    expect((await lists(null, star!))?.followers).toEqual([c!.id, b!.id, a!.id]);
    await block(stack, star!, a!);
    // The blocker sees the blocked user's profile, but not their lists; the blocked user does
    // not see the blocker at all (or its lists, asked for straight from the graph subgraph).
    expect(await lists(star!, a!)).toEqual({ followers: [], following: [] });
    expect([null, { followers: [], following: [] }]).toContainEqual(await lists(a!, star!));
    const direct = await postGraphql<{
      _entities: { followers: { nodes: unknown[] }; following: { nodes: unknown[] } }[];
    }>(
      stack.subgraphUrls.graph!,
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { followers { nodes { id } } following { nodes { id } } } } }`,
      { r: [{ __typename: 'User', id: star!.id }] },
      {
        [VIEWER_CONTEXT_HEADER]: signViewerContext(stack.cfg.INTERNAL_SIGNING_SECRET, {
          userId: a!.id,
          sessionId: '1',
          ip: '127.0.0.1',
          requestId: 'privacy-test',
        }),
      },
    );
    expect(direct.errors).toBeUndefined();
    expect(direct.data!._entities).toEqual([
      { followers: { nodes: [] }, following: { nodes: [] } },
    ]);
    expect((await lists(star!, star!))?.followers).toEqual([c!.id, b!.id]);
  });
});

describe('counts under concurrency', () => {
  it('requests racing an account turning public all end as follows, none left pending', async () => {
    const [owner, ...fans] = await people(21);
    await setPrivate(stack, owner!, true);
    const early = fans.slice(0, 10);
    for (const f of early) await requestFollow(stack, f, owner!);
    const states = await Promise.all([
      ...fans.slice(10).map((f) => requestFollow(stack, f, owner!)),
      setPrivate(stack, owner!, false).then(() => 'PUBLIC'),
    ]);
    expect(states.filter((x) => x !== 'PUBLIC' && x !== 'FOLLOWING' && x !== 'REQUESTED')).toEqual(
      [],
    );
    expect(await rowCount('follow_requests', 'target_id = $1', [owner!.id])).toBe(0);
    expect(await seen(owner!, owner!)).toMatchObject({
      isPrivate: false,
      followerCount: fans.length,
      pendingFollowRequestCount: 0,
    });
    expect(await drift()).toBe(0);
  });

  it('many requests and approvals at once keep every counter exact', async () => {
    const [owner, ...fans] = await people(25);
    await setPrivate(stack, owner!, true);
    // Everyone asks while the owner also follows them (reversed lock order).
    await Promise.all(
      fans.flatMap((f) => [requestFollow(stack, f, owner!), follow(stack, owner!, f)]),
    );
    expect((await seen(owner!, owner!)).pendingFollowRequestCount).toBe(fans.length);
    // Approve half, decline a quarter, a few withdraw, all at once, some twice.
    const ops = fans.flatMap((f, i) =>
      i % 2 === 0
        ? [mutate('approveFollowRequest', owner!, f), mutate('approveFollowRequest', owner!, f)]
        : i % 4 === 1
          ? [mutate('declineFollowRequest', owner!, f)]
          : [mutate('unfollow', f, owner!), mutate('follow', f, owner!)],
    );
    const results = await Promise.all(ops);
    // Only "no such request" for the second of two approvals may fail.
    expect(results.filter((r) => r.code && r.code !== 'NOT_FOUND')).toEqual([]);
    expect(await drift()).toBe(0);
    const approved = fans.filter((_, i) => i % 2 === 0).length;
    const s = await seen(owner!, owner!);
    expect(s.followerCount).toBe(approved);
    expect(s.followingCount).toBe(fans.length);
    expect(s.pendingFollowRequestCount).toBe(
      await rowCount('follow_requests', 'target_id = $1', [owner!.id]),
    );
  });
});

describe('events', () => {
  it('every graph event this file caused was published and keeps the contract (lib/contracts/events.ts)', async () => {
    // A scenario that emits each kind once more, then everything published so far.
    const [a, b] = await people(2);
    await setPrivate(stack, a!, true);
    await requestFollow(stack, b!, a!);
    await approve(stack, a!, b!);
    await follow(stack, a!, b!);
    await block(stack, a!, b!);
    await unblock(stack, a!, b!);
    expect(await pendingOutbox(stack, 'graph')).toBe(0);

    const nc = await connectNats(stack.cfg, 'test');
    try {
      const jsm = await jetstreamManager(nc);
      const stream = streamNames(stack.cfg.NATS_PREFIX).GRAPH;
      const { state } = await jsm.streams.info(stream);
      const published = await stack.iso.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM graph.outbox`,
      );
      expect(state.messages).toBe(Number(published[0]!.n));
      const bad: string[] = [];
      const subjects = new Set<string>();
      for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
        const msg = await jsm.streams.getMessage(stream, { seq });
        if (!msg) {
          bad.push(`seq ${seq}: missing`);
          continue;
        }
        const subject = unprefixSubject(stack.cfg.NATS_PREFIX, msg.subject);
        subjects.add(subject);
        const check = parseEvent(subject, msg.json());
        if (!check.ok) bad.push(`${subject}: ${check.error}`);
      }
      expect(bad).toEqual([]);
      expect([...subjects].sort()).toEqual([
        'graph.blocked',
        'graph.follow_request_removed',
        'graph.follow_requested',
        'graph.followed',
        'graph.privacy_changed',
        'graph.unblocked',
        'graph.unfollowed',
      ]);
    } finally {
      await nc.close();
    }
  });
});
