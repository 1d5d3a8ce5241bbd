// Progressive delay for failed sign-ins, per account (docs/failures/abuse.md). The first
// RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT failures are free; after that an attempt must wait
// LOGIN_BACKOFF_BASE_SECONDS·2^k (up to LOGIN_BACKOFF_MAX_SECONDS) since the last failure,
// so guessing from any number of addresses is slow, yet nobody can lock the owner out: a
// trusted attempt (from an address that signed in to the account before) skips the wait.
// Built on rate-limiter-flexible so that, as every limit here, it falls back to an
// in-process store while Redis is down.
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RedisClient as Redis } from '../../../lib/platform/redis.js';
import { rateLimitRejections } from '../../../lib/platform/metrics.js';

/** Failures are remembered this long after the first one (or until a success). */
const FAILURE_MEMORY_SECONDS = 24 * 3600;

export type Attempt = { wait: number } | { failures: number };

export interface LoginThrottle {
  /**
   * Before a password is checked. The attempt counts as a failure from here on (until
   * `succeeded`), so a burst of concurrent guesses cannot all slip through the free budget.
   * `wait`: refused, retry in that many seconds (nothing counted).
   */
  begin(key: string, trusted: boolean): Promise<Attempt>;
  /** After a wrong password, with `failures` from `begin`: starts the next delay. */
  failed(key: string, failures: number): Promise<void>;
  /** After a right password: the account starts afresh. */
  succeeded(key: string): Promise<void>;
}

export function createLoginThrottle(
  redis: Redis,
  opts: { keyPrefix: string; freeFailures: number; baseSeconds: number; maxSeconds: number },
): LoginThrottle {
  const { freeFailures: free, baseSeconds: base, maxSeconds: max } = opts;
  const enabled = free > 0 && base > 0 && max > 0; // 0 switches the delay off
  const failures = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: `${opts.keyPrefix}:failures`,
    points: Math.max(free, 1),
    duration: FAILURE_MEMORY_SECONDS,
    insuranceLimiter: new RateLimiterMemory({
      points: Math.max(free, 1),
      duration: FAILURE_MEMORY_SECONDS,
    }),
  });
  // One attempt at a time once the free budget is spent: a failure blocks this key for the
  // delay; when it runs out, the first attempt to consume it holds it while it is checked.
  const gateMemory = new RateLimiterMemory({ points: 1, duration: Math.max(max, 1) });
  const gate = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: `${opts.keyPrefix}:gate`,
    points: 1,
    duration: Math.max(max, 1),
    insuranceLimiter: gateMemory,
  });
  const delayAfter = (n: number) => Math.min(max, base * 2 ** (n - free));

  return {
    async begin(key, trusted) {
      if (!enabled) return { failures: 0 };
      const n = (await failures.penalty(key)).consumedPoints;
      if (n <= free || trusted) return { failures: n };
      try {
        await gate.consume(key, 1, { customDuration: delayAfter(n) });
        return { failures: n };
      } catch (err) {
        if (!(err instanceof RateLimiterRes)) throw err;
        await failures.reward(key); // not checked, so not a failure
        rateLimitRejections.inc({ limiter: 'login-account' });
        return { wait: Math.max(1, Math.ceil(err.msBeforeNext / 1000)) };
      }
    },
    async failed(key, n) {
      if (!enabled || n < free) return;
      const seconds = delayAfter(n);
      // block() is not covered by the insurance limiter: fall back by hand.
      await gate.block(key, seconds).catch(() => gateMemory.block(key, seconds));
    },
    async succeeded(key) {
      if (!enabled) return;
      await Promise.all([failures.delete(key), gate.delete(key)]);
    },
  };
}
