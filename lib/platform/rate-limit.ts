// Redis-backed rate limiting (rate-limiter-flexible). When Redis is unreachable each
// limiter falls back to an in-process limiter with the same budget: limits loosen to
// per-replica rather than vanish, and requests keep flowing (documented in README).
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RedisClient as Redis } from './redis.js';
import { limiterName, rateLimitRejections } from './metrics.js';

export interface Limiter {
  /** Spends `points`; resolves to null when allowed, or the seconds to wait when limited. */
  consume(key: string, points?: number): Promise<number | null>;
  /** Seconds to wait when the key has already spent its budget, without spending more. */
  blocked(key: string): Promise<number | null>;
  reset(key: string): Promise<void>;
}

export function createLimiter(
  redis: Redis,
  opts: { keyPrefix: string; points: number; durationSeconds: number },
): Limiter {
  const limiter = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: opts.keyPrefix,
    points: opts.points,
    duration: opts.durationSeconds,
    insuranceLimiter: new RateLimiterMemory({
      points: opts.points,
      duration: opts.durationSeconds,
    }),
  });
  const wait = (res: RateLimiterRes) => Math.max(1, Math.ceil(res.msBeforeNext / 1000));
  const name = limiterName(opts.keyPrefix);
  return {
    async consume(key, points = 1) {
      if (opts.points === 0) return null; // 0 disables the limit
      try {
        await limiter.consume(key, points);
        return null;
      } catch (res) {
        if (res instanceof RateLimiterRes) {
          rateLimitRejections.inc({ limiter: name });
          return wait(res);
        }
        throw res;
      }
    },
    async blocked(key) {
      if (opts.points === 0) return null;
      const res = await limiter.get(key).catch(() => null);
      return res && res.remainingPoints <= 0 && res.consumedPoints >= opts.points
        ? wait(res)
        : null;
    },
    async reset(key) {
      await limiter.delete(key).catch(() => false);
    },
  };
}
