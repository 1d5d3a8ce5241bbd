// Home timelines in Redis: one sorted set per reader, member = post id (a small integer,
// stored compactly), score = the post's creation time in ms (taken from the id itself).
// Timelines are a cache: a missing one is rebuilt from Postgres; fan-out writes only to
// timelines that exist, so readers inactive past the TTL cost nothing until they return.
import type { RedisClient as Redis } from '../../../lib/platform/redis.js';
import { ID_EPOCH_MS } from '../../../lib/contracts/ids.js';

/** How long a rebuild may hold its lock before another reader may try. */
const REBUILD_LOCK_MS = 15_000;

/** Marks an existing (possibly empty) timeline; never shown. */
export const SENTINEL = '0';

// Adds posts to a timeline if the timeline exists, then trims it to the cap.
// KEYS[1] timeline; ARGV[1] cap; ARGV[2..] score, member pairs.
const PUSH_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[1], unpack(ARGV, 2))
local cap = tonumber(ARGV[1])
-- Rank 0 is the sentinel (score 0): keep it and the newest cap posts.
if redis.call('ZCARD', KEYS[1]) > cap + 1 then redis.call('ZREMRANGEBYRANK', KEYS[1], 1, -cap - 1) end
return 1`;

// The same for many timelines in one call (standalone Redis): one command per 1,000
// followers instead of one per follower, which is what makes fan-out cheap. Redis Cluster
// cannot run a script over keys in different slots, so there the per-key script is used.
// KEYS timelines; ARGV[1] cap; ARGV[2] score; ARGV[3] member.
const PUSH_MANY_LUA = `
local cap = tonumber(ARGV[1])
local n = 0
for _, k in ipairs(KEYS) do
  if redis.call('EXISTS', k) == 1 then
    redis.call('ZADD', k, ARGV[2], ARGV[3])
    if redis.call('ZCARD', k) > cap + 1 then redis.call('ZREMRANGEBYRANK', k, 1, -cap - 1) end
    n = n + 1
  end
end
return n`;

/** Timelines per multi-key script call: bounds how long one call holds Redis (about 1 ms). */
const KEYS_PER_CALL = 1000;

export const scoreOf = (postId: bigint | string): number =>
  Number(BigInt(postId) >> 23n) + ID_EPOCH_MS;

export interface Timelines {
  key(userId: string): string;
  /** Pushes one post to many timelines (those that exist), pipelined. Returns deliveries. */
  push(userIds: readonly string[], postId: string): Promise<number>;
  /** Adds several posts to one timeline (if it exists). */
  pushMany(userId: string, postIds: readonly string[]): Promise<void>;
  /** Removes posts from many timelines, pipelined. */
  remove(userIds: readonly string[], postIds: readonly string[]): Promise<void>;
  /**
   * Newest entries strictly older than `before` (post id), newest first, up to `limit`;
   * null when the timeline does not exist, 'rebuilding' while another reader rebuilds it.
   */
  page(
    userId: string,
    before: bigint | null,
    limit: number,
  ): Promise<bigint[] | null | 'rebuilding'>;
  /** Takes the single-flight rebuild lock for a reader; false when someone else has it. */
  lockRebuild(userId: string): Promise<boolean>;
  unlockRebuild(userId: string): Promise<void>;
  /**
   * Creates an empty timeline (just the sentinel) so that fan-out starts landing in it;
   * a rebuild calls this before it reads Postgres, then fills it with pushMany.
   */
  begin(userId: string): Promise<void>;
}

export function createTimelines(
  redis: Redis,
  opts: { prefix: string; cap: number; ttlSeconds: number; cluster?: boolean },
): Timelines {
  // Hash tag around the user id: every command touches one key, so Redis Cluster is fine.
  const key = (userId: string) => `${opts.prefix}tl:{${userId}}`;
  const lockKey = (userId: string) => `${opts.prefix}tl-rebuild:{${userId}}`;
  redis.defineCommand('mosaicTimelinePush', { numberOfKeys: 1, lua: PUSH_LUA });
  redis.defineCommand('mosaicTimelinePushMany', { lua: PUSH_MANY_LUA });
  type WithPush = {
    mosaicTimelinePush(
      key: string,
      cap: number,
      ...scoreMembers: (string | number)[]
    ): Promise<number>;
    mosaicTimelinePushMany(numKeys: number, ...keysThenArgs: (string | number)[]): Promise<number>;
  };
  const pushArgs = (postIds: readonly string[]) => postIds.flatMap((id) => [scoreOf(id), id]);

  return {
    key,
    async push(userIds, postId) {
      if (userIds.length === 0) return 0;
      if (!opts.cluster) {
        const pipeline = redis.pipeline() as unknown as WithPush & {
          exec(): Promise<[Error | null, unknown][] | null>;
        };
        for (let i = 0; i < userIds.length; i += KEYS_PER_CALL) {
          const keys = userIds.slice(i, i + KEYS_PER_CALL).map(key);
          void pipeline.mosaicTimelinePushMany(
            keys.length,
            ...keys,
            opts.cap,
            scoreOf(postId),
            postId,
          );
        }
        let delivered = 0;
        for (const [err, n] of (await pipeline.exec()) ?? []) {
          if (err) throw err;
          delivered += Number(n);
        }
        return delivered;
      }
      // Cluster: a pipeline may not span nodes, so one call per timeline; the cluster
      // client's auto-pipelining batches them per node.
      const args = pushArgs([postId]);
      const results = await Promise.all(
        userIds.map((u) =>
          (redis as unknown as WithPush).mosaicTimelinePush(key(u), opts.cap, ...args),
        ),
      );
      return results.filter((r) => r === 1).length;
    },
    async pushMany(userId, postIds) {
      if (postIds.length === 0) return;
      await (redis as unknown as WithPush).mosaicTimelinePush(
        key(userId),
        opts.cap,
        ...pushArgs(postIds),
      );
    },
    async remove(userIds, postIds) {
      if (userIds.length === 0 || postIds.length === 0) return;
      if (opts.cluster) {
        await Promise.all(userIds.map((u) => redis.zrem(key(u), ...postIds)));
        return;
      }
      const pipeline = redis.pipeline();
      for (const u of userIds) pipeline.zrem(key(u), ...postIds);
      const results = (await pipeline.exec()) ?? [];
      for (const [err] of results) if (err) throw err;
    },
    async page(userId, before, limit) {
      const k = key(userId);
      const max = before === null ? '+inf' : String(scoreOf(before));
      // Entries sharing the cursor's millisecond come back too and are filtered below; ask
      // for a few extra so that a page is still full after filtering.
      const [[e1, exists], [e2, raw], [e3, rebuilding]] = (await redis
        .multi()
        .exists(k)
        .zrevrangebyscore(k, max, '-inf', 'LIMIT', 0, limit + 16)
        .exists(lockKey(userId))
        .expire(k, opts.ttlSeconds)
        .exec()) as [
        [Error | null, number],
        [Error | null, string[]],
        [Error | null, number],
        unknown,
      ];
      const failed = e1 ?? e2 ?? e3;
      if (failed) throw failed;
      if (rebuilding) return 'rebuilding';
      if (!exists) return null;
      return raw
        .filter((m) => m !== SENTINEL)
        .map((m) => BigInt(m))
        .filter((id) => before === null || id < before)
        .sort((a, b) => (a > b ? -1 : a < b ? 1 : 0))
        .slice(0, limit);
    },
    async lockRebuild(userId) {
      return (await redis.set(lockKey(userId), '1', 'PX', REBUILD_LOCK_MS, 'NX')) === 'OK';
    },
    async unlockRebuild(userId) {
      await redis.del(lockKey(userId));
    },
    async begin(userId) {
      const k = key(userId);
      await redis.multi().zadd(k, 0, SENTINEL).expire(k, opts.ttlSeconds).exec();
    },
  };
}
