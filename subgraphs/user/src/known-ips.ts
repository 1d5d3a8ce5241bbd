// Addresses that recently signed in to an account (signUp or logIn): a sorted set per
// account, scored by the time of the last success, newest MAX_PER_ACCOUNT kept for
// LOGIN_KNOWN_IP_DAYS. A right password from one of them skips the account's login delay.
import type { RedisClient as Redis } from '../../../lib/platform/redis.js';
import type { Logger } from '../../../lib/platform/logger.js';

const MAX_PER_ACCOUNT = 10;

export interface KnownIps {
  has(accountKey: string, ip: string): Promise<boolean>;
  remember(accountKey: string, ip: string): Promise<void>;
}

export function createKnownIps(
  redis: Redis,
  logger: Logger,
  opts: { keyPrefix: string; days: number },
): KnownIps {
  const ttlMs = opts.days * 86_400_000;
  // Hash tag: each call touches one key, so Redis Cluster is fine.
  const key = (accountKey: string) => `${opts.keyPrefix}known-ips:{${accountKey}}`;
  return {
    async has(accountKey, ip) {
      if (ttlMs <= 0) return false;
      // Unreachable Redis: nobody is known, so the delay (in its in-process form) applies.
      const score = await redis.zscore(key(accountKey), ip).catch(() => null);
      return score !== null && Number(score) > Date.now() - ttlMs;
    },
    async remember(accountKey, ip) {
      if (ttlMs <= 0) return;
      const k = key(accountKey);
      const now = Date.now();
      await redis
        .multi()
        .zadd(k, now, ip)
        .zremrangebyscore(k, '-inf', now - ttlMs)
        .zremrangebyrank(k, 0, -(MAX_PER_ACCOUNT + 1))
        .pexpire(k, ttlMs)
        .exec()
        .catch((err: unknown) => logger.warn({ err }, 'could not remember sign-in address'));
    },
  };
}
