// Publishing a live hint for one user (lib/contracts/live.ts): first into the user's replay
// stream in Redis (its id becomes the SSE event id, so a reconnect with Last-Event-ID can
// resume), then on the user's NATS subject for the gateways holding their streams. Best
// effort by design: live is a hint, so a failure is logged by the caller and never fails the
// work that caused it.
import {
  LIVE_REPLAY_MAX_EVENTS,
  LIVE_REPLAY_SECONDS,
  liveReplayKey,
  liveSubject,
  type LiveEvent,
  type LiveMessage,
} from '../contracts/live.js';
import type { NatsConnection } from './nats.js';
import { isCluster, type RedisClient } from './redis.js';

export interface LivePublisher {
  publish(userId: string, event: LiveEvent): Promise<void>;
  /**
   * The same event for many users (a feed hint to a post's connected followers): one Redis
   * pipeline for all their replay streams instead of a round trip each.
   */
  publishMany(userIds: readonly string[], event: LiveEvent): Promise<void>;
}

export function createLivePublisher(deps: {
  nc: NatsConnection;
  redis: RedisClient;
  natsPrefix: string;
  redisKeyPrefix: string;
}): LivePublisher {
  const publish = async (userId: string, event: LiveEvent): Promise<void> => {
    const key = liveReplayKey(deps.redisKeyPrefix, userId);
    const results = await deps.redis
      .multi()
      .xadd(key, 'MAXLEN', '~', String(LIVE_REPLAY_MAX_EVENTS), '*', 'e', JSON.stringify(event))
      .expire(key, LIVE_REPLAY_SECONDS)
      .exec();
    const id = results?.[0]?.[1];
    if (!results || results.some(([err]) => err) || typeof id !== 'string')
      throw new Error('live replay write failed');
    const message: LiveMessage = { ...event, id };
    deps.nc.publish(liveSubject(deps.natsPrefix, userId), JSON.stringify(message));
  };
  return {
    publish,
    async publishMany(userIds, event) {
      if (userIds.length === 0) return;
      // A cluster pipeline may not span slots: one MULTI per user, batched per node by the client.
      if (isCluster(deps.redis)) {
        await Promise.all(userIds.map((u) => publish(u, event)));
        return;
      }
      const data = JSON.stringify(event);
      const pipeline = deps.redis.pipeline();
      for (const userId of userIds) {
        const key = liveReplayKey(deps.redisKeyPrefix, userId);
        pipeline
          .xadd(key, 'MAXLEN', '~', String(LIVE_REPLAY_MAX_EVENTS), '*', 'e', data)
          .expire(key, LIVE_REPLAY_SECONDS);
      }
      const results = (await pipeline.exec()) ?? [];
      userIds.forEach((userId, i) => {
        const [err, id] = results[i * 2] ?? [new Error('missing reply')];
        // One user's failed write costs that user a hint, not everyone theirs.
        if (err || typeof id !== 'string') return;
        const message: LiveMessage = { ...event, id };
        deps.nc.publish(liveSubject(deps.natsPrefix, userId), JSON.stringify(message));
      });
    },
  };
}
