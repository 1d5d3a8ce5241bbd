// Scale-out on real clusters, on loopback: a 3-master Redis Cluster and a 3-node NATS
// JetStream cluster with R3 streams, started here. The home feed scenarios of
// subgraphs/feed/test/feed.test.ts run unchanged against them; then a NATS node is killed
// (SIGKILL, the POSTS stream leader) while posts fan out to several followers, and
// nothing is lost: every follower gets every post exactly once, the outbox drains and the
// stream holds each event once.
import { once } from 'node:events';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamNames } from '../../lib/contracts/events.js';
import { connectNats } from '../../lib/platform/nats.js';
import { createLimiter } from '../../lib/platform/rate-limit.js';
import { createRedis, type Cluster } from '../../lib/platform/redis.js';
import {
  deleteKeys,
  feedScenarios,
  keyNodes,
  testRedis,
} from '../../subgraphs/feed/test/feed-scenarios.js';
import {
  createPost,
  feedHolding,
  feedIds,
  follow,
  pendingOutbox,
  signUp,
  type Account,
} from '../support/content.js';
import { startNatsCluster, startRedisCluster, type ManagedCluster } from '../support/processes.js';
import { startStack, type Stack } from '../support/stack.js';

let redisCluster: ManagedCluster;
let natsCluster: ManagedCluster;

const clusterEnv = () => ({
  REDIS_CLUSTER_NODES: redisCluster.seeds,
  NATS_URL: natsCluster.seeds,
  NATS_STREAM_REPLICAS: '3',
});

beforeAll(async () => {
  // Both at once; when one fails the other is still kept, so that afterAll stops it.
  const [r, n] = await Promise.allSettled([startRedisCluster(3), startNatsCluster(3)]);
  if (r.status === 'fulfilled') redisCluster = r.value;
  if (n.status === 'fulfilled') natsCluster = n.value;
  for (const s of [r, n]) if (s.status === 'rejected') throw s.reason;
}, 60_000);

afterAll(async () => {
  await Promise.all([natsCluster?.dispose(), redisCluster?.dispose()]);
});

describe('on a 3-master Redis Cluster and a 3-node NATS cluster (R3 streams)', () => {
  feedScenarios({ env: clusterEnv });
});

describe('scale-out faults', () => {
  let stack: Stack;
  const timelineKey = (userId: string) => `${stack.cfg.REDIS_KEY_PREFIX}tl:{${userId}}`;

  beforeAll(async () => {
    stack = await startStack({
      subgraphs: ['user', 'post', 'graph', 'feed'],
      env: {
        ...clusterEnv(),
        OUTBOX_POLL_MS: '200',
        MEDIA_JANITOR_INTERVAL_SECONDS: '0',
        RATE_LIMIT_AUTH_PER_MINUTE: '0',
        RATE_LIMIT_USER_PER_MINUTE: '0',
        RATE_LIMIT_IP_PER_MINUTE: '0',
      },
    });
  }, 60_000);

  afterAll(async () => {
    // The stack's cleanup deletes its streams: every node up again first.
    await Promise.all((natsCluster?.nodes ?? []).map((n) => n.start().catch(() => {})));
    await stack?.close();
  });

  it('creates R3 streams, spread over the cluster', async () => {
    const nc = await connectNats(stack.cfg, 'cluster-test');
    try {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.info(streamNames(stack.cfg.NATS_PREFIX).POSTS);
      expect(info.config.num_replicas).toBe(3);
      expect(info.cluster?.replicas?.length).toBe(2);
    } finally {
      await nc.close();
    }
  });

  it('rate-limits through the Redis Cluster', async () => {
    const redis = createRedis(stack.cfg, 'cluster-test-limiter');
    await once(redis, 'ready');
    try {
      const prefix = `${stack.cfg.REDIS_KEY_PREFIX}rl:cluster-test`;
      const limiter = createLimiter(redis, { keyPrefix: prefix, points: 2, durationSeconds: 60 });
      expect(await limiter.consume('k')).toBeNull();
      expect(await limiter.consume('k')).toBeNull();
      expect(await limiter.consume('k')).toBeGreaterThan(0);
      // The counter lives in the cluster, not in the in-process fallback.
      const check = testRedis(stack.cfg);
      try {
        const keys = await Promise.all((await keyNodes(check)).map((n) => n.keys(`${prefix}*`)));
        expect(keys.flat()).toHaveLength(1);
        await deleteKeys(check, `${prefix}*`);
      } finally {
        check.disconnect();
      }
    } finally {
      redis.disconnect();
    }
  });

  it('loses nothing when a NATS node is killed during a fan-out', async () => {
    const author = await signUp(stack, 'author');
    // Readers whose timelines live on at least two masters: a real cross-node fan-out.
    const check = testRedis(stack.cfg) as Cluster;
    await keyNodes(check);
    const readers: Account[] = [];
    const owners = new Set<string>();
    while (readers.length < 5 || (owners.size < 2 && readers.length < 20)) {
      const r = await signUp(stack, 'reader');
      readers.push(r);
      const slot = await check.cluster('KEYSLOT', timelineKey(r.id));
      owners.add(check.slots[slot]![0]!);
    }
    check.disconnect();
    expect(owners.size).toBeGreaterThan(1);
    for (const r of readers) await follow(stack, r, author);
    await Promise.all(readers.map((r) => feedIds(stack, r))); // timelines exist

    const nc = await connectNats(stack.cfg, 'cluster-test');
    const jsm = await jetstreamManager(nc);
    const stream = streamNames(stack.cfg.NATS_PREFIX).POSTS;
    try {
      const posts: string[] = [];
      for (let i = 0; i < 3; i++) posts.push(await createPost(stack, author, `before ${i}`));
      // Kill the POSTS stream leader while those posts are still fanning out.
      const leader = (await jsm.streams.info(stream)).cluster?.leader;
      const victim = natsCluster.nodes.find((_, i) => leader === `mosaic-${i}`);
      expect(victim).toBeDefined();
      await victim!.stop(true);
      for (let i = 0; i < 4; i++) posts.push(await createPost(stack, author, `during ${i}`));

      for (const r of readers) {
        const feed = await feedHolding(stack, r, posts.length);
        expect([...feed].sort()).toEqual([...posts].sort());
        expect(new Set(feed).size).toBe(feed.length);
      }
      expect(await pendingOutbox(stack, 'posts')).toBe(0);
      const info = await jsm.streams.info(stream);
      expect(info.state.messages).toBe(posts.length);
      expect(info.cluster?.leader).not.toBe(leader);
    } finally {
      await nc.close();
    }
  }, 60_000);
});
