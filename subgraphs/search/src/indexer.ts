// The search indexer: durable JetStream consumers that keep search.posts, search.users (and
// Meilisearch, when configured) current: post.> on the POSTS stream; user.created and
// user.updated on USERS (profiles); graph.followed and graph.unfollowed on GRAPH (follower
// counts, for ranking people). Idempotent: each change carries its event time and older ones
// are ignored; a deleted post keeps a tombstone and is never re-added.
// Lag (event time → indexed) is kept per process for /ready-style inspection and the benchmark.
import type { NatsConnection } from '@nats-io/transport-node';
import { startConsumer, type RunningConsumer } from '../../../lib/platform/consumer.js';
import {
  GRAPH_FOLLOWED,
  GRAPH_UNFOLLOWED,
  parseEvent,
  POST_CREATED,
  POST_DELETED,
  POST_UPDATED,
  USER_CREATED,
  USER_UPDATED,
  streamNames,
  subjectFor,
  type ContractEvent,
} from '../../../lib/contracts/events.js';
import type { AppContext } from './context.js';
import { applyDelete, applyUpsert } from './index-store.js';
import {
  applyFollowerCount,
  applyProfiles,
  indexedUsers,
  type FollowerCountChange,
  type ProfileChange,
} from './user-store.js';

export const INDEXER_DURABLE = 'search-indexer-posts';
/** Profiles for people search (USERS stream). */
export const USERS_DURABLE = 'search-indexer-users';
/** Follower counts for people search (GRAPH stream; other graph events are acked unread). */
export const GRAPH_DURABLE = 'search-indexer-graph';

/**
 * Applies one raw event (tests, tools); false when it changed nothing. A payload that breaks
 * the event contract changes nothing either (the consumer dead-letters those before here).
 */
export async function indexEvent(
  app: AppContext,
  subject: string,
  payload: unknown,
): Promise<boolean> {
  const check = parseEvent(subject, payload);
  if (!check.ok) {
    app.logger.warn({ subject, error: check.error }, 'malformed post event ignored');
    return false;
  }
  return applyEvent(app, check.event);
}

/** Applies one checked event; true when it changed the index. */
export async function applyEvent(app: AppContext, event: ContractEvent): Promise<boolean> {
  switch (event.subject) {
    case POST_CREATED:
    case POST_UPDATED: {
      const r = await applyUpsert(app.pool, event.payload);
      if (r.applied && r.post) await app.backend.upsert([r.post]);
      return r.applied;
    }
    case POST_DELETED: {
      const r = await applyDelete(app.pool, event.payload);
      // Removed from the engine even when already tombstoned here (a crash between the two).
      await app.backend.remove([event.payload.postId]);
      return r.applied;
    }
    case USER_CREATED:
    case USER_UPDATED: {
      const p = event.payload;
      return applyProfile(app, {
        userId: p.userId,
        username: p.username,
        displayName: p.displayName ?? null,
        at: 'updatedAt' in p ? p.updatedAt : p.createdAt,
      });
    }
    case GRAPH_FOLLOWED:
    case GRAPH_UNFOLLOWED: {
      const p = event.payload;
      return applyCount(app, {
        userId: p.followeeId,
        followerCount: p.followeeFollowerCount,
        at: 'at' in p ? p.at : p.createdAt,
      });
    }
    default:
      return false;
  }
}

/**
 * Engine writes come after the table's. With Meilisearch the row is sent as it now is even
 * when the event changed nothing here: a retry after an engine failure finds the table
 * already written and must still reach the engine.
 */
async function applyProfile(app: AppContext, change: ProfileChange): Promise<boolean> {
  const [written] = await applyProfiles(app.pool, [change]);
  if (app.backend.name !== 'postgres') {
    await app.backend.upsertUsers(
      written ? [written] : await indexedUsers(app.pool, [change.userId]),
    );
  }
  return written !== undefined;
}

async function applyCount(app: AppContext, change: FollowerCountChange): Promise<boolean> {
  const r = await applyFollowerCount(app.pool, change);
  if (app.backend.name !== 'postgres') {
    await app.backend.upsertUsers(
      r.applied ? (r.user ? [r.user] : []) : await indexedUsers(app.pool, [change.userId]),
    );
  }
  return r.applied;
}

/** When the event happened: its deletion, edit or creation time. */
function eventTime(event: ContractEvent): number {
  switch (event.subject) {
    case POST_DELETED:
      return Date.parse(event.payload.deletedAt);
    case POST_UPDATED:
      return Date.parse(event.payload.updatedAt);
    case POST_CREATED:
    case USER_CREATED:
    case GRAPH_FOLLOWED:
      return Date.parse(event.payload.createdAt);
    case USER_UPDATED:
      return Date.parse(event.payload.updatedAt);
    case GRAPH_UNFOLLOWED:
      return Date.parse(event.payload.at);
    default:
      return Date.now();
  }
}

export interface RunningIndexer extends RunningConsumer {
  /** Milliseconds from event time to indexed, for the changes applied since start (newest 10,000). */
  lags(): number[];
}

export async function startIndexer(app: AppContext, nc: NatsConnection): Promise<RunningIndexer> {
  const prefix = app.cfg.NATS_PREFIX;
  const streams = streamNames(prefix);
  const lags: number[] = [];
  const consume = (stream: string, durable: string, filter: string) =>
    startConsumer({
      nc,
      prefix,
      logger: app.logger,
      stream,
      durable,
      filterSubject: subjectFor(prefix, filter),
      concurrency: app.settings.SEARCH_CONSUMER_CONCURRENCY,
      maxAckPending: app.settings.SEARCH_CONSUMER_CONCURRENCY * 8,
      ackWaitMs: app.settings.SEARCH_ACK_WAIT_SECONDS * 1000,
      // The payload has passed the contract check (lib/platform/consumer.ts); a malformed one
      // was dead-lettered instead of reaching indexEvent.
      handle: async (event) => {
        if (await applyEvent(app, event)) {
          lags.push(Date.now() - eventTime(event));
          if (lags.length > 10_000) lags.splice(0, lags.length - 10_000);
        }
      },
    });
  const consumers: RunningConsumer[] = [];
  try {
    consumers.push(await consume(streams.POSTS, INDEXER_DURABLE, 'post.>'));
    consumers.push(await consume(streams.USERS, USERS_DURABLE, 'user.>'));
    // One filter per consumer (NATS before 2.10): graph.> with the other graph events acked.
    consumers.push(await consume(streams.GRAPH, GRAPH_DURABLE, 'graph.>'));
  } catch (err) {
    await Promise.allSettled(consumers.map((c) => c.stop()));
    throw err;
  }
  return {
    async stop() {
      await Promise.all(consumers.map((c) => c.stop()));
    },
    handled: () => consumers.reduce((n, c) => n + c.handled(), 0),
    lags: () => [...lags],
  };
}
