// The home feed through the gateway: push for ordinary authors, pull for celebrities and
// for the reader's own posts, paging, unfollow/delete, follow backfill, cold rebuild.
// Posts enter as post.created events exactly as the post subgraph's outbox publishes them.
// Shared scenarios: feed.test.ts runs them against the machine's standalone Redis and NATS,
// test/faults/cluster.test.ts against a Redis Cluster and a 3-node JetStream cluster.
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { Cluster, Redis } from 'ioredis';
import type { Config } from '../../../lib/config.js';
import { connectNats } from '../../../lib/platform/nats.js';
import { clusterNodes, type RedisClient } from '../../../lib/platform/redis.js';
import { eventually, publishEvent, publishPostCreated } from '../../../test/support/events.js';
import { startStack, type Stack } from '../../../test/support/stack.js';

/** A plain client for assertions, on whichever Redis the stack uses. */
export function testRedis(cfg: Config): RedisClient {
  return cfg.REDIS_CLUSTER_NODES
    ? new Cluster(clusterNodes(cfg.REDIS_CLUSTER_NODES))
    : new Redis(cfg.REDIS_URL);
}

/** The clients to scan: each master of a cluster (once it knows them), or the server. */
export async function keyNodes(redis: RedisClient): Promise<Redis[]> {
  if (!(redis instanceof Cluster)) return [redis];
  if (redis.status !== 'ready') await once(redis, 'ready');
  return redis.nodes('master');
}

/** Deletes every key matching `pattern`, on each master of a cluster, one key per DEL. */
export async function deleteKeys(redis: RedisClient, pattern: string): Promise<void> {
  for (const node of await keyNodes(redis)) {
    const keys = await node.keys(pattern);
    for (const k of keys) await node.del(k);
  }
}

export interface FeedScenarioOptions {
  /** Extra environment for the stack, read when the stack starts (after earlier hooks). */
  env?: () => Record<string, string>;
}

export function feedScenarios(opts: FeedScenarioOptions = {}): void {
  let stack: Stack;
  let nc: NatsConnection;
  let redis: RedisClient;
  let n = 0;

  interface Person {
    id: string;
    token: string;
  }

  async function person(): Promise<Person> {
    const username = `f_${Date.now().toString(36)}_${n++}`;
    const r = await stack.gql<{ signUp: { accessToken: string; user: { id: string } } }>(
      `mutation($input: SignUpInput!) { signUp(input: $input) { accessToken user { id } } }`,
      { input: { username, email: `${username}@example.com`, password: 'long enough pw' } },
    );
    return { id: r.data!.signUp.user.id, token: r.data!.signUp.accessToken };
  }

  async function follow(a: Person, b: Person) {
    const r = await stack.gql(
      `mutation($id: ID!) { follow(userId: $id) { user { id } } }`,
      { id: b.id },
      { token: a.token },
    );
    expect(r.errors).toBeUndefined();
  }
  async function unfollow(a: Person, b: Person) {
    const r = await stack.gql(
      `mutation($id: ID!) { unfollow(userId: $id) { user { id } } }`,
      { id: b.id },
      { token: a.token },
    );
    expect(r.errors).toBeUndefined();
  }

  async function post(author: Person, at = new Date()): Promise<string> {
    return publishPostCreated(nc, stack.cfg.NATS_PREFIX, {
      authorId: author.id,
      at,
      caption: 'hello',
    });
  }

  async function remove(author: Person, postId: string) {
    await publishEvent(nc, stack.cfg.NATS_PREFIX, 'post.deleted', {
      v: 1,
      postId,
      authorId: author.id,
      createdAt: new Date().toISOString(),
      deletedAt: new Date().toISOString(),
    });
  }

  interface Page {
    ids: string[];
    endCursor: string | null;
    hasNextPage: boolean;
  }

  async function feed(reader: Person, first = 20, after: string | null = null): Promise<Page> {
    const r = await stack.gql<{
      feed: {
        edges: { cursor: string; node: { id: string } }[];
        pageInfo: { endCursor: string | null; hasNextPage: boolean };
      };
    }>(
      `query($first: Int, $after: String) { feed(first: $first, after: $after) { edges { cursor node { id } } pageInfo { endCursor hasNextPage } } }`,
      { first, after },
      { token: reader.token },
    );
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return { ids: r.data!.feed.edges.map((e) => e.node.id), ...r.data!.feed.pageInfo };
  }

  const feedContains = (reader: Person, postId: string) =>
    eventually(
      () => feed(reader),
      (p) => p.ids.includes(postId),
    );
  const timelineKey = (userId: string) => `${stack.cfg.REDIS_KEY_PREFIX}tl:{${userId}}`;

  beforeAll(async () => {
    stack = await startStack({
      subgraphs: ['user', 'graph', 'feed'],
      env: {
        CELEBRITY_FOLLOWER_THRESHOLD: '3',
        RATE_LIMIT_AUTH_PER_MINUTE: '0',
        RATE_LIMIT_USER_PER_MINUTE: '0',
        RATE_LIMIT_IP_PER_MINUTE: '0',
        ...opts.env?.(),
      },
    });
    nc = await connectNats(stack.cfg, 'feed-test');
    redis = testRedis(stack.cfg);
  });
  afterAll(async () => {
    await nc?.close();
    redis?.disconnect();
    await stack?.close();
  });

  describe('home feed', () => {
    it('requires a signed-in reader', async () => {
      const r = await stack.gql(`{ feed { nodes { id } } }`);
      expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });

    it("pushes an ordinary author's post into every follower's timeline", async () => {
      const [author, a, b] = await Promise.all([person(), person(), person()]);
      await follow(a, author);
      await follow(b, author);
      await Promise.all([feed(a), feed(b)]); // timelines exist (built on first read)
      const postId = await post(author);
      expect((await feedContains(a, postId)).ids[0]).toBe(postId);
      expect((await feedContains(b, postId)).ids[0]).toBe(postId);
      expect(await redis.zscore(timelineKey(a.id), postId)).not.toBeNull();
    });

    it("shows a celebrity's post by pull, writing nothing to followers' timelines", async () => {
      const [star, a, b, c] = await Promise.all([person(), person(), person(), person()]);
      for (const f of [a, b, c]) await follow(f, star); // 3 followers = threshold
      await Promise.all([feed(a), feed(b), feed(c)]);
      const postId = await post(star);
      expect((await feedContains(a, postId)).ids).toContain(postId);
      expect((await feedContains(c, postId)).ids).toContain(postId);
      for (const f of [a, b, c]) expect(await redis.zscore(timelineKey(f.id), postId)).toBeNull();
    });

    it('shows the reader their own posts', async () => {
      const me = await person();
      await feed(me);
      const postId = await post(me);
      expect((await feedContains(me, postId)).ids).toEqual([postId]);
    });

    it('pages without duplicates or gaps while new posts arrive', async () => {
      const [author, reader] = await Promise.all([person(), person()]);
      await follow(reader, author);
      await feed(reader);
      const base = Date.now() - 60_000;
      const older: string[] = [];
      for (let i = 0; i < 25; i++) older.push(await post(author, new Date(base + i * 1000)));
      await eventually(
        () => feed(reader, 100),
        (p) => p.ids.length === 25,
      );

      const seen: string[] = [];
      let after: string | null = null;
      let pages = 0;
      do {
        const page: Page = await feed(reader, 7, after);
        seen.push(...page.ids);
        await post(author); // newer than everything: must not disturb later pages
        after = page.hasNextPage ? page.endCursor : null;
        pages++;
      } while (after && pages < 20);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toEqual([...older].reverse());
    });

    it('removes posts on unfollow and on delete; deleted posts never show', async () => {
      const [author, other, reader] = await Promise.all([person(), person(), person()]);
      await follow(reader, author);
      await follow(reader, other);
      await feed(reader);
      const p1 = await post(author);
      const p2 = await post(other);
      await eventually(
        () => feed(reader),
        (p) => p.ids.includes(p1) && p.ids.includes(p2),
      );

      await remove(other, p2);
      const afterDelete = await eventually(
        () => feed(reader),
        (p) => !p.ids.includes(p2),
      );
      expect(afterDelete.ids).toEqual([p1]);
      await eventually(
        () => redis.zscore(timelineKey(reader.id), p2),
        (s) => s === null,
      );

      await unfollow(reader, author);
      const afterUnfollow = await eventually(
        () => feed(reader),
        (p) => !p.ids.includes(p1),
      );
      expect(afterUnfollow.ids).toEqual([]);
    });

    it("backfills a newly followed account's recent posts", async () => {
      const [author, reader] = await Promise.all([person(), person()]);
      const p1 = await post(author, new Date(Date.now() - 2000));
      const p2 = await post(author, new Date(Date.now() - 1000));
      await feed(reader);
      // The projection must have the posts before the follow's backfill reads it.
      await eventually(
        () => stack.iso.query(`SELECT 1 FROM feed.posts WHERE post_id = $1`, [p2]),
        (r) => r.length === 1,
      );
      await follow(reader, author);
      const page = await eventually(
        () => feed(reader),
        (p) => p.ids.length === 2,
      );
      expect(page.ids).toEqual([p2, p1]);
    });

    it('rebuilds a lost timeline to the same feed, once, while concurrent reads are answered', async () => {
      const [a1, a2, star, s2, s3, reader] = await Promise.all([
        person(),
        person(),
        person(),
        person(),
        person(),
        person(),
      ]);
      for (const f of [reader, s2, s3]) await follow(f, star);
      await follow(reader, a1);
      await follow(reader, a2);
      await feed(reader);
      const ids = [await post(a1), await post(star), await post(a2), await post(reader)];
      const before = await eventually(
        () => feed(reader),
        (p) => ids.every((id) => p.ids.includes(id)),
      );

      // Lose every key of this test file's keyspace (what FLUSHALL does to a Redis restart).
      await deleteKeys(redis, `${stack.cfg.REDIS_KEY_PREFIX}*`);
      const concurrent = await Promise.all(Array.from({ length: 8 }, () => feed(reader)));
      for (const page of concurrent) expect(page.ids).toEqual(before.ids);
      expect(await redis.exists(timelineKey(reader.id))).toBe(1);
      expect((await feed(reader)).ids).toEqual(before.ids);
    });

    it('rejects bad page sizes and malformed cursors', async () => {
      const me = await person();
      for (const [first, after] of [
        [0, null],
        [101, null],
        [5, 'nope!'],
        [5, Buffer.from('[1]').toString('base64url')],
      ] as const) {
        const r = await stack.gql(
          `query($f: Int, $a: String) { feed(first: $f, after: $a) { nodes { id } } }`,
          { f: first, a: after },
          { token: me.token },
        );
        expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      }
    });
  });
}
