// Durable consumers against the real NATS: payloads checked against the event contract, a
// malformed event dead-lettered after one delivery, a handler that keeps failing
// dead-lettered after maxDeliver deliveries, both with headers saying why, the counter and
// one log line (no payload); later events still flow; replay brings dead letters back.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AckPolicy, jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import {
  ensureConsumer,
  MAX_OUTAGE_DELIVERIES,
  retryDelay,
  startConsumer,
  type RunningConsumer,
} from '../consumer.js';
import { DLQ_HEADERS, parseSince, replayDeadLetters } from '../dead-letters.js';
import {
  dlqStreamName,
  dlqSubject,
  streamNames,
  subjectFor,
  type ContractEvent,
  type PostCreatedV1,
} from '../../contracts/events.js';
import { eventsDeadLettered } from '../metrics.js';
import { connectNats, deleteStreams, ensureStreams } from '../nats.js';
import { eventually, mintId } from '../../../test/support/events.js';
import { natsUrl } from '../../../test/support/env.js';

const prefix = `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
let nc: NatsConnection;
let jsm: JetStreamManager;
const lines: string[] = [];
const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
const running: RunningConsumer[] = [];

beforeAll(async () => {
  nc = await connectNats({ NATS_URL: natsUrl() }, 'consumer-test');
  jsm = await jetstreamManager(nc);
  await ensureStreams(nc, prefix);
});
afterAll(async () => {
  for (const c of running) await c.stop();
  if (nc) await deleteStreams(nc, prefix).finally(() => nc.close());
});

const SECRET = 'do-not-log-this-caption';
const created = (postId = String(mintId())): PostCreatedV1 => ({
  v: 1,
  postId,
  authorId: '1000',
  createdAt: new Date().toISOString(),
  caption: SECRET,
  hashtags: [],
  media: [],
});

async function publishRaw(subject: string, body: string | object): Promise<number> {
  const data = typeof body === 'string' ? body : JSON.stringify(body);
  return (await jetstream(nc).publish(subjectFor(prefix, subject), data)).seq;
}

async function start(
  durable: string,
  filter: string,
  handle: (e: ContractEvent) => Promise<void>,
  more: { maxDeliver?: number; maxOutageDeliveries?: number; retryDelayMs?: number } = {},
) {
  const c = await startConsumer({
    nc,
    prefix,
    logger,
    stream: streamNames(prefix).POSTS,
    durable,
    filterSubject: subjectFor(prefix, filter),
    concurrency: 4,
    handle,
    ...more,
  });
  running.push(c);
  return c;
}

/** The dead letters of `subject` now in the DLQ stream, oldest first. */
async function deadLetters(subject: string) {
  const stream = dlqStreamName(prefix);
  const info = await jsm.streams.info(stream);
  const out = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && seq > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (m && m.subject === dlqSubject(prefix, subject)) out.push(m);
  }
  return out;
}

async function counted(consumer: string, reason: string): Promise<number> {
  const { values } = await eventsDeadLettered.get();
  return (
    values.find((v) => v.labels.consumer === consumer && v.labels.reason === reason)?.value ?? 0
  );
}

describe('a payload that breaks the event contract', () => {
  it('is dead-lettered after one delivery with its reason; later events still flow', async () => {
    const durable = `poison-${randomBytes(3).toString('hex')}`;
    const seen: string[] = [];
    const consumer = await start(durable, 'post.created', async (e) => {
      if (e.subject === 'post.created') seen.push(e.payload.postId);
    });
    const bad = { ...created(), postId: 'abc' };
    const badSeq = await publishRaw('post.created', bad);
    await publishRaw('post.created', '{not json');
    const good = created();
    await publishRaw('post.created', good);

    await eventually(
      async () => consumer.handled(),
      (n) => n === 1,
    );
    expect(seen).toEqual([good.postId]);
    const dead = await eventually(
      () => deadLetters('post.created'),
      (d) => d.length === 2,
    );
    expect(dead).toHaveLength(2);
    // Handled concurrently: find each by its position in the POSTS stream.
    const first = dead.find((m) => m.header.get(DLQ_HEADERS.streamSeq) === String(badSeq));
    const second = dead.find((m) => m !== first);
    expect(first!.json()).toEqual(bad); // the original bytes
    expect(first!.header.get(DLQ_HEADERS.reason)).toBe('invalid');
    expect(first!.header.get(DLQ_HEADERS.deliveries)).toBe('1');
    expect(first!.header.get(DLQ_HEADERS.consumer)).toBe(durable);
    expect(first!.header.get(DLQ_HEADERS.subject)).toBe(subjectFor(prefix, 'post.created'));
    expect(first!.header.get(DLQ_HEADERS.stream)).toBe(streamNames(prefix).POSTS);
    expect(first!.header.get(DLQ_HEADERS.streamSeq)).toBe(String(badSeq));
    expect(first!.header.get(DLQ_HEADERS.error)).toBe('postId: invalid_format');
    expect(second!.header.get(DLQ_HEADERS.error)).toBe('not JSON');
    expect(await counted(durable, 'invalid')).toBe(2);

    // Terminated, not retried: nothing pending or awaiting an ack, no redelivery.
    await new Promise((r) => setTimeout(r, 300));
    const info = await jsm.consumers.info(streamNames(prefix).POSTS, durable);
    expect(info).toMatchObject({ num_pending: 0, num_ack_pending: 0, num_redelivered: 0 });
    expect(seen).toEqual([good.postId]);

    const logged = lines.filter((l) => l.includes('event dead-lettered') && l.includes(durable));
    expect(logged).toHaveLength(2);
    for (const l of logged) expect(l).not.toContain(SECRET);
  });
});

describe('a handler that keeps failing', () => {
  it('is retried with a growing delay', () => {
    expect([1, 2, 3, 4].map((n) => retryDelay(n, 100))).toEqual([100, 200, 400, 800]);
    expect(retryDelay(50)).toBe(300_000);
  });

  it('is dead-lettered after maxDeliver deliveries, then no longer delivered', async () => {
    const durable = `exhaust-${randomBytes(3).toString('hex')}`;
    const attempts = new Map<string, number>();
    await start(
      durable,
      'post.deleted',
      async (e) => {
        if (e.subject !== 'post.deleted') return;
        const id = e.payload.postId;
        attempts.set(id, (attempts.get(id) ?? 0) + 1);
        throw new Error(`boom ${SECRET.length}`);
      },
      { maxDeliver: 3, retryDelayMs: 50 },
    );
    const config = (await jsm.consumers.info(streamNames(prefix).POSTS, durable)).config;
    // One spare above the longest retry (an outage) for a lost last attempt.
    expect(config.max_deliver).toBe(MAX_OUTAGE_DELIVERIES + 1);

    const postId = String(mintId());
    const at = new Date().toISOString();
    await publishRaw('post.deleted', { v: 1, postId, authorId: '7', createdAt: at, deletedAt: at });
    const dead = await eventually(
      () => deadLetters('post.deleted'),
      (d) => d.length === 1,
    );
    expect(dead).toHaveLength(1);
    expect(dead[0]!.header.get(DLQ_HEADERS.reason)).toBe('exhausted');
    expect(dead[0]!.header.get(DLQ_HEADERS.deliveries)).toBe('3');
    expect(dead[0]!.header.get(DLQ_HEADERS.error)).toBe(`boom ${SECRET.length}`);
    expect(attempts.get(postId)).toBe(3);
    expect(await counted(durable, 'exhausted')).toBe(1);
    await new Promise((r) => setTimeout(r, 500));
    expect(attempts.get(postId)).toBe(3);
    const info = await jsm.consumers.info(streamNames(prefix).POSTS, durable);
    expect(info).toMatchObject({ num_pending: 0, num_ack_pending: 0 });
  });
  it('keeps retrying past maxDeliver while a dependency is down, up to maxOutageDeliveries', async () => {
    const durable = `outage-${randomBytes(3).toString('hex')}`;
    const attempts = new Map<string, number>();
    await start(
      durable,
      'post.deleted',
      async (e) => {
        if (e.subject !== 'post.deleted') return;
        const id = e.payload.postId;
        const n = (attempts.get(id) ?? 0) + 1;
        attempts.set(id, n);
        // The database is "down" for the first four deliveries, then comes back.
        if (n <= 4)
          throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      },
      { maxDeliver: 2, maxOutageDeliveries: 6, retryDelayMs: 20 },
    );
    const postId = String(mintId());
    const at = new Date().toISOString();
    await publishRaw('post.deleted', { v: 1, postId, authorId: '7', createdAt: at, deletedAt: at });
    await eventually(
      async () => attempts.get(postId) ?? 0,
      (n) => n === 5,
    );
    expect(attempts.get(postId)).toBe(5);
    expect(await counted(durable, 'exhausted')).toBe(0);
    // (The exhaustion test's consumer also reads post.deleted and dead-letters its own copy.)
    const dead = await deadLetters('post.deleted');
    expect(dead.filter((d) => d.header.get(DLQ_HEADERS.consumer) === durable)).toEqual([]);
  });
});

describe('npm run dlq:replay', () => {
  it('republishes dead letters to their subject, removes them, and the consumer handles them', async () => {
    const durable = `replay-${randomBytes(3).toString('hex')}`;
    let failing = true;
    const handled: string[] = [];
    await start(
      durable,
      'post.updated',
      async (e) => {
        if (failing) throw new Error('dependency down');
        if (e.subject === 'post.updated') handled.push(e.payload.postId);
      },
      { maxDeliver: 1, retryDelayMs: 50 },
    );
    const post = { ...created(), updatedAt: new Date().toISOString() };
    await publishRaw('post.updated', post);
    await eventually(
      () => deadLetters('post.updated'),
      (d) => d.length === 1,
    );
    const invalidBefore = (await deadLetters('post.created')).length;

    // Nothing dead-lettered since 2099; a dry run lists without touching anything.
    expect(
      (await replayDeadLetters(nc, prefix, { since: parseSince('2099-01-01') })).replayed,
    ).toBe(0);
    const dry = await replayDeadLetters(nc, prefix, { subject: 'post.updated', dryRun: true });
    expect(dry.entries.map((e) => [e.subject, e.reason, e.consumer])).toEqual([
      ['post.updated', 'exhausted', durable],
    ]);
    expect(await deadLetters('post.updated')).toHaveLength(1);

    failing = false;
    const result = await replayDeadLetters(nc, prefix, {
      subject: 'post.updated',
      since: parseSince('1h'),
    });
    expect(result.replayed).toBe(1);
    await eventually(
      async () => handled,
      (h) => h.length === 1,
    );
    expect(handled).toEqual([post.postId]);
    expect(await deadLetters('post.updated')).toHaveLength(0);
    // Other subjects were left alone.
    expect(await deadLetters('post.created')).toHaveLength(invalidBefore);
  });

  it('reads --since as an ISO time or an age', () => {
    const now = new Date('2026-05-01T12:00:00Z');
    expect(parseSince('30m', now).toISOString()).toBe('2026-05-01T11:30:00.000Z');
    expect(parseSince('7d', now).toISOString()).toBe('2026-04-24T12:00:00.000Z');
    expect(parseSince('2026-04-30T00:00:00Z').toISOString()).toBe('2026-04-30T00:00:00.000Z');
    for (const bad of ['yesterday', '5', '1y', '']) expect(() => parseSince(bad)).toThrow();
  });
});

describe('ensureConsumer', () => {
  it('bounds the deliveries of a consumer created unbounded (max_deliver -1)', async () => {
    const durable = `legacy-${randomBytes(3).toString('hex')}`;
    const stream = streamNames(prefix).GRAPH;
    await jsm.consumers.add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      filter_subject: subjectFor(prefix, 'graph.>'),
      ack_wait: nanos(30_000),
      max_deliver: -1,
    });
    await ensureConsumer({ nc, stream, durable, filterSubject: subjectFor(prefix, 'graph.>') });
    expect((await jsm.consumers.info(stream, durable)).config.max_deliver).toBe(
      MAX_OUTAGE_DELIVERIES + 1,
    );
  });
});
