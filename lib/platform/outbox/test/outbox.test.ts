// Outbox and relay against the real Postgres and NATS JetStream (schema `users`, whose
// outbox table is in the migrated template).
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type pg from 'pg';
import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { isolate, type Isolation } from '../../../../test/support/isolation.js';
import { parseConfig } from '../../../config.js';
import { createPool, createPrisma } from '../../db.js';
import { createLogger } from '../../logger.js';
import { connectNats, deleteStreams, ensureStreams, NatsUnavailableError } from '../../nats.js';
import type { NatsConnection } from '../../nats.js';
import {
  POST_CREATED,
  USER_CREATED,
  streamNames,
  subjectFor,
  type UserCreatedV1,
} from '../../../contracts/events.js';
import { enqueue } from '../outbox.js';
import {
  pruneOutbox,
  replayOutbox,
  startOutboxRelay,
  type OutboxRelay,
  type OutboxRelayOptions,
} from '../relay.js';

const SCHEMA = 'users';

let iso: Isolation;
let pool: pg.Pool;
let nc: NatsConnection;
let jsm: JetStreamManager;
let js: JetStreamClient;
let prefix: string;
const logger = createLogger('outbox-test', { LOG_LEVEL: 'silent' });
const relays: OutboxRelay[] = [];

const userCreated = (n: number): UserCreatedV1 => ({
  v: 1,
  userId: String(1000 + n),
  username: `user${n}`,
  createdAt: new Date().toISOString(),
});

async function inTx<T>(fn: (c: pg.PoolClient) => Promise<T>, commit = true): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const out = await fn(c);
    await c.query(commit ? 'COMMIT' : 'ROLLBACK');
    return out;
  } finally {
    c.release();
  }
}

type RelayOverrides = Partial<Omit<OutboxRelayOptions, 'nc' | 'js'>> &
  ({ nc?: NatsConnection } | { js: JetStreamClient });

function relay(overrides: RelayOverrides = {}): OutboxRelay {
  const target = 'js' in overrides ? { js: overrides.js } : { nc: overrides.nc ?? nc };
  const r = startOutboxRelay({
    pool,
    schema: SCHEMA,
    prefix,
    logger,
    pollMs: 60_000,
    batchSize: 50,
    ...overrides,
    ...target,
  });
  relays.push(r);
  return r;
}

async function streamCount(p = prefix): Promise<number> {
  return (await jsm.streams.info(streamNames(p).USERS)).state.messages;
}

interface Row {
  published_at: Date | null;
  attempts: number;
  last_error: string | null;
  backed_off: boolean;
}

async function outboxRows(where = 'true'): Promise<Row[]> {
  const { rows } = await pool.query<Row>(
    `SELECT published_at, attempts, last_error, next_attempt_at > created_at AS backed_off
       FROM ${SCHEMA}.outbox WHERE ${where} ORDER BY id`,
  );
  return rows;
}

async function countRows(where = 'true'): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${SCHEMA}.outbox WHERE ${where}`,
  );
  return rows[0]!.n;
}

const pendingCount = () => countRows('published_at IS NULL');

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  iso = await isolate();
  const cfg = parseConfig(iso.env);
  prefix = cfg.NATS_PREFIX;
  pool = createPool(cfg);
  nc = await connectNats(cfg, 'outbox-test');
  jsm = await jetstreamManager(nc);
  js = jetstream(nc);
  await ensureStreams(nc, prefix);
});

beforeEach(async () => {
  await pool.query(`TRUNCATE ${SCHEMA}.outbox`);
  await jsm.streams.purge(streamNames(prefix).USERS);
});

afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.stop()));
});

afterAll(async () => {
  await deleteStreams(jsm, prefix);
  await nc?.close();
  await pool?.end();
  await iso?.drop();
});

describe('streams', () => {
  it('are created with the prefix, limits and duplicate window, idempotently in parallel', async () => {
    await Promise.all([
      ensureStreams(nc, prefix),
      ensureStreams(jsm, prefix),
      ensureStreams(nc, prefix),
    ]);
    const names = streamNames(prefix);
    expect(names).toEqual({
      USERS: `${prefix}_USERS`,
      POSTS: `${prefix}_POSTS`,
      GRAPH: `${prefix}_GRAPH`,
      ENGAGEMENT: `${prefix}_ENGAGEMENT`,
    });
    const info = await jsm.streams.info(names.POSTS);
    expect(info.config.subjects).toEqual([`${prefix}.post.>`]);
    expect(info.config.storage).toBe('file');
    expect(info.config.retention).toBe('limits');
    expect(info.config.max_age).toBe(7 * 24 * 3600 * 1e9);
    expect(info.config.duplicate_window).toBe(600 * 1e9);
  });

  it('updates a stream whose limits drifted', async () => {
    const name = streamNames(prefix).GRAPH;
    const info = await jsm.streams.info(name);
    await jsm.streams.update(name, { ...info.config, max_age: 3600 * 1e9 });
    await ensureStreams(nc, prefix);
    expect((await jsm.streams.info(name)).config.max_age).toBe(7 * 24 * 3600 * 1e9);
  });

  it('connectNats fails clearly when NATS is unreachable', async () => {
    await expect(connectNats({ NATS_URL: 'nats://127.0.0.1:1' }, 'nope')).rejects.toThrow(
      NatsUnavailableError,
    );
    await expect(connectNats({ NATS_URL: 'nats://127.0.0.1:1' }, 'nope')).rejects.toThrow(
      /cannot connect to NATS at nats:\/\/127\.0\.0\.1:1/,
    );
  });
});

describe('outbox relay', () => {
  it('publishes a committed row with Nats-Msg-Id = row id and marks it published', async () => {
    const payload = userCreated(1);
    const id = await inTx((c) => enqueue(c, SCHEMA, USER_CREATED, payload));
    const r = relay();
    // The relay's first tick may already have run; drain waits for it and does the rest.
    await r.drain();
    expect(await pendingCount()).toBe(0);

    const msg = await jsm.streams.getMessage(streamNames(prefix).USERS, {
      last_by_subj: subjectFor(prefix, USER_CREATED),
    });
    expect(msg?.header.get('Nats-Msg-Id')).toBe(id);
    expect(msg?.json()).toEqual(payload);
    const [row] = await outboxRows(`id = ${id}`);
    expect(row).toMatchObject({ attempts: 0, last_error: null });
    expect(row?.published_at).toBeInstanceOf(Date);
    expect(await streamCount()).toBe(1);
  });

  it('enqueues inside a Prisma interactive transaction', async () => {
    const prisma = createPrisma(pool);
    try {
      const id = await prisma.$transaction((tx) =>
        enqueue(tx, SCHEMA, USER_CREATED, userCreated(2)),
      );
      expect(id).toMatch(/^\d+$/);
      await expect(
        prisma.$transaction(async (tx) => {
          await enqueue(tx, SCHEMA, USER_CREATED, userCreated(3));
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      const r = relay();
      await r.drain();
      expect(await streamCount()).toBe(1);
      const msg = await jsm.streams.getMessage(streamNames(prefix).USERS, {
        last_by_subj: subjectFor(prefix, USER_CREATED),
      });
      expect(msg?.header.get('Nats-Msg-Id')).toBe(id);
    } finally {
      await prisma.$disconnect();
    }
  });

  it('publishes nothing for a rolled-back transaction', async () => {
    await inTx((c) => enqueue(c, SCHEMA, USER_CREATED, userCreated(4)), false);
    const r = relay();
    await r.drain();
    expect(await r.drain()).toBe(0);
    expect(await streamCount()).toBe(0);
    expect(await countRows()).toBe(0);
  });

  it('rejects a schema name that is not a plain identifier', async () => {
    await expect(
      inTx((c) => enqueue(c, 'users; DROP TABLE x', USER_CREATED, userCreated(5)), false),
    ).rejects.toThrow(/invalid outbox schema/);
    expect(() => relay({ schema: 'Users' })).toThrow(/invalid outbox schema/);
  });

  it('three concurrent relays publish each of 300 rows exactly once', async () => {
    // Count publish calls per msgID: the stream's de-duplication would hide double publishes.
    const calls = new Map<string, number>();
    const counting = {
      publish: (subject: string, data: string, opts: { msgID: string; timeout: number }) => {
        calls.set(opts.msgID, (calls.get(opts.msgID) ?? 0) + 1);
        return js.publish(subject, data, opts);
      },
    } as unknown as JetStreamClient;
    for (let i = 0; i < 3; i++) relay({ nc: undefined, js: counting, pollMs: 25, batchSize: 20 });

    const ids: string[] = [];
    await Promise.all(
      Array.from({ length: 30 }, (_, t) =>
        inTx(async (c) => {
          for (let i = 0; i < 10; i++)
            ids.push(await enqueue(c, SCHEMA, USER_CREATED, userCreated(t * 10 + i)));
        }),
      ),
    );
    expect(ids).toHaveLength(300);
    await waitFor(async () => (await pendingCount()) === 0, 20_000);

    expect(await streamCount()).toBe(300);
    expect(calls.size).toBe(300);
    expect([...calls.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(calls.keys())).toEqual(new Set(ids));
    expect(await countRows('published_at IS NOT NULL AND attempts = 0')).toBe(300);
  });

  it('records failures with backoff while the stream is missing, then publishes once it exists', async () => {
    const other = `${prefix}x`;
    try {
      const r = relay({ prefix: other, pollMs: 50, publishTimeoutMs: 1000 });
      await inTx(async (c) => {
        for (let i = 0; i < 3; i++) await enqueue(c, SCHEMA, USER_CREATED, userCreated(i));
      });
      await waitFor(async () => (await countRows('attempts >= 1')) === 3);
      for (const row of await outboxRows()) {
        expect(row.published_at).toBeNull();
        expect(row.backed_off).toBe(true);
        expect(row.last_error).toContain(`${other}.user.created`);
      }

      await ensureStreams(jsm, other);
      await waitFor(async () => (await pendingCount()) === 0);
      expect(await streamCount(other)).toBe(3);
      expect(await countRows('attempts >= 1 AND published_at IS NOT NULL')).toBe(3);
      await r.stop();
    } finally {
      await deleteStreams(jsm, other);
    }
  });

  it('records failures when NATS is closed, and keeps the rows for a healthy relay', async () => {
    const dead = await connectNats({ NATS_URL: iso.natsUrl }, 'outbox-test-dead');
    await dead.close();
    const r = relay({ nc: dead });
    await inTx((c) => enqueue(c, SCHEMA, USER_CREATED, userCreated(7)));
    expect(await r.drain()).toBe(0);
    const [row] = await outboxRows();
    expect(row?.attempts).toBe(1);
    expect(row?.last_error).toMatch(/closed/i);
    // Stop the broken relay first: a late wake-up of its own (its LISTEN connecting under
    // load) could otherwise claim the row again before the healthy relay does.
    await r.stop();

    await pool.query(`UPDATE ${SCHEMA}.outbox SET next_attempt_at = now()`);
    await relay().drain();
    expect(await pendingCount()).toBe(0);
    expect(await streamCount()).toBe(1);
  });

  it('wakes on NOTIFY well before its poll interval', async () => {
    const r = relay({ pollMs: 10_000 });
    await r.listening();
    await r.drain();
    const started = Date.now();
    await inTx((c) => enqueue(c, SCHEMA, USER_CREATED, userCreated(8)));
    await waitFor(async () => (await pendingCount()) === 0, 5000);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('ignores notifications for other schemas', async () => {
    const r = relay({ pollMs: 10_000 });
    await r.listening();
    await r.drain();
    // Inserted without the trigger firing for `users`: only a NOTIFY naming another schema.
    await pool.query(`ALTER TABLE ${SCHEMA}.outbox DISABLE TRIGGER outbox_notify`);
    try {
      await inTx((c) => enqueue(c, SCHEMA, USER_CREATED, userCreated(9)));
      await pool.query(`SELECT pg_notify('mosaic_outbox', 'posts')`);
      await new Promise((res) => setTimeout(res, 500));
      expect(await pendingCount()).toBe(1);
      await pool.query(`SELECT pg_notify('mosaic_outbox', 'users')`);
      await waitFor(async () => (await pendingCount()) === 0, 1000);
    } finally {
      await pool.query(`ALTER TABLE ${SCHEMA}.outbox ENABLE TRIGGER outbox_notify`);
    }
  });

  it('re-establishes LISTEN after its connection is killed', async () => {
    const r = relay({ pollMs: 10_000 });
    await r.listening();
    const listenerPids = async () =>
      (
        await pool.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity
            WHERE datname = current_database() AND application_name = 'mosaic-outbox-listener:users'`,
        )
      ).rows.map((row) => row.pid);
    const [pid] = await listenerPids();
    expect(pid).toBeDefined();
    await pool.query('SELECT pg_terminate_backend($1)', [pid]);
    await waitFor(async () => {
      const pids = await listenerPids();
      return pids.length === 1 && pids[0] !== pid;
    });
    await r.drain();
    // LISTEN runs right after connect; give it a moment to be registered.
    await new Promise((res) => setTimeout(res, 100));
    const started = Date.now();
    await inTx((c) => enqueue(c, SCHEMA, USER_CREATED, userCreated(10)));
    await waitFor(async () => (await pendingCount()) === 0, 5000);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('prune and replay', () => {
  it('prunes published rows older than the retention, in batches, and keeps the rest', async () => {
    await pool.query(
      `INSERT INTO ${SCHEMA}.outbox (subject, payload, published_at)
       SELECT 'user.created', '{"v":1}', now() - interval '10 days' FROM generate_series(1, 25)`,
    );
    await pool.query(
      `INSERT INTO ${SCHEMA}.outbox (subject, payload, published_at, next_attempt_at)
       VALUES ('user.created', '{"v":1}', now() - interval '1 day', now() + interval '1 hour'),
              ('user.created', '{"v":1}', NULL, now() + interval '1 hour')`,
    );
    expect(await pruneOutbox(pool, SCHEMA, 7, 10)).toBe(25);
    expect(await countRows()).toBe(2);
  });

  it('replays a time range in publishing order; a second replay is de-duplicated', async () => {
    const { rows } = await pool.query<{ id: string }>(
      `INSERT INTO ${SCHEMA}.outbox (subject, payload, published_at)
       SELECT 'user.created', jsonb_build_object('v', 1, 'userId', g::text),
              timestamptz '2026-03-01T00:00:00Z' + g * interval '1 second'
         FROM generate_series(1, 12) g
       RETURNING id::text AS id`,
    );
    const from = new Date('2026-03-01T00:00:03Z');
    const to = new Date('2026-03-01T00:00:10Z');
    expect(await replayOutbox(pool, js, SCHEMA, prefix, from, to, 3)).toEqual({
      published: 7,
      duplicates: 0,
    });
    expect(await replayOutbox(pool, js, SCHEMA, prefix, from, to, 3)).toEqual({
      published: 0,
      duplicates: 7,
    });
    const userIds: string[] = [];
    const msgIds: string[] = [];
    // Purging in beforeEach keeps the sequence going, so start at the stream's first.
    const first = (await jsm.streams.info(streamNames(prefix).USERS)).state.first_seq;
    for (let seq = first; seq < first + 7; seq++) {
      const m = await jsm.streams.getMessage(streamNames(prefix).USERS, { seq });
      userIds.push(m!.json<{ userId: string }>().userId);
      msgIds.push(m!.header.get('Nats-Msg-Id'));
    }
    expect(userIds).toEqual(['3', '4', '5', '6', '7', '8', '9']);
    expect(msgIds).toEqual(rows.slice(2, 9).map((r) => r.id));
  });
});

describe('post subjects', () => {
  it('go to the POSTS stream', async () => {
    // The users outbox can carry any subject; the stream is chosen by subject.
    await inTx((c) =>
      enqueue(c, SCHEMA, POST_CREATED, {
        v: 1,
        postId: '1',
        authorId: '2',
        createdAt: new Date().toISOString(),
        caption: 'hi #x',
        hashtags: ['x'],
        media: [{ id: '3', type: 'image', width: 10, height: 20 }],
      }),
    );
    await relay().drain();
    const info = await jsm.streams.info(streamNames(prefix).POSTS);
    expect(info.state.messages).toBe(1);
  });
});
