// npm run bench feed — fan-out against raw pipelined ZADD, fan-out time by follower count,
// post-to-visible latency for 10,000 followers, and Redis memory per timeline entry.
// (Feed page throughput through the gateways is measured by bench/feed-read.bench.ts.)
import { jetstream } from '@nats-io/jetstream';
import { Redis } from 'ioredis';
import pg from 'pg';
import { parseConfig } from '../lib/config.js';
import { subjectFor } from '../lib/contracts/events.js';
import { idAt } from '../lib/contracts/ids.js';
import { connectNats, deleteStreams } from '../lib/platform/nats.js';
import type { RunningService } from '../lib/platform/http/server.js';
import { SUBGRAPHS } from '../scripts/services.js';
import { createFeedApp } from '../subgraphs/feed/src/service.js';
import { fanOut } from '../subgraphs/feed/src/materializer.js';
import { scoreOf } from '../subgraphs/feed/src/timelines.js';
import { benchEnv, freePort, startChild, summarize, writeResults } from './support.js';

const CAP = 800;
let seq = 0;
const newPostId = () => (idAt(new Date()) | (2n << 10n) | BigInt(seq++ % 1024)).toString();

/** Author `authorId` gets `count` followers with ids base..base+count-1, each with a timeline. */
async function makeFollowers(
  pool: pg.Pool,
  redis: Redis,
  prefix: string,
  authorId: bigint,
  base: number,
  count: number,
) {
  await pool.query(
    `INSERT INTO graph.follows (follower_id, followee_id) SELECT g, $1::bigint FROM generate_series($2::bigint, $2::bigint + $3 - 1) g`,
    [authorId.toString(), base, count],
  );
  await pool.query(
    `INSERT INTO graph.user_stats (user_id, follower_count) VALUES ($1, $2)
     ON CONFLICT (user_id) DO UPDATE SET follower_count = graph.user_stats.follower_count + $2`,
    [authorId.toString(), count],
  );
  for (let i = 0; i < count; i += 5000) {
    const p = redis.pipeline();
    for (let j = i; j < Math.min(count, i + 5000); j++) p.zadd(`${prefix}tl:{${base + j}}`, 0, '0');
    await p.exec();
  }
  return Array.from({ length: count }, (_, i) => String(base + i));
}

async function rawZadd(
  redis: Redis,
  prefix: string,
  followers: string[],
  postId: string,
): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < followers.length; i += 1000) {
    const p = redis.pipeline();
    for (const f of followers.slice(i, i + 1000))
      p.zadd(`${prefix}raw:{${f}}`, scoreOf(postId), postId);
    await p.exec();
  }
  return followers.length / ((performance.now() - t) / 1000);
}

export async function run(): Promise<void> {
  const env = await benchEnv('feed');
  const cfg = parseConfig({
    ...process.env,
    ...env.env,
    FEED_TIMELINE_CAP: String(CAP),
    CELEBRITY_FOLLOWER_THRESHOLD: '150000',
  });
  const pool = new pg.Pool({ connectionString: env.databaseUrl, max: 4 });
  const redis = new Redis(cfg.REDIS_URL);
  const prefix = cfg.REDIS_KEY_PREFIX;
  const running: RunningService[] = [];
  const results: Record<string, unknown> = {};
  try {
    // Compact sorted sets (listpack) up to the cap: the memory target depends on it.
    const [, before] = (await redis.config('GET', 'zset-max-listpack-entries')) as [string, string];
    await redis.config('SET', 'zset-max-listpack-entries', String(CAP + 8));
    results.redisConfig = {
      'zset-max-listpack-entries': { before: Number(before), during: CAP + 8 },
    };

    // The graph runs in a process of its own, as deployed: its HTTP work must not share the
    // fan-out's event loop.
    const graph = await startChild('graph', {
      ...env.env,
      GRAPH_PORT: String(await freePort()),
      CELEBRITY_FOLLOWER_THRESHOLD: '150000',
    });
    running.push(graph);
    const feedCfg = { ...cfg, SUBGRAPH_GRAPH_URL: graph.url };
    const app = await createFeedApp(feedCfg);

    // 1) Fan-out throughput vs raw pipelined ZADD over the same 100,000 keys, same run.
    const author = 1n;
    const followers = await makeFollowers(pool, redis, prefix, author, 10_000_000, 100_000);
    const rawRates: number[] = [];
    const fanRates: number[] = [];
    for (let round = 0; round < 3; round++) {
      rawRates.push(await rawZadd(redis, prefix, followers, newPostId()));
      const t = performance.now();
      const stats = await fanOut(app, author.toString(), [newPostId()]);
      fanRates.push(stats.deliveries / ((performance.now() - t) / 1000));
    }
    const best = (xs: number[]) => Math.round(Math.max(...xs));
    results.fanoutThroughput = {
      followers: followers.length,
      rawPipelinedZaddPerSecond: best(rawRates),
      fanoutDeliveriesPerSecond: best(fanRates),
      ratio: Math.round((Math.max(...fanRates) / Math.max(...rawRates)) * 100) / 100,
      target: '>= 0.5',
    };
    console.log(results.fanoutThroughput);

    // 2) Fan-out time by follower count (the last one is above the celebrity threshold: pulled).
    const byCount: Record<string, number> = {};
    let base = 20_000_000;
    for (const [i, count] of [1_000, 10_000, 100_000, 200_000].entries()) {
      const a = BigInt(100 + i);
      await makeFollowers(pool, redis, prefix, a, base, count);
      base += count;
      const celebrity = count >= cfg.CELEBRITY_FOLLOWER_THRESHOLD;
      const t = performance.now();
      if (!celebrity || (await app.graph.celebritiesAmong([a.toString()])).length === 0)
        await fanOut(app, a.toString(), [newPostId()]);
      byCount[celebrity ? `${count} (celebrity: pulled, no fan-out)` : String(count)] = Math.round(
        performance.now() - t,
      );
    }
    results.fanoutMsByFollowerCount = byCount;
    console.log(byCount);

    // 3) Post-to-visible latency for 10,000 followers through the materializer.
    const feed = await SUBGRAPHS.feed!(feedCfg, 0);
    running.push(feed);
    const nc = await connectNats(cfg, 'bench-feed');
    const js = jetstream(nc);
    const latencyAuthor = 2n;
    const tenK = await makeFollowers(pool, redis, prefix, latencyAuthor, 40_000_000, 10_000);
    const samples: number[] = [];
    for (let k = 0; k < 20; k++) {
      const postId = newPostId();
      const watch = Array.from({ length: 50 }, (_, i) => tenK[Math.floor((i * tenK.length) / 50)]!);
      watch.push(tenK.at(-1)!);
      const start = performance.now();
      await js.publish(
        subjectFor(cfg.NATS_PREFIX, 'post.created'),
        JSON.stringify({
          v: 1,
          postId,
          authorId: latencyAuthor.toString(),
          createdAt: new Date().toISOString(),
          caption: '',
          hashtags: [],
          media: [],
        }),
        { msgID: postId },
      );
      const pending = new Set(watch);
      while (pending.size && performance.now() - start < 30_000) {
        const p = redis.pipeline();
        const order = [...pending];
        for (const f of order) p.zscore(`${prefix}tl:{${f}}`, postId);
        const res = (await p.exec()) ?? [];
        const now = performance.now() - start;
        res.forEach(([, score], i) => {
          if (score !== null) {
            pending.delete(order[i]!);
            samples.push(now);
          }
        });
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    results.postToVisibleMs = {
      followers: 10_000,
      posts: 20,
      sampledFollowersPerPost: 51,
      ...summarize(samples),
    };
    console.log(results.postToVisibleMs);
    await nc.close();

    // 4) Memory per timeline entry: full timelines (cap entries) sampled with MEMORY USAGE.
    const sample = followers.slice(0, 200);
    for (let i = 0; i < CAP; i += 100) {
      const p = redis.pipeline();
      for (const f of sample)
        for (let j = 0; j < 100; j++) {
          const id = newPostId();
          p.zadd(`${prefix}tl:{${f}}`, scoreOf(id), id);
        }
      await p.exec();
    }
    let bytes = 0;
    let entries = 0;
    for (const f of sample) {
      bytes += (await redis.memory('USAGE', `${prefix}tl:{${f}}`, 'SAMPLES', 0)) ?? 0;
      entries += await redis.zcard(`${prefix}tl:{${f}}`);
    }
    const encoding = await redis.object('ENCODING', `${prefix}tl:{${sample[0]}}`);
    results.redisBytesPerTimelineEntry = {
      timelines: sample.length,
      entries,
      bytesPerEntry: Math.round((bytes / entries) * 10) / 10,
      encoding,
      target: '<= 32',
    };
    console.log(results.redisBytesPerTimelineEntry);

    await redis.config('SET', 'zset-max-listpack-entries', before);
    await app.pool.end();
    app.redis.disconnect();
    const file = await writeResults('feed', results);
    console.log(`results: ${file}`);
  } finally {
    for (const s of running.reverse()) await s.close();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 10_000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0');
    const nc = await connectNats(cfg, 'bench-cleanup');
    await deleteStreams(nc, cfg.NATS_PREFIX).finally(() => nc.close());
    redis.disconnect();
    await pool.end();
    await env.drop();
  }
}
