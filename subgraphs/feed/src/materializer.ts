// The feed materializer: durable JetStream consumers that keep the post projection and the
// Redis timelines current. Every handler is idempotent (INSERT … ON CONFLICT, ZADD/ZREM of
// the same member), so a redelivery after a crash changes nothing twice. Payloads arrive
// checked against the event contract (lib/platform/consumer.ts); a malformed one is dead-lettered.
import type { NatsConnection } from '@nats-io/transport-node';
import { startConsumer, type RunningConsumer } from '../../../lib/platform/consumer.js';
import type { EdgeBatch } from '../../../lib/clients/graph-client.js';
import {
  GRAPH_FOLLOWED,
  GRAPH_UNFOLLOWED,
  POST_CREATED,
  POST_DELETED,
  streamNames,
  subjectFor,
  type GraphFollowedV1,
  type GraphUnfollowedV1,
  type PostCreatedV1,
  type PostDeletedV1,
} from '../../../lib/contracts/events.js';
import { presentAmong } from '../../../lib/platform/live-presence.js';
import { createLivePublisher, type LivePublisher } from '../../../lib/platform/live-publish.js';
import type { AppContext } from './context.js';
import { latestByAuthors, markDeleted, recordPost } from './posts.js';
import { forgetCelebrityFollowees } from './read.js';
import { fanoutDeliveries, fanoutDuration } from './metrics.js';

export interface FanoutStats {
  deliveries: number;
  followers: number;
}

/**
 * Pushes posts into the timelines of every follower of `authorId`, batch by batch. With
 * `live`, the followers of each batch who have a live stream open (the gateways' presence
 * set, one ZMSCORE per 1,000) also get a `feed` hint (GET /v1/live): only those, so a post
 * to 100 k followers costs a few replay writes for the connected ones, not 100 k.
 */
export async function fanOut(
  app: AppContext,
  authorId: string,
  postIds: readonly string[],
  live?: LivePublisher,
): Promise<FanoutStats> {
  const endTimer = fanoutDuration.startTimer();
  let deliveries = 0;
  let followers = 0;
  const hints: Promise<void>[] = [];
  const limit = app.settings.FEED_FANOUT_BATCH;
  // The next batch of followers is fetched while the current one is written to Redis.
  let pending: ReturnType<typeof app.graph.followers> | null = app.graph.followers(authorId, {
    limit,
  });
  while (pending) {
    const batch: EdgeBatch = await pending;
    pending = batch.next ? app.graph.followers(authorId, { after: batch.next, limit }) : null;
    followers += batch.ids.length;
    for (const postId of postIds) {
      const n = await app.timelines.push(batch.ids, postId);
      deliveries += n;
      fanoutDeliveries.inc(n);
    }
    // Off the timelines' path: the next batch is pushed while this one's hints go out.
    if (live) hints.push(hintFeed(app, live, batch.ids, postIds));
  }
  await Promise.all(hints);
  endTimer();
  return { deliveries, followers };
}

/** A hint is best effort: a failure is logged and never fails (or retries) the fan-out. */
async function hintFeed(
  app: AppContext,
  live: LivePublisher,
  followerIds: readonly string[],
  postIds: readonly string[],
): Promise<void> {
  try {
    const connected = await presentAmong(app.redis, app.cfg.REDIS_KEY_PREFIX, followerIds);
    await live.publishMany(connected, {
      type: 'feed',
      newPosts: postIds.length,
      postIds: [...postIds],
    });
  } catch (err) {
    app.logger.warn({ err }, 'feed live hint failed');
  }
}

async function isCelebrity(app: AppContext, userId: string): Promise<boolean> {
  return (await app.graph.celebritiesAmong([userId])).length > 0;
}

export async function onPostCreated(
  app: AppContext,
  e: PostCreatedV1,
  live?: LivePublisher,
): Promise<void> {
  await recordPost(app.pool, e);
  // Celebrities are pulled at read time; their followers' timelines are not written. Nor
  // are they announced live: finding the connected ones among a million followers costs
  // what the fan-out saved. Their followers see the post on their next feed read.
  if (await isCelebrity(app, e.authorId)) return;
  const stats = await fanOut(app, e.authorId, [e.postId], live);
  app.logger.debug({ postId: e.postId, ...stats }, 'post fanned out');
}

export async function onPostDeleted(app: AppContext, e: PostDeletedV1): Promise<void> {
  await markDeleted(app.pool, e);
  // Reads already hide it (the projection says deleted); this frees the timeline slots.
  if (await isCelebrity(app, e.authorId)) return;
  for await (const batch of app.graph.allFollowers(e.authorId, app.settings.FEED_FANOUT_BATCH)) {
    await app.timelines.remove(batch, [e.postId]);
  }
}

/** A new edge, direct or approved from a request (viaRequest): the same backfill either way. */
export async function onFollowed(app: AppContext, e: GraphFollowedV1): Promise<void> {
  await forgetCelebrityFollowees(app, e.followerId);
  if (e.followeeFollowerCount >= app.cfg.CELEBRITY_FOLLOWER_THRESHOLD) return; // pulled at read time
  const recent = await latestByAuthors(
    app.pool,
    [e.followeeId],
    null,
    app.settings.FEED_BACKFILL_POSTS,
  );
  await app.timelines.pushMany(e.followerId, recent.map(String));
}

export async function onUnfollowed(app: AppContext, e: GraphUnfollowedV1): Promise<void> {
  await forgetCelebrityFollowees(app, e.followerId);
  const theirs = await latestByAuthors(
    app.pool,
    [e.followeeId],
    null,
    app.settings.FEED_TIMELINE_CAP,
  );
  await app.timelines.remove([e.followerId], theirs.map(String));
  // Dropping just below the threshold turns pull back into push: the posts they made while
  // pulled would otherwise vanish from their followers' feeds.
  if (e.followeeFollowerCount === app.cfg.CELEBRITY_FOLLOWER_THRESHOLD - 1) {
    const recent = await latestByAuthors(
      app.pool,
      [e.followeeId],
      null,
      app.settings.FEED_BACKFILL_POSTS,
    );
    await fanOut(app, e.followeeId, recent.map(String));
  }
}

export async function startMaterializer(
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
  const common = {
    nc,
    prefix,
    logger: app.logger,
    concurrency: app.settings.FEED_CONSUMER_CONCURRENCY,
    maxAckPending: app.settings.FEED_CONSUMER_CONCURRENCY * 8,
    ackWaitMs: app.settings.FEED_ACK_WAIT_SECONDS * 1000,
  };
  const posts = await startConsumer({
    ...common,
    stream: streams.POSTS,
    durable: 'feed-materializer-posts',
    filterSubject: subjectFor(prefix, 'post.>'), // post.updated is acknowledged and ignored
    handle: async (event) => {
      if (event.subject === POST_CREATED) await onPostCreated(app, event.payload, live);
      else if (event.subject === POST_DELETED) await onPostDeleted(app, event.payload);
    },
  });
  const graph = await startConsumer({
    ...common,
    stream: streams.GRAPH,
    durable: 'feed-materializer-graph',
    // Only edges move timelines. A follow approved from a request arrives as graph.followed
    // (viaRequest) and is backfilled like any other; a pending request has no edge and
    // pushes nothing; a block ends its edges with their own graph.unfollowed events. Reads
    // apply the visibility rule themselves (read.ts), so graph.blocked, graph.unblocked,
    // graph.privacy_changed and the follow-request events are acknowledged and ignored:
    // turning private keeps the approved followers, turning public approves the pending
    // requests (each a graph.followed), and an unblock restores no follow.
    filterSubject: subjectFor(prefix, 'graph.>'),
    handle: async (event) => {
      if (event.subject === GRAPH_FOLLOWED) await onFollowed(app, event.payload);
      else if (event.subject === GRAPH_UNFOLLOWED) await onUnfollowed(app, event.payload);
    },
  });
  return [posts, graph];
}
