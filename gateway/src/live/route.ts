// GET /v1/live: Server-Sent Events for the signed-in user (docs/architecture.md, "Live
// updates"). Authenticated by `?ticket=` (createLiveTicket: single use, 30 s; a browser
// EventSource cannot send headers) or `Authorization: Bearer <accessToken>`; anything else
// is 401 { error, code: UNAUTHENTICATED }. Too many open streams (per user, per address, on
// this replica) is 429 RATE_LIMITED.
//
// Ids and gaps. Each event's id is its entry id in the user's Redis replay stream
// (lib/platform/live-publish.ts). Heartbeats carry an id too (the last id sent, or a point
// half a heartbeat in the past if later), so a client's Last-Event-ID always says when it last heard
// from a gateway, to within a heartbeat. On a reconnect with Last-Event-ID (the header, or
// `lastEventId=` for a new EventSource, which cannot set it) the stream first replays the
// entries after it, or sends `event: resync` (refetch) when it cannot vouch for the gap:
//   - the id is malformed or from the future;
//   - the client was away longer than its presence lease (4 heartbeats): `feed` hints go
//     only to connected users (subgraphs/feed/src/materializer.ts), so some were skipped;
//     this is what a gateway restart longer than that looks like;
//   - the replay stream was trimmed past the id (more than LIVE_REPLAY_MAX_EVENTS since).
// A quick restart or a dropped connection thus loses nothing: the events sent meanwhile are
// replayed. The stream subscribes before it reads Redis and holds back what arrives in
// between, so nothing falls between the replay and the live events.
//
// Lifetime: a bearer stream ends when its access token expires, a ticket stream when the
// access token behind the ticket would have (ACCESS_TOKEN_TTL_SECONDS after it was issued);
// both end within LIVE_SESSION_CHECK_SECONDS of their session being ended (logOut). The
// client reconnects with a new ticket (or a refreshed token) and its Last-Event-ID.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Config } from '../../../lib/config.js';
import { ErrorCode } from '../../../lib/contracts/errors.js';
import {
  LIVE_REPLAY_MAX_EVENTS,
  LIVE_REPLAY_SECONDS,
  liveData,
  liveReplayKey,
  type LiveMessage,
} from '../../../lib/contracts/live.js';
import {
  LIVE_TICKET_SECONDS,
  consumeLiveTicket,
  verifyLiveTicket,
} from '../../../lib/auth/live-ticket.js';
import { revokedSessionKey } from '../../../lib/auth/tokens.js';
import type { RedisClient as Redis } from '../../../lib/platform/redis.js';
import { expiryMs } from '../context.js';
import { sendError, viewerOf } from '../rest/replies.js';
import { PRESENCE_HEARTBEATS, type LiveHub, type LiveStream } from './hub.js';
import type { LiveSettings } from './settings.js';

/** Ids from further in the future than this (clock skew) are not trusted. */
const FUTURE_SKEW_MS = 5000;

type StreamId = [ms: number, seq: number];

export function parseStreamId(id: unknown): StreamId | null {
  if (typeof id !== 'string') return null;
  const m = /^(\d{1,15})-(\d{1,15})$/.exec(id);
  return m ? [Number(m[1]), Number(m[2])] : null;
}

const cmp = (a: StreamId, b: StreamId) => a[0] - b[0] || a[1] - b[1];
const fmt = (id: StreamId) => `${id[0]}-${id[1]}`;

type Entry = [id: string, fields: string[]];

/** An SSE event; `data` is one line of JSON (JSON.stringify never emits a newline). */
const sse = (event: string, id: string, data: string) =>
  `event: ${event}\nid: ${id}\ndata: ${data}\n\n`;

export function registerLiveRoute(
  http: FastifyInstance,
  deps: { cfg: Config; redis: Redis; hub: LiveHub; settings: LiveSettings },
): void {
  const { cfg, redis, hub, settings } = deps;
  const heartbeatMs = Math.max(1, settings.LIVE_HEARTBEAT_SECONDS) * 1000;
  // How far behind real time a heartbeat's id stays: room for events still in flight.
  const idLagMs = Math.min(5000, heartbeatMs / 2);

  const unauthorized = (reply: FastifyReply, message: string) =>
    sendError(reply, ErrorCode.UNAUTHENTICATED, message);

  http.get('/v1/live', async (req, reply) => {
    const query = req.query as Record<string, unknown>;
    let who: { userId: string; sessionId: string; endsAt: number };
    if (query.ticket !== undefined) {
      const given = query.ticket;
      const v =
        typeof given === 'string' ? verifyLiveTicket(cfg.INTERNAL_SIGNING_SECRET, given) : null;
      if (!v?.ok)
        return unauthorized(
          reply,
          v?.reason === 'expired'
            ? 'This live ticket has expired; create a new one (createLiveTicket)'
            : 'Invalid live ticket',
        );
      // Refused before the ticket is spent, so that the client can retry with it.
      if (!hub.admits(v.claims.userId, req.ip)) return tooMany(reply);
      const [fresh, revoked] = await Promise.all([
        consumeLiveTicket(redis, cfg.REDIS_KEY_PREFIX, v.claims),
        redis.exists(revokedSessionKey(cfg.REDIS_KEY_PREFIX, v.claims.sessionId)).catch(() => 0),
      ]);
      if (!fresh) return unauthorized(reply, 'This live ticket was already used; create a new one');
      if (revoked) return unauthorized(reply, 'This session has ended; sign in again');
      const issuedAt = v.claims.expiresAt - LIVE_TICKET_SECONDS * 1000;
      who = {
        userId: v.claims.userId,
        sessionId: v.claims.sessionId,
        endsAt: issuedAt + cfg.ACCESS_TOKEN_TTL_SECONDS * 1000,
      };
    } else if (req.headers.authorization) {
      const viewer = await viewerOf(deps, req, reply);
      if (!viewer) return reply;
      if (!viewer.userId || !viewer.sessionId) return unauthorized(reply, 'Sign in first');
      if (!hub.admits(viewer.userId, req.ip)) return tooMany(reply);
      const token = req.headers.authorization.replace(/^Bearer\s+/i, '');
      who = { userId: viewer.userId, sessionId: viewer.sessionId, endsAt: expiryMs(token) };
    } else {
      return unauthorized(
        reply,
        'Sign in: pass ?ticket= from createLiveTicket, or Authorization: Bearer <accessToken>',
      );
    }

    // A repeated header joins into one malformed id: a resync.
    const header = req.headers['last-event-id'];
    const lastEventIdRaw =
      header !== undefined
        ? String(header)
        : typeof query.lastEventId === 'string'
          ? query.lastEventId
          : undefined;
    const resumeFrom = lastEventIdRaw === undefined ? undefined : parseStreamId(lastEventIdRaw);

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      ...(reply.getHeaders() as OutgoingHttpHeaders),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      // nginx: pass each event on at once (deploy/nginx/nginx.conf also sets proxy_buffering off).
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    req.raw.socket.setNoDelay(true);

    // The stream lives in serve(): its closures must not hold this request's Fastify
    // objects (request, reply, logger) for hours.
    await serve(res, req.ip, who, lastEventIdRaw, resumeFrom);
  });

  async function serve(
    res: ServerResponse,
    ip: string,
    who: { userId: string; sessionId: string; endsAt: number },
    lastEventIdRaw: string | undefined,
    resumeFrom: StreamId | null | undefined,
  ): Promise<void> {
    let ended = false;
    let lastSent: StreamId = [0, 0];
    const stream: LiveStream = {
      userId: who.userId,
      sessionId: who.sessionId,
      ip,
      endsAt: who.endsAt,
      pending: [],
      write(text) {
        if (ended) return false;
        res.write(text);
        // A client that does not read: end it rather than buffer without bound.
        if (res.writableLength > settings.LIVE_MAX_BUFFERED_BYTES) {
          stream.end();
          return false;
        }
        return true;
      },
      end(text) {
        if (ended) return;
        ended = true;
        hub.remove(stream);
        res.end(text);
      },
      deliver(json) {
        if (stream.pending) {
          stream.pending.push(json);
          return;
        }
        send(json);
      },
      heartbeat(now) {
        // No id while the replay is still being worked out: it must not claim what it skips.
        if (stream.pending) return ': hb\n\n';
        const floor: StreamId = [now - idLagMs, 0];
        return `: hb\nid: ${fmt(cmp(lastSent, floor) > 0 ? lastSent : floor)}\n\n`;
      },
    };
    const send = (json: string) => {
      let msg: LiveMessage;
      try {
        msg = JSON.parse(json) as LiveMessage;
      } catch {
        return;
      }
      const id = parseStreamId(msg.eventId);
      if (!id || cmp(id, lastSent) <= 0) return; // replayed already
      lastSent = id;
      stream.write(sse(msg.type, msg.eventId, liveData(msg)));
    };
    res.on('close', () => {
      ended = true;
      hub.remove(stream);
    });

    try {
      // Subscribed (and the server has the subscription) before Redis is read.
      await hub.add(stream);
      const key = liveReplayKey(cfg.REDIS_KEY_PREFIX, who.userId);
      const multi = redis
        .multi()
        .time()
        .xrange(key, '-', '+', 'COUNT', 1)
        .xrevrange(key, '+', '-', 'COUNT', 1)
        .xlen(key);
      if (resumeFrom)
        multi.xrange(key, `(${fmt(resumeFrom)}`, '+', 'COUNT', LIVE_REPLAY_MAX_EVENTS * 3);
      const results = await multi.exec();
      if (!results || results.some(([err]) => err)) throw new Error('live replay read failed');
      const [time, oldest, newest, length, after] = results.map(([, v]) => v) as [
        [string, string],
        Entry[],
        Entry[],
        number,
        Entry[] | undefined,
      ];
      const nowMs = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
      const newestId = parseStreamId(newest[0]?.[0]) ?? [nowMs - 1, 0];
      if (ended) return;
      if (lastEventIdRaw === undefined) {
        // A fresh client: it reads current state with queries; events after this point follow.
        lastSent = newestId;
        stream.write(`: live\nid: ${fmt(newestId)}\n\n`);
      } else if (resumeFrom && covered(resumeFrom, nowMs, oldest, length)) {
        lastSent = resumeFrom;
        for (const [id, fields] of after ?? []) {
          const data = fields[fields.indexOf('e') + 1];
          const parsed = parseStreamId(id);
          if (!data || !parsed) continue;
          const msg = { ...(JSON.parse(data) as object), eventId: id } as LiveMessage;
          lastSent = parsed;
          stream.write(sse(msg.type, id, liveData(msg)));
        }
        if (cmp(lastSent, resumeFrom) === 0) stream.write(`: resumed\nid: ${fmt(resumeFrom)}\n\n`);
      } else {
        lastSent = newestId;
        stream.write(sse('resync', fmt(newestId), JSON.stringify({ type: 'resync' })));
      }
      const held = stream.pending ?? [];
      stream.pending = null;
      for (const json of held) send(json);
    } catch (err) {
      http.log.warn({ err }, 'live stream setup failed');
      stream.end(`retry: ${heartbeatMs}\n\n`);
    }
  }

  /**
   * Whether the replay stream still holds everything after `from`, and feed hints were
   * being recorded for the client all along (it was gone less than a presence lease).
   */
  function covered(from: StreamId, nowMs: number, oldest: Entry[], length: number): boolean {
    if (from[0] > nowMs + FUTURE_SKEW_MS) return false;
    // The lease was refreshed at least (PRESENCE_HEARTBEATS - 1) heartbeats past `from`.
    if (nowMs - from[0] > (PRESENCE_HEARTBEATS - 1) * heartbeatMs) return false;
    const first = parseStreamId(oldest[0]?.[0]);
    // Never trimmed (trimming keeps at least LIVE_REPLAY_MAX_EVENTS), or trimmed only
    // before `from`. A stream that expired did so LIVE_REPLAY_SECONDS after its last event,
    // which the client had then seen (it was here less than a lease ago).
    return (
      !first ||
      cmp(first, from) <= 0 ||
      (length < LIVE_REPLAY_MAX_EVENTS && nowMs - from[0] < LIVE_REPLAY_SECONDS * 1000)
    );
  }

  function tooMany(reply: FastifyReply) {
    const retryAfterSeconds = 30;
    void reply.header('retry-after', String(retryAfterSeconds));
    return sendError(reply, ErrorCode.RATE_LIMITED, 'Too many live streams open', {
      retryAfterSeconds,
    });
  }
}
