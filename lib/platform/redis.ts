// Redis via ioredis: a standalone server (REDIS_URL) or a Redis Cluster (REDIS_CLUSTER_NODES).
// Keys are prefixed explicitly with REDIS_KEY_PREFIX by their owners (ioredis' keyPrefix
// does not reach into Lua scripts, which the rate limiter uses). Every command, script,
// MULTI and pipeline touches keys of one hash slot only (`{userId}` hash tags), so the
// same code runs on both; see docs/failures/scale-out.md.
import { Cluster, Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { Logger } from './logger.js';

export { Cluster, Redis };

/** What createRedis returns: callers use only commands both clients have. */
export type RedisClient = Redis | Cluster;

export const isCluster = (redis: RedisClient): redis is Cluster => redis.isCluster;

/** Parses REDIS_CLUSTER_NODES ("host:port,host:port") into ioredis seed nodes. */
export function clusterNodes(list: string): { host: string; port: number }[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const at = s.lastIndexOf(':');
      const port = Number(s.slice(at + 1));
      if (at <= 0 || !Number.isInteger(port) || port <= 0)
        throw new Error(`REDIS_CLUSTER_NODES: "${s}" is not host:port`);
      return { host: s.slice(0, at), port };
    });
}

export function createRedis(
  cfg: Pick<Config, 'REDIS_URL'> & Partial<Pick<Config, 'REDIS_CLUSTER_NODES'>>,
  name: string,
  logger?: Logger,
): RedisClient {
  const common = {
    connectionName: name,
    // Fail fast instead of queueing commands while Redis is away: callers degrade.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (times: number) => Math.min(times * 200, 2000),
  };
  const redis: RedisClient = cfg.REDIS_CLUSTER_NODES
    ? new Cluster(clusterNodes(cfg.REDIS_CLUSTER_NODES), {
        redisOptions: common,
        enableOfflineQueue: false,
        // Commands issued together are batched per node (fan-out issues one per follower).
        enableAutoPipelining: true,
        clusterRetryStrategy: common.retryStrategy,
      })
    : new Redis(cfg.REDIS_URL, {
        ...common,
        // Commands issued in the same tick go out in one write: under load the gateway's
        // per-request checks and the feed's reads share syscalls across requests.
        enableAutoPipelining: true,
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
