// A deleted post's likes and comments leave storage: a durable JetStream consumer of
// post.deleted (POSTS stream) purges them and publishes engagement.comment_deleted for each
// comment (not engagement.unliked: a post's likes die with it, and a celebrity post would
// flood the stream; consumers drop what they keep about a post on post.deleted itself).
// Reads do not wait for it: the post subgraph stops answering for the post at once, so its
// likes and comments are already unreachable. Idempotent (the tombstone stays; a redelivery
// finds nothing left).
import type { NatsConnection } from '@nats-io/transport-node';
import { POST_DELETED, streamNames, subjectFor } from '../../../lib/contracts/events.js';
import { startConsumer, type RunningConsumer } from '../../../lib/platform/consumer.js';
import type { AppContext } from './context.js';
import { purgePost } from './store.js';

export const POST_DELETIONS_DURABLE = 'engagement-post-deletions';

export function startPostDeletions(app: AppContext, nc: NatsConnection): Promise<RunningConsumer> {
  const prefix = app.cfg.NATS_PREFIX;
  return startConsumer({
    nc,
    prefix,
    logger: app.logger,
    stream: streamNames(prefix).POSTS,
    durable: POST_DELETIONS_DURABLE,
    filterSubject: subjectFor(prefix, POST_DELETED),
    concurrency: 4,
    maxAckPending: 64,
    handle: async (event) => {
      if (event.subject !== POST_DELETED) return;
      const p = event.payload;
      const r = await purgePost(app.pool, p.postId, new Date(p.deletedAt));
      if (r.comments || r.likes)
        app.logger.info({ postId: p.postId, ...r }, 'deleted post: likes and comments removed');
    },
  });
}
