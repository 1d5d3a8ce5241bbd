// Follows through the gateway against real Postgres/Redis/NATS: idempotence, exact counts
// under concurrency, stable paging while the graph changes, events, the internal API.
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamNames, subjectFor } from '../../../lib/contracts/events.js';
import { connectNats } from '../../../lib/platform/nats.js';
import { baseOf, callInternal } from '../../../lib/clients/internal-http.js';
import { createGraphClient } from '../../../lib/clients/graph-client.js';
import { signViewerContext, VIEWER_CONTEXT_HEADER } from '../../../lib/auth/viewer-context.js';
import { postGraphql, startStack, type Stack } from '../../../test/support/stack.js';

let stack: Stack;
let seq = 0;

interface Person {
  id: string;
  username: string;
  token: string;
}

async function signUp(): Promise<Person> {
  const username = `g_${Date.now().toString(36)}_${seq++}`;
  const r = await stack.gql<{ signUp: { accessToken: string; user: { id: string } } }>(
    `mutation($input: SignUpInput!) { signUp(input: $input) { accessToken user { id } } }`,
    { input: { username, email: `${username}@example.com`, password: 'long enough pw' } },
  );
  if (!r.data) throw new Error(JSON.stringify(r.errors));
  return { id: r.data.signUp.user.id, username, token: r.data.signUp.accessToken };
}

const people = (n: number) => Promise.all(Array.from({ length: n }, () => signUp()));

const FOLLOW = `mutation($id: ID!) { follow(userId: $id) { user { id username followerCount followingCount viewerIsFollowing } viewer { id followingCount } } }`;
const UNFOLLOW = `mutation($id: ID!) { unfollow(userId: $id) { user { id followerCount viewerIsFollowing } viewer { id followingCount } } }`;
const COUNTS = `query($u: String!) { user(username: $u) { followerCount followingCount } }`;

type FollowResult = {
  follow: {
    user: {
      id: string;
      username: string;
      followerCount: number;
      followingCount: number;
      viewerIsFollowing: boolean;
    };
    viewer: { id: string; followingCount: number };
  };
};
type UnfollowResult = {
  unfollow: {
    user: { id: string; followerCount: number; viewerIsFollowing: boolean };
    viewer: { id: string; followingCount: number };
  };
};

async function counts(p: Person) {
  const r = await stack.gql<{ user: { followerCount: number; followingCount: number } }>(COUNTS, {
    u: p.username,
  });
  return r.data!.user;
}

async function edgeCount(column: 'follower_id' | 'followee_id', id: string): Promise<number> {
  const rows = await stack.iso.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM graph.follows WHERE ${column} = $1`,
    [id],
  );
  return Number(rows[0]!.n);
}

beforeAll(async () => {
  stack = await startStack({
    subgraphs: ['user', 'graph'],
    env: {
      CELEBRITY_FOLLOWER_THRESHOLD: '3',
      RATE_LIMIT_AUTH_PER_MINUTE: '0',
      RATE_LIMIT_USER_PER_MINUTE: '0',
      RATE_LIMIT_IP_PER_MINUTE: '0',
    },
  });
});
afterAll(async () => {
  await stack?.close();
});

describe('follow and unfollow', () => {
  it('follows idempotently and returns both users with fresh counts', async () => {
    const [a, b] = await people(2);
    const first = await stack.gql<FollowResult>(FOLLOW, { id: b!.id }, { token: a!.token });
    expect(first.errors).toBeUndefined();
    expect(first.data!.follow).toEqual({
      user: {
        id: b!.id,
        username: b!.username,
        followerCount: 1,
        followingCount: 0,
        viewerIsFollowing: true,
      },
      viewer: { id: a!.id, followingCount: 1 },
    });
    const again = await stack.gql<FollowResult>(FOLLOW, { id: b!.id }, { token: a!.token });
    expect(again.errors).toBeUndefined();
    expect(again.data!.follow.user.followerCount).toBe(1);
    expect(await edgeCount('followee_id', b!.id)).toBe(1);
    expect(await counts(a!)).toEqual({ followerCount: 0, followingCount: 1 });

    const un = await stack.gql<UnfollowResult>(UNFOLLOW, { id: b!.id }, { token: a!.token });
    expect(un.data!.unfollow).toEqual({
      user: { id: b!.id, followerCount: 0, viewerIsFollowing: false },
      viewer: { id: a!.id, followingCount: 0 },
    });
    const unAgain = await stack.gql<UnfollowResult>(UNFOLLOW, { id: b!.id }, { token: a!.token });
    expect(unAgain.errors).toBeUndefined();
    expect(unAgain.data!.unfollow.user.followerCount).toBe(0);
    expect(await counts(a!)).toEqual({ followerCount: 0, followingCount: 0 });
  });

  it('rejects self, unknown and malformed targets, and anonymous callers', async () => {
    const [a] = await people(1);
    const self = await stack.gql(FOLLOW, { id: a!.id }, { token: a!.token });
    expect(self.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const unknown = await stack.gql(FOLLOW, { id: '4611686018427387904' }, { token: a!.token });
    expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const unknownUn = await stack.gql(UNFOLLOW, { id: '4611686018427387904' }, { token: a!.token });
    expect(unknownUn.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    for (const id of ['abc', '-5', '0', '1; DROP TABLE graph.follows']) {
      const bad = await stack.gql(FOLLOW, { id }, { token: a!.token });
      expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
    const anon = await stack.gql(FOLLOW, { id: a!.id });
    expect(anon.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(await edgeCount('follower_id', a!.id)).toBe(0);
  });

  it('acts only as the viewer: a forged context sent straight to the graph subgraph is refused', async () => {
    const [a, b] = await people(2);
    const forged = signViewerContext('someone-elses-secret-that-is-32-chars-long', {
      userId: a!.id,
      sessionId: '1',
      ip: '127.0.0.1',
      requestId: 'forged',
    });
    const r = await postGraphql(
      stack.subgraphUrls.graph!,
      FOLLOW.replace(' username', ''),
      { id: b!.id },
      { [VIEWER_CONTEXT_HEADER]: forged },
    );
    expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(await edgeCount('follower_id', a!.id)).toBe(0);
  });

  it('publishes graph.followed with the followee count through the outbox', async () => {
    const [a, b] = await people(2);
    await stack.gql(FOLLOW, { id: b!.id }, { token: a!.token });
    const nc = await connectNats(stack.cfg, 'test');
    try {
      const jsm = await jetstreamManager(nc);
      let payload: Record<string, unknown> | undefined;
      for (let i = 0; i < 50 && payload?.followerId !== a!.id; i++) {
        const msg = await jsm.streams
          .getMessage(streamNames(stack.cfg.NATS_PREFIX).GRAPH, {
            last_by_subj: subjectFor(stack.cfg.NATS_PREFIX, 'graph.followed'),
          })
          .catch(() => null);
        payload = msg?.json<Record<string, unknown>>();
        if (payload?.followerId !== a!.id) await new Promise((r) => setTimeout(r, 100));
      }
      expect(payload).toMatchObject({
        v: 1,
        followerId: a!.id,
        followeeId: b!.id,
        followeeFollowerCount: 1,
      });
    } finally {
      await nc.close();
    }
  });
});

describe('counts under concurrency', () => {
  it('a storm of follow/unfollow on one pair leaves counts equal to the edges', async () => {
    const [a, b] = await people(2);
    const ops = Array.from({ length: 60 }, (_, i) =>
      stack.gql(i % 3 === 2 ? UNFOLLOW : FOLLOW, { id: b!.id }, { token: a!.token }),
    );
    const results = await Promise.all(ops);
    expect(results.filter((r) => r.errors).map((r) => r.errors)).toEqual([]);
    const edges = await edgeCount('followee_id', b!.id);
    expect(edges).toBeLessThanOrEqual(1);
    expect(await counts(b!)).toEqual({ followerCount: edges, followingCount: 0 });
    expect(await counts(a!)).toEqual({ followerCount: 0, followingCount: edges });
  });

  it('many users following and unfollowing one popular user, and mutual follows, stay exact', async () => {
    const [star, ...fans] = await people(31);
    const ops: Promise<unknown>[] = [];
    for (const fan of fans) {
      ops.push(stack.gql(FOLLOW, { id: star!.id }, { token: fan.token }));
      ops.push(stack.gql(FOLLOW, { id: fan.id }, { token: star!.token })); // mutual, reversed lock order
    }
    await Promise.all(ops);
    // Every third fan unfollows while the others follow again (no-ops).
    await Promise.all(
      fans.map((fan, i) =>
        stack.gql(i % 3 === 0 ? UNFOLLOW : FOLLOW, { id: star!.id }, { token: fan.token }),
      ),
    );
    const expected = fans.filter((_, i) => i % 3 !== 0).length;
    expect(await edgeCount('followee_id', star!.id)).toBe(expected);
    expect(await counts(star!)).toEqual({ followerCount: expected, followingCount: fans.length });
    const drift = await stack.iso.query<{ n: string }>(`
      SELECT count(*)::text AS n FROM graph.user_stats s WHERE
        s.follower_count <> (SELECT count(*) FROM graph.follows WHERE followee_id = s.user_id) OR
        s.following_count <> (SELECT count(*) FROM graph.follows WHERE follower_id = s.user_id)`);
    expect(drift[0]!.n).toBe('0');
  });
});

describe('followers and following connections', () => {
  const PAGE = `query($u: String!, $after: String) {
    user(username: $u) { followers(first: 100, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }
  }`;

  it('pages 1,000 followers with no duplicates and no gaps while follows are added and removed', async () => {
    const [target] = await people(1);
    // 1,000 followers inserted in bulk (ids need not be accounts for this test: only `id` is read).
    await stack.iso.query(
      `INSERT INTO graph.follows (follower_id, followee_id) SELECT g, $1::bigint FROM generate_series(1, 1000) g`,
      [target!.id],
    );
    await stack.iso.query(
      `INSERT INTO graph.user_stats (user_id, follower_count) VALUES ($1, 1000)`,
      [target!.id],
    );
    const newcomers = await people(5);

    const seen: string[] = [];
    let after: string | null = null;
    let page = 0;
    do {
      const r: Awaited<
        ReturnType<
          typeof stack.gql<{
            user: {
              followers: {
                edges: { cursor: string; node: { id: string } }[];
                pageInfo: {
                  hasNextPage: boolean;
                  hasPreviousPage: boolean;
                  startCursor: string | null;
                  endCursor: string | null;
                };
              };
            };
          }>
        >
      > = await stack.gql(PAGE, { u: target!.username, after });
      expect(r.errors).toBeUndefined();
      const conn = r.data!.user.followers;
      expect(conn.pageInfo.hasPreviousPage).toBe(page > 0);
      expect(conn.pageInfo.startCursor).toBe(conn.edges[0]?.cursor ?? null);
      seen.push(...conn.edges.map((e) => e.node.id));
      after = conn.pageInfo.hasNextPage ? conn.pageInfo.endCursor : null;
      // Meanwhile: a new follower arrives, and an already-seen follower leaves.
      if (page < newcomers.length)
        await stack.gql(FOLLOW, { id: target!.id }, { token: newcomers[page]!.token });
      await stack.iso.query(
        `DELETE FROM graph.follows WHERE followee_id = $1 AND follower_id = $2`,
        [target!.id, seen.at(-1)],
      );
      page++;
    } while (after);

    expect(new Set(seen).size).toBe(seen.length);
    const synthetic = seen
      .filter((id) => Number(id) <= 1000)
      .map(Number)
      .sort((x, y) => x - y);
    expect(synthetic).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
  });

  it('lists following newest first and rejects malformed cursors and page sizes', async () => {
    const [a, ...others] = await people(4);
    for (const o of others) await stack.gql(FOLLOW, { id: o.id }, { token: a!.token });
    const r = await stack.gql<{
      user: {
        following: { nodes: { id: string; username: string; viewerIsFollowing: boolean }[] };
      };
    }>(
      `query($u: String!) { user(username: $u) { following(first: 10) { nodes { id username viewerIsFollowing } } } }`,
      { u: a!.username },
      { token: a!.token },
    );
    expect(r.errors).toBeUndefined();
    expect(r.data!.user.following.nodes).toEqual(
      [...others]
        .reverse()
        .map((o) => ({ id: o.id, username: o.username, viewerIsFollowing: true })),
    );
    for (const [first, after] of [
      [0, null],
      [101, null],
      [10, 'garbage!'],
      [10, Buffer.from('["x"]').toString('base64url')],
    ] as const) {
      const bad = await stack.gql(
        `query($u: String!, $f: Int, $a: String) { user(username: $u) { following(first: $f, after: $a) { nodes { id } } } }`,
        { u: a!.username, f: first, a: after },
      );
      expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });
});

describe('internal API for the feed', () => {
  it('pages followers in batches and tracks celebrity status across the threshold both ways', async () => {
    const [star, ...fans] = await people(4);
    const graph = createGraphClient({
      baseUrl: baseOf(stack.subgraphUrls.graph!),
      caller: 'test',
      secret: stack.cfg.INTERNAL_SIGNING_SECRET,
    });
    for (const fan of fans.slice(0, 2))
      await stack.gql(FOLLOW, { id: star!.id }, { token: fan.token });
    expect(await graph.celebritiesAmong([star!.id, fans[0]!.id])).toEqual([]);
    await stack.gql(FOLLOW, { id: star!.id }, { token: fans[2]!.token }); // 3 = threshold
    expect(await graph.celebritiesAmong([star!.id, fans[0]!.id])).toEqual([star!.id]);
    expect(await graph.celebritiesFollowedBy(fans[0]!.id)).toEqual([star!.id]);

    const batches: string[][] = [];
    for await (const batch of graph.allFollowers(star!.id, 2)) batches.push(batch);
    expect(batches.map((b) => b.length)).toEqual([2, 1]);
    expect(batches.flat().sort()).toEqual(fans.map((f) => f.id).sort());

    await stack.gql(UNFOLLOW, { id: star!.id }, { token: fans[1]!.token }); // back below
    expect(await graph.celebritiesAmong([star!.id])).toEqual([]);
    expect(await graph.celebritiesFollowedBy(fans[0]!.id)).toEqual([]);
  });

  it('refuses internal calls without a valid service token', async () => {
    const res = await fetch(`${baseOf(stack.subgraphUrls.graph!)}/internal/v1/users/1/followers`);
    expect(res.status).toBe(401);
    await expect(
      callInternal(
        {
          baseUrl: baseOf(stack.subgraphUrls.graph!),
          caller: 'x',
          secret: 'wrong-secret-of-at-least-32-chars!!',
        },
        '/internal/v1/users/1/followers',
      ),
    ).rejects.toThrow(/401/);
  });
});
