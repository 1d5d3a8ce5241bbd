// Who has a live stream open right now (GET /v1/live), for producers whose hints are only
// worth sending to connected users (the feed materializer's `feed` hints: a post to 100 k
// followers must not cost 100 k replay writes). One sorted set: member = user id, score =
// until when (ms) the user counts as connected. Each gateway re-adds its connected users
// every heartbeat with a lease of a few heartbeats, so a crashed gateway's users drop out
// on their own; nothing is removed on disconnect (another replica may hold the same user).
import type { RedisClient } from './redis.js';

/** Ids per ZMSCORE call: bounds how long one call holds Redis. */
const IDS_PER_CALL = 1000;

export const livePresenceKey = (redisKeyPrefix: string): string => `${redisKeyPrefix}live:presence`;

/** Marks users connected until `untilMs` and drops leases that ran out. */
export async function markPresent(
  redis: RedisClient,
  redisKeyPrefix: string,
  userIds: readonly string[],
  untilMs: number,
  nowMs = Date.now(),
): Promise<void> {
  const key = livePresenceKey(redisKeyPrefix);
  const multi = redis.multi();
  if (userIds.length > 0) multi.zadd(key, ...userIds.flatMap((u) => [untilMs, u]));
  multi.zremrangebyscore(key, '-inf', nowMs);
  await multi.exec();
}

/** The users among `userIds` with a live stream open (a lease not yet run out), in order. */
export async function presentAmong(
  redis: RedisClient,
  redisKeyPrefix: string,
  userIds: readonly string[],
  nowMs = Date.now(),
): Promise<string[]> {
  if (userIds.length === 0) return [];
  const key = livePresenceKey(redisKeyPrefix);
  const pipeline = redis.pipeline();
  for (let i = 0; i < userIds.length; i += IDS_PER_CALL)
    pipeline.zmscore(key, ...userIds.slice(i, i + IDS_PER_CALL));
  const present: string[] = [];
  let offset = 0;
  for (const [err, scores] of (await pipeline.exec()) ?? []) {
    if (err) throw err;
    const list = scores as (string | null)[];
    list.forEach((s, j) => {
      if (s !== null && Number(s) > nowMs) present.push(userIds[offset + j]!);
    });
    offset += list.length;
  }
  return present;
}
