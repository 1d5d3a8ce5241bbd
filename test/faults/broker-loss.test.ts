// Broker loss: NATS stopped (and once killed) while posts are being created, then started
// again. Posts are accepted meanwhile (the outbox holds their events) and every one of them
// reaches the followers' feeds exactly once: outbox retries, JetStream de-duplication by
// Nats-Msg-Id and idempotent consumers.
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { streamNames } from '../../lib/contracts/events.js';
import { connectNats } from '../../lib/platform/nats.js';
import {
  createPost,
  feedHolding,
  feedIds,
  follow,
  pendingOutbox,
  signUp,
} from '../support/content.js';
import { startNats, type ManagedServer } from '../support/processes.js';
import { startStack, type Stack } from '../support/stack.js';

let nats: ManagedServer;
let stack: Stack;

beforeAll(async () => {
  nats = await startNats();
  stack = await startStack({
    subgraphs: ['user', 'post', 'graph', 'feed'],
    env: {
      NATS_URL: nats.url,
      OUTBOX_POLL_MS: '200',
      MEDIA_JANITOR_INTERVAL_SECONDS: '0',
      RATE_LIMIT_AUTH_PER_MINUTE: '0',
    },
  });
}, 60_000);

afterAll(async () => {
  await nats?.start().catch(() => {}); // the stack's cleanup talks to it
  await stack?.close();
  await nats?.dispose();
});

it('loses no post while the broker is down, and delivers each exactly once', async () => {
  const [author, reader] = [await signUp(stack, 'author'), await signUp(stack, 'reader')];
  await follow(stack, reader, author);
  await feedIds(stack, reader); // the reader's timeline exists

  const posts: string[] = [];
  for (let i = 0; i < 3; i++) posts.push(await createPost(stack, author, `before ${i}`));

  await nats.stop(); // clean stop
  for (let i = 0; i < 3; i++) posts.push(await createPost(stack, author, `during stop ${i}`));
  await nats.start();
  for (let i = 0; i < 2; i++) posts.push(await createPost(stack, author, `after restart ${i}`));

  await nats.stop(true); // crash (SIGKILL)
  for (let i = 0; i < 2; i++) posts.push(await createPost(stack, author, `during crash ${i}`));
  await nats.start();

  const feed = await feedHolding(stack, reader, posts.length);
  expect([...feed].sort()).toEqual([...posts].sort());
  expect(new Set(feed).size).toBe(feed.length);

  // Every outbox row was published, and the stream holds each post.created once.
  expect(await pendingOutbox(stack, 'posts')).toBe(0);
  const nc = await connectNats(stack.cfg, 'broker-loss-test');
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(streamNames(stack.cfg.NATS_PREFIX).POSTS);
    expect(info.state.messages).toBe(posts.length);
  } finally {
    await nc.close();
  }
}, 90_000);
