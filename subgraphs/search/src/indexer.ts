// The search indexer: a durable JetStream consumer on post.> that keeps search.posts (and
// Meilisearch, when configured) current. Idempotent: each change carries its event time
// and older ones are ignored; a deleted post keeps a tombstone and is never re-added.
// Lag (event time → indexed) is kept per process for /ready-style inspection and the benchmark.
import type { NatsConnection } from '@nats-io/transport-node';
import { startConsumer, type RunningConsumer } from '../../../lib/consumer.js';
import {
  POST_CREATED,
  POST_DELETED,
  POST_UPDATED,
  streamNames,
  subjectFor,
  type PostCreatedV1,
  type PostDeletedV1,
  type PostUpdatedV1,
} from '../../../lib/events.js';
import type { AppContext } from './context.js';
import { applyDelete, applyUpsert } from './index-store.js';

export const INDEXER_DURABLE = 'search-indexer-posts';

const isPostEvent = (p: unknown): p is { postId: string; authorId: string; createdAt: string } => {
  const e = p as Record<string, unknown> | null;
  return (
    !!e &&
    typeof e.postId === 'string' &&
    typeof e.authorId === 'string' &&
    typeof e.createdAt === 'string' &&
    /^[1-9][0-9]{0,18}$/.test(e.postId) &&
    /^[1-9][0-9]{0,18}$/.test(e.authorId) &&
    !Number.isNaN(Date.parse(e.createdAt))
  );
};

/** Applies one event; true when it changed the index. */
export async function indexEvent(
  app: AppContext,
  subject: string,
  payload: unknown,
): Promise<boolean> {
  if (!isPostEvent(payload)) {
    app.logger.warn({ subject }, 'malformed post event ignored');
    return false;
  }
  if (subject === POST_CREATED || subject === POST_UPDATED) {
    const r = await applyUpsert(app.pool, payload as PostCreatedV1 | PostUpdatedV1);
    if (r.applied && r.post) await app.backend.upsert([r.post]);
    return r.applied;
  }
  if (subject === POST_DELETED) {
    const e = payload as PostDeletedV1;
    if (typeof e.deletedAt !== 'string' || Number.isNaN(Date.parse(e.deletedAt))) return false;
    const r = await applyDelete(app.pool, e);
    // Removed from the engine even when already tombstoned here (a crash between the two).
    await app.backend.remove([e.postId]);
    return r.applied;
  }
  return false;
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
    concurrency: app.cfg.SEARCH_CONSUMER_CONCURRENCY,
    maxAckPending: app.cfg.SEARCH_CONSUMER_CONCURRENCY * 8,
    ackWaitMs: app.cfg.SEARCH_ACK_WAIT_SECONDS * 1000,
    // The payload has passed the contract check (lib/consumer.ts); a malformed one was
    // dead-lettered instead of reaching indexEvent.
    handle: async ({ subject, payload }) => {
      if (await indexEvent(app, subject, payload)) {
        const e = payload as { createdAt: string; updatedAt?: string; deletedAt?: string };
        const at = Date.parse(e.deletedAt ?? e.updatedAt ?? e.createdAt);
        lags.push(Date.now() - at);
        if (lags.length > 10_000) lags.splice(0, lags.length - 10_000);
      }
    },
  });
  return { ...consumer, lags: () => [...lags] };
}
