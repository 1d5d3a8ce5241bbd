// The user subgraph's hand-wired context: long-lived clients (AppContext) plus what each
// request adds (RequestContext).
import type pg from 'pg';
import type { RedisClient as Redis } from '../../../lib/platform/redis.js';
import type { Config } from '../../../lib/config.js';
import type { GraphClient } from '../../../lib/clients/graph-client.js';
import type { PrismaClient } from '../../../lib/platform/db.js';
import type { Logger } from '../../../lib/platform/logger.js';
import type { Limiter } from '../../../lib/platform/rate-limit.js';
import type { Viewer } from '../../../lib/auth/viewer-context.js';
import type { KnownIps } from './known-ips.js';
import type { LoginThrottle } from './login-throttle.js';
import type { UserLoaders } from './loaders.js';

export interface AppContext {
  cfg: Config;
  logger: Logger;
  pool: pg.Pool;
  prisma: PrismaClient;
  redis: Redis;
  /** The visibility rule (user lookups are null for someone who blocked the viewer). */
  graph: GraphClient;
  limits: {
    /** Progressive delay after failed logIns, per account (user id, else normalized login). */
    loginThrottle: LoginThrottle;
    /** Addresses that signed in to an account: they skip its login delay. */
    knownIps: KnownIps;
    /** Failed logIns per client IP, per 15 minutes. */
    loginFailuresPerIp: Limiter;
    /** refreshSession calls per session (refresh family), per minute. */
    refreshPerSession: Limiter;
  };
}

export interface RequestContext {
  app: AppContext;
  viewer: Viewer;
  loaders: UserLoaders;
  /** Set by signUp/logIn/refreshSession: the user the returned session belongs to. */
  signedInUserId?: string;
}
