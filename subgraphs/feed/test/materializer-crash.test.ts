// SIGKILL of the materializer in the middle of a 10,000-follower fan-out: after a restart
// the event is redelivered and every follower ends up with the post exactly once.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { connectNats } from '../../../lib/platform/nats.js';
import { publishPostCreated } from '../../../test/support/events.js';
import { startStack, type Stack } from '../../../test/support/stack.js';

const FOLLOWERS = 10_000;
const AUTHOR = '777';
const BASE = 5_000_000;

let stack: Stack;
let nc: NatsConnection;
let redis: Redis;
const children: ChildProcess[] = [];

function startWorker(): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/support/run-service.ts', 'feed-worker'],
    {
      env: {
        ...process.env,
        ...stack.iso.env,
        SUBGRAPH_GRAPH_URL: stack.subgraphUrls.graph!,
        FEED_FANOUT_BATCH: '50', // many small steps, so the kill lands mid-way
        FEED_ACK_WAIT_SECONDS: '2',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (process.env.TEST_LOG_LEVEL) process.stdout.write(chunk);
      if (chunk.toString().includes('ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
  });
}

const keys = Array.from({ length: FOLLOWERS }, (_, i) => `test-placeholder-${i}`);

async function delivered(postId: string): Promise<number> {
  const p = redis.pipeline();
  for (const k of keys) p.zscore(k, postId);
  const res = (await p.exec()) ?? [];
  return res.filter(([, s]) => s !== null).length;
}

beforeAll(async () => {
  stack = await startStack({
    subgraphs: ['user', 'graph', 'feed'],
    // The graph decides who is a celebrity: 10,000 followers must be pushed, not pulled.
    env: { FEED_MATERIALIZER: 'false', CELEBRITY_FOLLOWER_THRESHOLD: '100000' },
  });
  nc = await connectNats(stack.cfg, 'crash-test');
  redis = new Redis(stack.cfg.REDIS_URL);
  for (let i = 0; i < FOLLOWERS; i++) keys[i] = `${stack.cfg.REDIS_KEY_PREFIX}tl:{${BASE + i}}`;
  await stack.iso.query(
    `INSERT INTO graph.follows (follower_id, followee_id) SELECT g, $1::bigint FROM generate_series($2::bigint, $2::bigint + $3 - 1) g`,
    [AUTHOR, BASE, FOLLOWERS],
  );
  await stack.iso.query(`INSERT INTO graph.user_stats (user_id, follower_count) VALUES ($1, $2)`, [
    AUTHOR,
    FOLLOWERS,
  ]);
  const p = redis.pipeline();
  for (const k of keys) p.zadd(k, 0, '0'); // every follower has a (empty) timeline
  await p.exec();
}, 60_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await nc?.close();
  if (redis) {
    for (let i = 0; i < keys.length; i += 1000) await redis.unlink(...keys.slice(i, i + 1000));
    redis.disconnect();
  }
  await stack?.close();
});

it('survives SIGKILL mid fan-out: every follower gets the post exactly once', async () => {
  const worker = await startWorker();
  const postId = await publishPostCreated(nc, stack.cfg.NATS_PREFIX, { authorId: AUTHOR });
  // Kill as soon as the fan-out has started but not finished.
  let before = 0;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    before = await delivered(postId);
    if (before > 0) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  worker.kill('SIGKILL');
  await once(worker, 'exit');
  expect(before).toBeGreaterThan(0);
  expect(before).toBeLessThan(FOLLOWERS); // the kill really interrupted the fan-out

  await startWorker(); // redelivered after the ack wait (2 s)
  const end = Date.now() + 30_000;
  let after = await delivered(postId);
  while (after < FOLLOWERS && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 200));
    after = await delivered(postId);
  }
  expect(after).toBe(FOLLOWERS);
  // Exactly once: each timeline holds the sentinel and this one post, nothing else.
  const p = redis.pipeline();
  for (const k of keys) p.zcard(k);
  const cards = ((await p.exec()) ?? []).map(([, n]) => n);
  expect(new Set(cards)).toEqual(new Set([2]));
}, 90_000);
