// The notification consumers: durable JetStream consumers of graph, engagement and post events
// that keep each user's notifications (store.ts). Handlers are idempotent and order-free (each
// write is last-writer-wins on event times), so redeliveries and races between the three
// streams converge. Calls to other services (usernames, visibility) happen before the
// transaction; a change then publishes a live hint with the recipient's new unread count.
import type { NatsConnection } from '@nats-io/transport-node';
import { startConsumer, type RunningConsumer } from '../../../lib/platform/consumer.js';
import { withTransaction } from '../../../lib/platform/db.js';
import { createLivePublisher, type LivePublisher } from '../../../lib/platform/live-publish.js';
import { extractMentions } from '../../../lib/contracts/mentions.js';
import {
  ENGAGEMENT_COMMENT_DELETED,
  ENGAGEMENT_COMMENTED,
  ENGAGEMENT_LIKED,
  ENGAGEMENT_UNLIKED,
  GRAPH_BLOCKED,
  GRAPH_FOLLOW_REQUEST_REMOVED,
  GRAPH_FOLLOW_REQUESTED,
  GRAPH_FOLLOWED,
  GRAPH_UNBLOCKED,
  POST_CREATED,
  POST_DELETED,
  POST_UPDATED,
  streamNames,
  subjectFor,
  type ContractEvent,
  type EngagementCommentedV1,
} from '../../../lib/contracts/events.js';
import type { AppContext } from './context.js';
import {
  addActivity,
  applyCaptionMentions,
  deleteSubject,
  recordBlock,
  latestNotification,
  unreadCount,
  withdrawActivity,
  type Db,
  type Target,
} from './store.js';

const RETRIES = new Set(['40P01', '40001']); // deadlock, serialization failure

/**
 * Runs one event's writes in a transaction (retried at once on a deadlock: events touching
 * several groups may lock them in different orders) and returns the recipients it changed.
 */
async function write(app: AppContext, fn: (db: Db) => Promise<string[]>): Promise<string[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await withTransaction(app.pool, fn);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (attempt >= 5 || typeof code !== 'string' || !RETRIES.has(code)) throw err;
    }
  }
}

const one = async (changed: Promise<boolean>, recipientId: string): Promise<string[]> =>
  (await changed) ? [recipientId] : [];

/**
 * The users among `usernames` who may see `authorId`'s posts: one username lookup, then the
 * visibility rule asked as each mentioned user (at most MAX_MENTIONS calls, in parallel).
 */
async function mentionable(
  app: AppContext,
  usernames: readonly string[],
  authorId: string,
): Promise<string[]> {
  if (usernames.length === 0) return [];
  const users = await app.users.byUsernames(usernames);
  const allowed = await Promise.all(
    users.map(async (u) => {
      if (u.id === authorId) return null;
      const v = await app.graph.visibility(u.id, [authorId]);
      return v.contentHidden.includes(authorId) || v.profileHidden.includes(authorId) ? null : u.id;
    }),
  );
  return allowed.filter((id): id is string => id !== null);
}

async function onCommented(app: AppContext, e: EngagementCommentedV1): Promise<string[]> {
  const base = { postId: e.postId, postAuthorId: e.postAuthorId, commentId: e.commentId };
  // One notification per user per comment: the replied-to author gets REPLIED (also when they
  // wrote the post), the post's author COMMENTED, anyone else named in it MENTIONED.
  const direct: Target[] = [];
  if (e.replyToAuthorId) {
    direct.push({
      ...base,
      recipientId: e.replyToAuthorId,
      kind: 'REPLIED',
      groupKey: e.commentId,
    });
  }
  if (e.postAuthorId !== e.replyToAuthorId) {
    direct.push({ ...base, recipientId: e.postAuthorId, kind: 'COMMENTED', groupKey: e.commentId });
  }
  const covered = new Set([e.authorId, ...direct.map((t) => t.recipientId)]);
  const mentioned = (await mentionable(app, extractMentions(e.text), e.postAuthorId)).filter(
    (id) => !covered.has(id),
  );
  return write(app, async (db) => {
    const changed: string[] = [];
    const targets: Target[] = [
      ...direct,
      ...mentioned.map((recipientId): Target => ({
        ...base,
        recipientId,
        kind: 'MENTIONED',
        groupKey: `c:${e.commentId}`,
      })),
    ];
    for (const t of targets) {
      if (await addActivity(db, t, e.authorId, e.createdAt)) changed.push(t.recipientId);
    }
    return changed;
  });
}

async function onCaption(
  app: AppContext,
  post: { postId: string; authorId: string; caption: string },
  versionAt: string,
): Promise<string[]> {
  const mentioned = await mentionable(app, extractMentions(post.caption), post.authorId);
  return write(app, (db) => applyCaptionMentions(db, post, mentioned, versionAt));
}

/** The writes of one event; returns the recipients whose notifications changed. */
export async function handleEvent(app: AppContext, event: ContractEvent): Promise<string[]> {
  switch (event.subject) {
    case GRAPH_FOLLOWED: {
      const e = event.payload;
      // An approved request is FOLLOW_ACCEPTED to the requester; its FOLLOW_REQUESTED goes
      // with the graph.follow_request_removed (approved) that comes with it.
      const t: Target = e.viaRequest
        ? { recipientId: e.followerId, kind: 'FOLLOW_ACCEPTED', groupKey: e.followeeId }
        : { recipientId: e.followeeId, kind: 'FOLLOWED', groupKey: e.followerId };
      const actor = e.viaRequest ? e.followeeId : e.followerId;
      return write(app, (db) => one(addActivity(db, t, actor, e.createdAt), t.recipientId));
    }
    case GRAPH_FOLLOW_REQUESTED: {
      const e = event.payload;
      const t: Target = {
        recipientId: e.targetId,
        kind: 'FOLLOW_REQUESTED',
        groupKey: e.requesterId,
      };
      return write(app, (db) => one(addActivity(db, t, e.requesterId, e.createdAt), e.targetId));
    }
    case GRAPH_FOLLOW_REQUEST_REMOVED: {
      // Approved, declined, withdrawn or ended by a block: the request is no longer there.
      const e = event.payload;
      const t: Target = {
        recipientId: e.targetId,
        kind: 'FOLLOW_REQUESTED',
        groupKey: e.requesterId,
      };
      return write(app, (db) => one(withdrawActivity(db, t, e.requesterId, e.at), e.targetId));
    }
    case GRAPH_BLOCKED:
    case GRAPH_UNBLOCKED: {
      const e = event.payload;
      const active = event.subject === GRAPH_BLOCKED;
      return write(app, (db) => recordBlock(db, e.blockerId, e.blockedId, e.at, active));
    }
    case ENGAGEMENT_LIKED:
    case ENGAGEMENT_UNLIKED: {
      const e = event.payload;
      const t: Target = {
        recipientId: e.postAuthorId,
        kind: 'LIKED',
        groupKey: e.postId,
        postId: e.postId,
        postAuthorId: e.postAuthorId,
      };
      return write(app, (db) =>
        one(
          event.subject === ENGAGEMENT_LIKED
            ? addActivity(db, t, e.userId, event.payload.createdAt)
            : withdrawActivity(db, t, e.userId, event.payload.at),
          e.postAuthorId,
        ),
      );
    }
    case ENGAGEMENT_COMMENTED:
      return onCommented(app, event.payload);
    case ENGAGEMENT_COMMENT_DELETED: {
      const e = event.payload;
      return write(app, (db) => deleteSubject(db, 'comment', e.commentId, e.deletedAt));
    }
    case POST_CREATED:
      return onCaption(app, event.payload, event.payload.createdAt);
    case POST_UPDATED:
      return onCaption(app, event.payload, event.payload.updatedAt);
    case POST_DELETED: {
      const e = event.payload;
      return write(app, (db) => deleteSubject(db, 'post', e.postId, e.deletedAt));
    }
    default:
      // graph.unfollowed: Instagram never tells anyone of an unfollow, and a FOLLOWED that
      // vanished would; a follow again bumps the same notification. graph.privacy_changed:
      // turning public approves the requests, each with its own events. user.*: nothing.
      return [];
  }
}

/** Live hints with each recipient's new unread count: best effort, never fails the event. */
async function hint(app: AppContext, live: LivePublisher, recipients: readonly string[]) {
  for (const userId of recipients) {
    try {
      const [count, latest] = await Promise.all([
        unreadCount(app.pool, userId),
        latestNotification(app.pool, userId),
      ]);
      await live.publish(userId, {
        type: 'notification',
        id: latest?.id ?? null,
        kind: latest?.kind ?? null,
        unreadCount: count,
      });
    } catch (err) {
      app.logger.warn({ err, userId }, 'live notification hint not published');
    }
  }
}

export async function startConsumers(
  app: AppContext,
  nc: NatsConnection,
): Promise<RunningConsumer[]> {
  const prefix = app.cfg.NATS_PREFIX;
  const streams = streamNames(prefix);
  const live = createLivePublisher({
    nc,
    redis: app.redis,
    natsPrefix: prefix,
    redisKeyPrefix: app.cfg.REDIS_KEY_PREFIX,
  });
  const concurrency = app.settings.NOTIFICATION_CONSUMER_CONCURRENCY;
  const common = {
    nc,
    prefix,
    logger: app.logger,
    concurrency,
    maxAckPending: concurrency * 8,
    ackWaitMs: app.settings.NOTIFICATION_ACK_WAIT_SECONDS * 1000,
    handle: async (event: ContractEvent) => {
      const changed = await handleEvent(app, event);
      if (changed.length) await hint(app, live, changed);
    },
  };
  const sources = [
    { stream: streams.GRAPH, durable: 'notification-graph', subjects: 'graph.>' },
    { stream: streams.ENGAGEMENT, durable: 'notification-engagement', subjects: 'engagement.>' },
    { stream: streams.POSTS, durable: 'notification-posts', subjects: 'post.>' },
  ];
  const running: RunningConsumer[] = [];
  for (const s of sources) {
    running.push(
      await startConsumer({
        ...common,
        stream: s.stream,
        durable: s.durable,
        filterSubject: subjectFor(prefix, s.subjects),
      }),
    );
  }
  return running;
}
