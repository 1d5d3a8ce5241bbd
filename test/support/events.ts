// Test helpers for event-driven code: publish an event as a producer's outbox relay would,
// mint time-sortable post ids, and wait for eventual consistency.
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { subjectFor, type EventPayload, type EventSubject } from '../../lib/contracts/events.js';
import { idAt } from '../../lib/contracts/ids.js';

let sequence = 0;
/** A fresh id in the Instagram layout (shard 2 = posts), minted at `time`. */
export function mintId(time = new Date()): bigint {
  sequence = (sequence + 1) % 1024;
  return idAt(time) | (2n << 10n) | BigInt(sequence);
}

export async function publishEvent<S extends EventSubject>(
  nc: NatsConnection,
  prefix: string,
  subject: S,
  payload: EventPayload<S>,
  msgId?: string,
): Promise<void> {
  await jetstream(nc).publish(
    subjectFor(prefix, subject),
    JSON.stringify(payload),
    msgId ? { msgID: msgId } : undefined,
  );
}

/**
 * A `post.created` event for a post without media, as the post service's relay would publish
 * it (message id = post id, so a replay is de-duplicated). Returns the post id.
 */
export async function publishPostCreated(
  nc: NatsConnection,
  prefix: string,
  post: { postId?: string; authorId: string; at?: Date; caption?: string },
): Promise<string> {
  const postId = post.postId ?? mintId(post.at).toString();
  await publishEvent(
    nc,
    prefix,
    'post.created',
    {
      v: 1,
      postId,
      authorId: post.authorId,
      createdAt: (post.at ?? new Date()).toISOString(),
      caption: post.caption ?? '',
      hashtags: [],
      media: [],
    },
    postId,
  );
  return postId;
}

export async function eventually<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}
