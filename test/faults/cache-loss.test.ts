// Cache loss: Redis stopped while Mosaic runs. Feeds are still served (from Postgres,
// degraded), sign-in keeps working (rate limits fall back to per-process limiters), /ready
// reports Redis, and everything recovers when Redis returns, without a restart; the lost
// timelines are rebuilt on the next read.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createPost, feedIds, follow, signUp } from '../support/content.js';
import { eventually } from '../support/events.js';
import { startRedis, type ManagedServer } from '../support/processes.js';
import { startStack, type Stack } from '../support/stack.js';

let redis: ManagedServer;
let stack: Stack;

beforeAll(async () => {
  redis = await startRedis();
  stack = await startStack({
    subgraphs: ['user', 'post', 'graph', 'feed'],
    env: {
      REDIS_URL: redis.url,
      MEDIA_JANITOR_INTERVAL_SECONDS: '0',
      RATE_LIMIT_AUTH_PER_MINUTE: '5',
    },
  });
}, 60_000);

afterAll(async () => {
  await stack?.close();
  await redis?.dispose();
});

it('serves feeds from Postgres while Redis is down and recovers when it is back', async () => {
  const [author, reader] = [await signUp(stack, 'author'), await signUp(stack, 'reader')];
  await follow(stack, reader, author);
  await feedIds(stack, reader);
  const posts = [await createPost(stack, author, 'one'), await createPost(stack, author, 'two')];
  const before = await eventually(
    () => feedIds(stack, reader),
    (ids) => ids.length === 2,
  );
  expect(before).toEqual([...posts].reverse());

  await redis.stop();
  // Degraded but available: the same feed, straight from Postgres.
  expect(await feedIds(stack, reader)).toEqual(before);
  const ready = await fetch(`${stack.gatewayUrl}/ready`);
  expect(ready.status).toBe(503);
  expect(
    ((await ready.json()) as { checks: Record<string, { ok: boolean }> }).checks.redis?.ok,
  ).toBe(false);
  // Sign-in works; the per-IP credential limit still holds, per process, from memory.
  const codes: (string | undefined)[] = [];
  for (let i = 0; i < 6; i++) {
    const r = await stack.gql(`mutation($i: LogInInput!) { logIn(input: $i) { accessToken } }`, {
      i: { login: reader.username, password: 'long enough pw' },
    });
    codes.push(r.errors?.[0]?.extensions?.code);
  }
  expect(codes.slice(0, 5)).toEqual([undefined, undefined, undefined, undefined, undefined]);
  expect(codes[5]).toBe('RATE_LIMITED');

  await redis.start(); // empty: every timeline is gone
  const client = new Redis(redis.url);
  try {
    // Each process reconnects on its own backoff: the feed service, which rebuilds the
    // timeline, must have Redis back too (until then reads are answered from Postgres).
    for (const url of [stack.gatewayUrl, new URL(stack.subgraphUrls.feed!).origin]) {
      await eventually(
        () => fetch(`${url}/ready`).then((r) => r.status),
        (s) => s === 200,
        15_000,
      );
    }
    expect(await feedIds(stack, reader)).toEqual(before); // rebuilt on this read
    expect(await client.exists(`${stack.cfg.REDIS_KEY_PREFIX}tl:{${reader.id}}`)).toBe(1);
    const third = await createPost(stack, author, 'three'); // fan-out works again
    expect(
      (
        await eventually(
          () => feedIds(stack, reader),
          (ids) => ids.length === 3,
        )
      )[0],
    ).toBe(third);
  } finally {
    client.disconnect();
  }
}, 90_000);
