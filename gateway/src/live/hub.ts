// The open live streams of one gateway process (GET /v1/live, route.ts). Each connected user
// has ONE NATS core subscription on their subject (lib/contracts/live.ts liveSubject), shared
// by all their streams here and dropped with the last one, so any replica serves any user and
// nothing is subscribed for users who left. One timer serves every stream: heartbeats,
// presence leases (lib/platform/live-presence.ts), lifetimes; a second one checks sessions.
import type { Subscription } from '@nats-io/transport-node';
import type { Config } from '../../../lib/config.js';
import { liveSubject } from '../../../lib/contracts/live.js';
import { revokedSessionKey } from '../../../lib/auth/tokens.js';
import type { Logger } from '../../../lib/platform/logger.js';
import { markPresent } from '../../../lib/platform/live-presence.js';
import type { NatsConnection } from '../../../lib/platform/nats.js';
import type { RedisClient as Redis } from '../../../lib/platform/redis.js';
import type { LiveSettings } from './settings.js';

/**
 * Presence leases last this many heartbeats: a client that reconnects within 3 of them
 * (route.ts) was counted as connected all along, so no feed hint was skipped for it.
 */
export const PRESENCE_HEARTBEATS = 4;

export interface LiveStream {
  userId: string;
  sessionId: string;
  ip: string;
  /** When the stream ends on its own (the access token behind it would have expired). */
  endsAt: number;
  /** Writes SSE text; false when the client is too slow (the stream is ended). */
  write(text: string): boolean;
  /** Ends the response (the client reconnects after `retry`). */
  end(text?: string): void;
  /** NATS messages held back while the replay is being sent (route.ts), else null. */
  pending: string[] | null;
  /** Called with each NATS message (the LiveMessage JSON). */
  deliver(json: string): void;
  /** The heartbeat to write now (a comment line and the id to resume from). */
  heartbeat(nowMs: number): string;
}

export interface LiveHub {
  /** Whether one more stream for this user from this address is allowed here. */
  admits(userId: string, ip: string): boolean;
  /** Registers a stream; resolves once its NATS subscription is in place at the server. */
  add(stream: LiveStream): Promise<void>;
  remove(stream: LiveStream): void;
  /** Open streams and NATS subscriptions held (tests, metrics). */
  stats(): { streams: number; subscriptions: number };
  /** Ends every stream (with a jittered `retry` so clients do not all come back at once). */
  close(): Promise<void>;
}

export function createLiveHub(deps: {
  cfg: Config;
  settings: LiveSettings;
  nc: NatsConnection;
  redis: Redis;
  logger: Logger;
}): LiveHub {
  const { cfg, settings, nc, redis, logger } = deps;
  const byUser = new Map<string, Set<LiveStream>>();
  const subs = new Map<string, Subscription>();
  const perIp = new Map<string, number>();
  let streams = 0;
  let closed = false;

  const heartbeatMs = Math.max(1, settings.LIVE_HEARTBEAT_SECONDS) * 1000;
  const leaseMs = PRESENCE_HEARTBEATS * heartbeatMs;
  const refreshPresence = () => {
    if (byUser.size === 0) return;
    const now = Date.now();
    markPresent(redis, cfg.REDIS_KEY_PREFIX, [...byUser.keys()], now + leaseMs, now).catch(
      (err: unknown) => logger.warn({ err }, 'live presence refresh failed'),
    );
  };

  const heartbeat = setInterval(() => {
    const now = Date.now();
    for (const set of byUser.values()) {
      for (const s of set) {
        if (s.endsAt <= now) s.end(`retry: ${jitterMs()}\n\n`);
        else s.write(s.heartbeat(now));
      }
    }
    refreshPresence();
  }, heartbeatMs);
  heartbeat.unref();

  // Ended sessions (logOut, logOutEverywhere, a reused refresh token): one EXISTS per
  // distinct session, pipelined, every LIVE_SESSION_CHECK_SECONDS.
  const sessionCheck = setInterval(
    () => {
      const sessions = new Map<string, LiveStream[]>();
      for (const set of byUser.values())
        for (const s of set) sessions.set(s.sessionId, [...(sessions.get(s.sessionId) ?? []), s]);
      if (sessions.size === 0) return;
      const ids = [...sessions.keys()];
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.exists(revokedSessionKey(cfg.REDIS_KEY_PREFIX, id));
      pipeline
        .exec()
        .then((results) => {
          (results ?? []).forEach(([err, n], i) => {
            if (!err && n === 1) for (const s of sessions.get(ids[i]!) ?? []) s.end();
          });
        })
        .catch((err: unknown) => logger.warn({ err }, 'live session check failed'));
    },
    Math.max(1, settings.LIVE_SESSION_CHECK_SECONDS) * 1000,
  );
  sessionCheck.unref();

  const subscribe = (userId: string) => {
    const sub = nc.subscribe(liveSubject(cfg.NATS_PREFIX, userId), {
      callback: (err, msg) => {
        if (err) return;
        const json = msg.string();
        for (const s of byUser.get(userId) ?? []) s.deliver(json);
      },
    });
    subs.set(userId, sub);
  };

  return {
    admits(userId, ip) {
      if (closed) return false;
      const mine = byUser.get(userId)?.size ?? 0;
      return (
        mine < settings.LIVE_MAX_STREAMS_PER_USER &&
        (perIp.get(ip) ?? 0) < settings.LIVE_MAX_STREAMS_PER_IP
      );
    },
    async add(stream) {
      let set = byUser.get(stream.userId);
      if (!set) {
        byUser.set(stream.userId, (set = new Set()));
        subscribe(stream.userId);
      }
      set.add(stream);
      perIp.set(stream.ip, (perIp.get(stream.ip) ?? 0) + 1);
      streams++;
      const now = Date.now();
      // A PING round trip: the server has processed the SUB before the replay is read; and
      // the user counts as connected (feed hints) from now on.
      await Promise.all([
        nc.flush(),
        markPresent(redis, cfg.REDIS_KEY_PREFIX, [stream.userId], now + leaseMs, now),
      ]);
    },
    remove(stream) {
      const set = byUser.get(stream.userId);
      if (!set?.delete(stream)) return;
      streams--;
      const n = (perIp.get(stream.ip) ?? 1) - 1;
      if (n > 0) perIp.set(stream.ip, n);
      else perIp.delete(stream.ip);
      if (set.size > 0) return;
      byUser.delete(stream.userId);
      subs.get(stream.userId)?.unsubscribe();
      subs.delete(stream.userId);
    },
    stats: () => ({ streams, subscriptions: subs.size }),
    async close() {
      closed = true;
      clearInterval(heartbeat);
      clearInterval(sessionCheck);
      for (const set of [...byUser.values()])
        for (const s of [...set]) s.end(`retry: ${jitterMs()}\n\n`);
    },
  };
}

/** 1-5 s: after a restart, clients come back spread over a few seconds, not all at once. */
function jitterMs(): number {
  return 1000 + Math.floor(Math.random() * 4000);
}
