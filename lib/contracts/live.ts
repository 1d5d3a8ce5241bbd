// Live hints (GET /v1/live, Server-Sent Events at the gateway): what producers publish for
// one user, and where. Live is a hint: everything an event says is also in the queries, and
// a client that missed events refetches. Events travel on NATS core subjects per user
// (`live.<userId>`, prefixed like every subject), so any gateway replica serves any user;
// the last few minutes of each user's events are also kept in Redis
// (lib/platform/live-publish.ts), so a reconnect with Last-Event-ID gets what it missed, or
// a `resync` when that is gone.

export type LiveEvent =
  /** A notification arrived or changed; the new unread count for the badge. */
  | {
      type: 'notification';
      /** The notification that changed most recently (null when none is left). */
      id: string | null;
      kind: string | null;
      unreadCount: number;
    }
  /** New posts landed in the home timeline (pushed, or a followed celebrity's, announced). */
  | { type: 'feed'; newPosts: number; postIds: string[] }
  /** An upload's background processing ended (READY or FAILED): refetch `media(id:)`. */
  | { type: 'media'; id: string; status: 'READY' | 'FAILED' };

export type LiveEventType = LiveEvent['type'];

/** How long each user's recent events are kept for Last-Event-ID replays. */
export const LIVE_REPLAY_SECONDS = 300;
/** At most this many recent events per user are kept. */
export const LIVE_REPLAY_MAX_EVENTS = 100;

/** `live.<userId>`, or `<prefix>.live.<userId>` with a NATS prefix. */
export function liveSubject(prefix: string, userId: string): string {
  return prefix ? `${prefix}.live.${userId}` : `live.${userId}`;
}

/** The Redis stream of a user's recent events (hash-tagged by user: one slot in a cluster). */
export function liveReplayKey(redisKeyPrefix: string, userId: string): string {
  return `${redisKeyPrefix}live:{${userId}}`;
}

/**
 * On NATS: the event and its `eventId` (the Redis stream id, the SSE `id:` line). The SSE
 * `data:` is the event alone, in the shapes the API promises (`{ id, kind, unreadCount }`,
 * `{ newPosts }`, `{ id, status }`, each with its `type` too).
 */
export type LiveMessage = LiveEvent & { eventId: string };

/** The SSE `data:` of a message: the event without its stream id. */
export function liveData(message: LiveMessage): string {
  const { eventId: _eventId, ...event } = message;
  return JSON.stringify(event);
}
