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
import type { RedisClient } from './redis.js';

export interface LivePublisher {
  publish(userId: string, event: LiveEvent): Promise<void>;
}

export function createLivePublisher(deps: {
  nc: NatsConnection;
  redis: RedisClient;
  natsPrefix: string;
  redisKeyPrefix: string;
}): LivePublisher {
  return {
    async publish(userId, event) {
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
    },
  };
}
