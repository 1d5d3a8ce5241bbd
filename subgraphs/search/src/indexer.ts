// The search indexer: a durable JetStream consumer on post.> that keeps search.posts (and
// Meilisearch, when configured) current. Idempotent: each change carries its event time
// and older ones are ignored; a deleted post keeps a tombstone and is never re-added.
// Lag (event time → indexed) is kept per process for /ready-style inspection and the benchmark.
import type { NatsConnection } from '@nats-io/transport-node';
import { startConsumer, type RunningConsumer } from '../../../lib/platform/consumer.js';
import {
  parseEvent,
  POST_CREATED,
  POST_DELETED,
  POST_UPDATED,
  streamNames,
  subjectFor,
  type ContractEvent,
} from '../../../lib/contracts/events.js';
import type { AppContext } from './context.js';
import { applyDelete, applyUpsert } from './index-store.js';

export const INDEXER_DURABLE = 'search-indexer-posts';

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
    default:
      return false;
  }
}

/** When the event happened: its deletion, edit or creation time. */
function eventTime(event: ContractEvent): number {
  switch (event.subject) {
    case POST_DELETED:
      return Date.parse(event.payload.deletedAt);
    case POST_UPDATED:
      return Date.parse(event.payload.updatedAt);
    case POST_CREATED:
      return Date.parse(event.payload.createdAt);
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
  const lags: number[] = [];
  const consumer = await startConsumer({
    nc,
    prefix,
    logger: app.logger,
    stream: streamNames(prefix).POSTS,
    durable: INDEXER_DURABLE,
    filterSubject: subjectFor(prefix, 'post.>'),
    concurrency: app.settings.SEARCH_CONSUMER_CONCURRENCY,
    maxAckPending: app.settings.SEARCH_CONSUMER_CONCURRENCY * 8,
    ackWaitMs: app.settings.SEARCH_ACK_WAIT_SECONDS * 1000,
    // The payload has passed the contract check (lib/platform/consumer.ts); a malformed one was
    // dead-lettered instead of reaching indexEvent.
    handle: async (event) => {
      if (await applyEvent(app, event)) {
        lags.push(Date.now() - eventTime(event));
        if (lags.length > 10_000) lags.splice(0, lags.length - 10_000);
      }
    },
  });
  return { ...consumer, lags: () => [...lags] };
}
