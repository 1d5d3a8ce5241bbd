// GET /v1/live through a real gateway on the real Redis and NATS: tickets, delivery,
// Last-Event-ID replays and resyncs, a gateway restart, heartbeats, caps, subscriptions
// released, sessions ended, and a feed hint from the materializer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../src/server.js';
import { signLiveTicket } from '../../lib/auth/live-ticket.js';
import { connectNats, type NatsConnection } from '../../lib/platform/nats.js';
import { createRedis, type RedisClient } from '../../lib/platform/redis.js';
import { createLivePublisher, type LivePublisher } from '../../lib/platform/live-publish.js';
import { liveReplayKey } from '../../lib/contracts/live.js';
import { createPost, follow, signUp, type Account } from '../../test/support/content.js';
import { eventually } from '../../test/support/events.js';
import { startStack, type Stack } from '../../test/support/stack.js';
import { openSse, type SseStream } from './live-client.js';

const HEARTBEAT_S = 2;

let stack: Stack;
let gw: Awaited<ReturnType<typeof startGateway>>;
let nc: NatsConnection;
let redis: RedisClient;
let live: LivePublisher;

const startOwnGateway = (port = 0) =>
  startGateway(stack.cfg, { port, subgraphUrls: stack.subgraphUrls });

beforeAll(async () => {
  stack = await startStack({
    subgraphs: ['user', 'post', 'graph', 'feed'],
    env: {
      RATE_LIMIT_AUTH_PER_MINUTE: '0',
      LIVE_HEARTBEAT_SECONDS: String(HEARTBEAT_S),
      LIVE_SESSION_CHECK_SECONDS: '1',
      LIVE_MAX_STREAMS_PER_USER: '2',
      LIVE_MAX_STREAMS_PER_IP: '5',
      MEDIA_JANITOR_INTERVAL_SECONDS: '0',
    },
  });
  // This file's own gateway process (in-process), so that it can restart and be inspected.
  gw = await startOwnGateway();
  nc = await connectNats(stack.cfg, 'live-test');
  redis = createRedis(stack.cfg, 'live-test');
  // What the notification subgraph does.
  live = createLivePublisher({
    nc,
    redis,
    natsPrefix: stack.cfg.NATS_PREFIX,
    redisKeyPrefix: stack.cfg.REDIS_KEY_PREFIX,
  });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await nc?.drain();
  redis?.disconnect();
  await stack?.close();
});

async function ticket(account: Account): Promise<string> {
  const r = await stack.gql<{ createLiveTicket: { ticket: string; expiresAt: string } }>(
    `mutation { createLiveTicket { ticket expiresAt } }`,
    {},
    { token: account.token },
  );
  if (!r.data) throw new Error(`createLiveTicket failed: ${JSON.stringify(r.errors)}`);
  return r.data.createLiveTicket.ticket;
}

/** Opens a stream with a fresh ticket and waits for its first block (the stream is live). */
async function connect(
  account: Account,
  headers: Record<string, string> = {},
  base = gw.url,
): Promise<SseStream> {
  const s = await openSse(
    `${base}/v1/live?ticket=${encodeURIComponent(await ticket(account))}`,
    headers,
  );
  expect(s.status).toBe(200);
  await s.next(() => true);
  return s;
}

const dataOf = (e: { data: string }) => JSON.parse(e.data) as Record<string, unknown>;

describe('tickets', () => {
  it('createLiveTicket needs a signed-in user and gives a ticket that expires within a minute', async () => {
    const anon = await stack.gql(`mutation { createLiveTicket { ticket expiresAt } }`);
    expect(anon.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const ada = await signUp(stack, 'tix');
    const r = await stack.gql<{ createLiveTicket: { ticket: string; expiresAt: string } }>(
      `mutation { createLiveTicket { ticket expiresAt } }`,
      {},
      { token: ada.token },
    );
    const expiresIn = Date.parse(r.data!.createLiveTicket.expiresAt) - Date.now();
    expect(expiresIn).toBeGreaterThan(0);
    expect(expiresIn).toBeLessThanOrEqual(60_000);
  });

  it('refuses a missing, forged, expired or reused ticket with 401 UNAUTHENTICATED', async () => {
    const ada = await signUp(stack, 'tix');
    const missing = await openSse(`${gw.url}/v1/live`);
    const forged = await openSse(`${gw.url}/v1/live?ticket=eyJ1IjoiMSJ9.AAAA`);
    const [body] = (await ticket(ada)).split('.');
    const otherKey = await openSse(
      `${gw.url}/v1/live?ticket=${signLiveTicket('x'.repeat(40), { userId: ada.id, sessionId: '1' }).ticket}`,
    );
    const tampered = await openSse(`${gw.url}/v1/live?ticket=${body}.${'A'.repeat(43)}`);
    const old = signLiveTicket(
      stack.cfg.INTERNAL_SIGNING_SECRET,
      { userId: ada.id, sessionId: '1' },
      Date.now() - 120_000,
    ).ticket;
    const expired = await openSse(`${gw.url}/v1/live?ticket=${old}`);
    const badBearer = await openSse(`${gw.url}/v1/live`, { authorization: 'Bearer nope' });
    for (const r of [missing, forged, otherKey, tampered, expired, badBearer]) {
      expect(r.status).toBe(401);
      expect((r.body as { code: string }).code).toBe('UNAUTHENTICATED');
    }
    expect((expired.body as { error: string }).error).toMatch(/expired/);

    const t = await ticket(ada);
    const first = await openSse(`${gw.url}/v1/live?ticket=${t}`);
    expect(first.status).toBe(200);
    const again = await openSse(`${gw.url}/v1/live?ticket=${t}`);
    expect(again.status).toBe(401);
    expect((again.body as { error: string }).error).toMatch(/already used/);
    first.close();
  });

  it('a bearer access token opens a stream too', async () => {
    const ada = await signUp(stack, 'bearer');
    const s = await openSse(`${gw.url}/v1/live`, { authorization: `Bearer ${ada.token}` });
    expect(s.status).toBe(200);
    await s.next(() => true);
    s.close();
  });
});

describe('delivery and replay', () => {
  it('delivers a published hint within a second, with its stream id', async () => {
    const ada = await signUp(stack, 'deliver');
    const s = await connect(ada);
    const before = s.events.length;
    const t0 = Date.now();
    await live.publish(ada.id, { type: 'notification', id: '1', kind: 'LIKED', unreadCount: 3 });
    const e = await s.next((x) => x.event === 'notification', 1000, before);
    expect(e.at - t0).toBeLessThan(1000);
    expect(dataOf(e)).toEqual({ type: 'notification', id: '1', kind: 'LIKED', unreadCount: 3 });
    expect(e.id).toMatch(/^\d+-\d+$/); // the stream id, on the SSE id: line only
    expect(e.id).toMatch(/^\d+-\d+$/);
    // Someone else's events never arrive here.
    const bob = await signUp(stack, 'deliver');
    await live.publish(bob.id, { type: 'notification', id: '1', kind: 'LIKED', unreadCount: 9 });
    await live.publish(ada.id, { type: 'media', id: '42', status: 'READY' });
    await s.next((x) => x.event === 'media', 1000);
    expect(s.events.some((x) => x.data.includes('"unreadCount":9'))).toBe(false);
    s.close();
  });

  it('a reconnect with Last-Event-ID gets what it missed, in order, then live events', async () => {
    const ada = await signUp(stack, 'replay');
    const s1 = await connect(ada);
    await live.publish(ada.id, { type: 'notification', id: '1', kind: 'LIKED', unreadCount: 1 });
    const seen = await s1.next((x) => x.event === 'notification');
    s1.close();
    await s1.ended;
    await live.publish(ada.id, { type: 'notification', id: '1', kind: 'LIKED', unreadCount: 2 });
    await live.publish(ada.id, { type: 'feed', newPosts: 1, postIds: ['7'] });

    const s2 = await connect(ada, { 'last-event-id': seen.id! });
    await s2.next((x) => x.event === 'feed');
    const got = s2.events.filter((x) => x.data);
    expect(got.map((x) => x.event)).toEqual(['notification', 'feed']);
    expect(dataOf(got[0]!).unreadCount).toBe(2);
    await live.publish(ada.id, { type: 'notification', id: '1', kind: 'LIKED', unreadCount: 3 });
    await s2.next((x) => x.data.includes('"unreadCount":3'));
    expect(s2.events.filter((x) => x.event === 'resync')).toEqual([]);
    s2.close();

    // The same through ?lastEventId= (a new EventSource cannot set the header).
    const s3 = await openSse(
      `${gw.url}/v1/live?ticket=${await ticket(ada)}&lastEventId=${seen.id}`,
    );
    await s3.next((x) => x.data.includes('"unreadCount":3'));
    expect(s3.events.filter((x) => x.event).map((x) => x.event)).toEqual([
      'notification',
      'feed',
      'notification',
    ]);
    s3.close();
  });

  it('sends resync for an unknown id, one from the future, or one trimmed away', async () => {
    const ada = await signUp(stack, 'resync');
    for (const id of ['garbage', `${Date.now() + 3_600_000}-0`, '1-0']) {
      const s = await connect(ada, { 'last-event-id': id });
      const e = await s.next((x) => x.event !== '' || x.id !== null);
      expect(e.event).toBe('resync');
      expect(e.id).toMatch(/^\d+-\d+$/);
      s.close();
    }
    // More events than the replay stream keeps: the id is gone.
    const s1 = await connect(ada);
    await live.publish(ada.id, { type: 'notification', id: '1', kind: 'LIKED', unreadCount: 0 });
    const seen = await s1.next((x) => x.event === 'notification');
    s1.close();
    const bob = await signUp(stack, 'resync');
    for (let i = 0; i < 300; i++)
      await live.publishMany([ada.id, bob.id], { type: 'feed', newPosts: 1, postIds: [String(i)] });
    expect(await redis.xlen(liveReplayKey(stack.cfg.REDIS_KEY_PREFIX, ada.id))).toBeLessThan(300);
    const s2 = await connect(ada, { 'last-event-id': seen.id! });
    expect(s2.events.find((x) => x.event)?.event).toBe('resync');
    s2.close();
  });
});

describe('gateway restarts', () => {
  it('a quick restart replays what was published meanwhile; a long one ends in resync', async () => {
    const ada = await signUp(stack, 'restart');
    const own = await startOwnGateway();
    const port = own.port;
    const s1 = await connect(ada, {}, own.url);
    await live.publish(ada.id, { type: 'notification', id: '1', kind: 'LIKED', unreadCount: 1 });
    await s1.next((x) => x.event === 'notification');
    // The gateway goes away under the client: the stream ends (with a retry hint).
    await own.close();
    await s1.ended;
    const lastId = s1.lastEventId()!;
    await live.publish(ada.id, { type: 'notification', id: '1', kind: 'LIKED', unreadCount: 2 });

    const again = await startOwnGateway(port);
    const s2 = await connect(ada, { 'last-event-id': lastId }, again.url);
    const e = await s2.next((x) => x.event !== '');
    expect(e.event).toBe('notification');
    expect(dataOf(e).unreadCount).toBe(2);
    const last2 = await eventually(
      async () => s2.lastEventId(),
      (id) => id !== lastId,
    );

    // Down for longer than the presence lease: feed hints were skipped, so resync.
    await again.close();
    await s2.ended;
    await new Promise((r) => setTimeout(r, 4 * HEARTBEAT_S * 1000));
    const third = await startOwnGateway(port);
    const s3 = await connect(ada, { 'last-event-id': last2! }, third.url);
    expect(s3.events.find((x) => x.event)?.event).toBe('resync');
    s3.close();
    await third.close();
    expect(third.live.stats()).toEqual({ streams: 0, subscriptions: 0 });
  }, 30_000);
});

describe('connections', () => {
  it('writes a heartbeat comment carrying an id every LIVE_HEARTBEAT_SECONDS', async () => {
    const ada = await signUp(stack, 'hb');
    const s = await connect(ada);
    const t0 = Date.now();
    const first = await s.next((x) => x.comments.includes('hb'), HEARTBEAT_S * 1000 + 1000);
    const second = await s.next(
      (x) => x.comments.includes('hb') && x !== first,
      HEARTBEAT_S * 1000 + 1000,
    );
    expect(second.at - t0).toBeLessThan(2 * HEARTBEAT_S * 1000 + 1000);
    expect(second.id).toMatch(/^\d+-\d+$/);
    s.close();
  });

  it('caps streams per user and per address, and releases every subscription', async () => {
    const users = await Promise.all([1, 2, 3].map(() => signUp(stack, 'cap')));
    const [a, b, c] = users as [Account, Account, Account];
    const open = [await connect(a), await connect(a)];
    const third = await openSse(`${gw.url}/v1/live?ticket=${await ticket(a)}`);
    expect(third.status).toBe(429);
    expect((third.body as { code: string }).code).toBe('RATE_LIMITED');
    expect(gw.live.stats()).toMatchObject({ streams: 2, subscriptions: 1 });
    // Per address (5 here): 2 + 2 + 1, then the sixth is refused.
    open.push(await connect(b), await connect(b), await connect(c));
    expect(gw.live.stats()).toEqual({ streams: 5, subscriptions: 3 });
    const sixth = await openSse(`${gw.url}/v1/live?ticket=${await ticket(c)}`);
    expect(sixth.status).toBe(429);
    for (const s of open) s.close();
    const after = await eventually(
      async () => gw.live.stats(),
      (x) => x.streams === 0,
    );
    expect(after).toEqual({ streams: 0, subscriptions: 0 });
    // The per-user slot is free again.
    const s = await connect(a);
    s.close();
  });

  it('ends the stream soon after its session is ended (logOutEverywhere)', async () => {
    const ada = await signUp(stack, 'revoke');
    const s = await connect(ada);
    const out = await stack.gql(`mutation { logOutEverywhere }`, {}, { token: ada.token });
    expect(out.errors).toBeUndefined();
    const t0 = Date.now();
    await s.ended;
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('ends streams on shutdown with a retry hint', async () => {
    const ada = await signUp(stack, 'drain');
    const own = await startOwnGateway();
    const s = await connect(ada, {}, own.url);
    await own.close();
    await s.ended;
    const retry = s.events.at(-1)?.retry;
    expect(retry).toBeGreaterThanOrEqual(1000);
    expect(retry).toBeLessThanOrEqual(5000);
    expect(own.live.stats()).toEqual({ streams: 0, subscriptions: 0 });
  });
});

describe('feed hints', () => {
  it('a followee posts: a connected follower gets a feed event with the post id', async () => {
    const [reader, author] = await Promise.all([signUp(stack, 'fr'), signUp(stack, 'fa')]);
    await follow(stack, reader, author);
    const s = await connect(reader);
    const postId = await createPost(stack, author, 'live!');
    const e = await s.next((x) => x.event === 'feed', 15_000);
    expect(dataOf(e)).toMatchObject({ type: 'feed', newPosts: 1, postIds: [postId] });
    s.close();
  }, 30_000);
});
