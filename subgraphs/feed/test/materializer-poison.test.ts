// A malformed event reaching the feed materializer: checked against the event contract,
// dead-lettered after one delivery (not redelivered every 2 s forever), counted, and the
// events after it still reach followers' feeds.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { DLQ_HEADERS } from '../../../lib/platform/dead-letters.js';
import {
  dlqStreamName,
  dlqSubject,
  streamNames,
  subjectFor,
} from '../../../lib/contracts/events.js';
import { eventsDeadLettered } from '../../../lib/platform/metrics.js';
import { connectNats } from '../../../lib/platform/nats.js';
import { eventually, mintId, publishPostCreated } from '../../../test/support/events.js';
import { startStack, type Stack } from '../../../test/support/stack.js';

const DURABLE = 'feed-materializer-posts';
let stack: Stack;
let nc: NatsConnection;

beforeAll(async () => {
  stack = await startStack({
    subgraphs: ['user', 'graph', 'feed'],
    env: { RATE_LIMIT_AUTH_PER_MINUTE: '0' },
  });
  nc = await connectNats(stack.cfg, 'feed-poison-test');
});
afterAll(async () => {
  await nc?.close();
  await stack?.close();
});

async function person(name: string) {
  const username = `p_${name}_${Date.now().toString(36)}`;
  const r = await stack.gql<{ signUp: { accessToken: string; user: { id: string } } }>(
    `mutation($input: SignUpInput!) { signUp(input: $input) { accessToken user { id } } }`,
    { input: { username, email: `${username}@example.com`, password: 'long enough pw' } },
  );
  return { id: r.data!.signUp.user.id, token: r.data!.signUp.accessToken };
}

async function feedIds(token: string): Promise<string[]> {
  const r = await stack.gql<{ feed: { nodes: { id: string }[] } }>(
    `{ feed(first: 20) { nodes { id } } }`,
    {},
    { token },
  );
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data!.feed.nodes.map((n) => n.id);
}

const deadLettered = async () =>
  (await eventsDeadLettered.get()).values.find(
    (v) => v.labels.consumer === DURABLE && v.labels.reason === 'invalid',
  )?.value ?? 0;

it('dead-letters a malformed post.created after one delivery; later posts still fan out', async () => {
  const [author, reader] = [await person('author'), await person('reader')];
  const followed = await stack.gql(
    `mutation($id: ID!) { follow(userId: $id) { user { id } } }`,
    { id: author.id },
    { token: reader.token },
  );
  expect(followed.errors).toBeUndefined();
  await feedIds(reader.token); // the reader's timeline exists
  const before = await deadLettered();

  const prefix = stack.cfg.NATS_PREFIX;
  // A producer bug: authorId as a number, not a decimal string.
  const poison = {
    v: 1,
    postId: String(mintId()),
    authorId: Number(author.id),
    createdAt: new Date().toISOString(),
    caption: '',
    hashtags: [],
    media: [],
  };
  await jetstream(nc).publish(subjectFor(prefix, 'post.created'), JSON.stringify(poison));
  const good = await publishPostCreated(nc, prefix, { authorId: author.id });

  const ids = await eventually(
    () => feedIds(reader.token),
    (f) => f.includes(good),
  );
  expect(ids).toEqual([good]);

  const jsm = await jetstreamManager(nc);
  const dead = await eventually(
    () =>
      jsm.streams
        .getMessage(dlqStreamName(prefix), { last_by_subj: dlqSubject(prefix, 'post.created') })
        .catch(() => null),
    (m) => m !== null,
  );
  expect(dead?.json()).toEqual(poison);
  expect(dead?.header.get(DLQ_HEADERS.consumer)).toBe(DURABLE);
  expect(dead?.header.get(DLQ_HEADERS.reason)).toBe('invalid');
  expect(dead?.header.get(DLQ_HEADERS.deliveries)).toBe('1');
  expect(dead?.header.get(DLQ_HEADERS.error)).toBe('authorId: invalid_type');
  expect(await deadLettered()).toBe(before + 1);
  const info = await jsm.consumers.info(streamNames(prefix).POSTS, DURABLE);
  expect(info).toMatchObject({ num_ack_pending: 0, num_redelivered: 0 });
  expect(info.config.max_deliver).toBeGreaterThan(10);
});
