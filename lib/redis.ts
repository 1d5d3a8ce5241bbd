// Redis via ioredis. Keys are prefixed explicitly with REDIS_KEY_PREFIX by their owners
// (ioredis' keyPrefix does not reach into Lua scripts, which the rate limiter uses).
import { Redis } from 'ioredis';
import type { Config } from './config.js';
import type { Logger } from './logger.js';

export { Redis };

export function createRedis(cfg: Pick<Config, 'REDIS_URL'>, name: string, logger?: Logger): Redis {
  const redis = new Redis(cfg.REDIS_URL, {
    connectionName: name,
    // Fail fast instead of queueing commands while Redis is away: callers degrade.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  // Without a listener ioredis prints every failed reconnect; log the first of each outage.
  let down = false;
  redis.on('error', (err: Error) => {
    if (!down) logger?.warn({ err: err.message }, 'redis unavailable; retrying');
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger?.info('redis available again');
    down = false;
  });
  return redis;
}
