// npm run seed against its own database: the data keeps Mosaic's invariants, the planner's
// statistics describe the seeded tables (not the empty ones), and --wait follows the
// outbox relays and a consumer until everything the seed queued has been consumed.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../lib/config.js';
import { startConsumer } from '../../lib/platform/consumer.js';
import { createPool } from '../../lib/platform/db.js';
import { parseEvent, streamNames, subjectFor } from '../../lib/contracts/events.js';
import { createLogger } from '../../lib/platform/logger.js';
import { connectNats, deleteStreams, ensureStreams } from '../../lib/platform/nats.js';
import { startOutboxRelay } from '../../lib/platform/outbox/relay.js';
import { isolate, type Isolation } from '../../test/support/isolation.js';
import {
  DEMO_USERNAME,
  PROJECTION_TABLES,
  SEEDED_TABLES,
  drainState,
  remaining,
  seed,
  waitForDrain,
  type DrainState,
  type SeedResult,
} from '../seed.js';

let iso: Isolation;
let dir: string;
let cfg: Config;
let result: SeedResult;
let seededAt: Date;

beforeAll(async () => {
  iso = await isolate();
  dir = await mkdtemp(path.join(os.tmpdir(), 'mosaic-seed-'));
  cfg = parseConfig({ ...iso.env, STORAGE_DIR: dir });
  seededAt = new Date();
  result = await seed(cfg, { users: 400, postsPerUser: 3, imagePool: 2, copyObjects: false });
}, 120_000);

afterAll(async () => {
  await iso?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('seed', () => {
  it('leaves current planner statistics on every table it filled', async () => {
    const rows = await iso.query<{
      t: string;
      reltuples: number;
      last_analyze: Date | null;
      columns_with_stats: string;
    }>(
      `SELECT n.nspname || '.' || c.relname AS t, c.reltuples,
              greatest(s.last_analyze, s.last_autoanalyze) AS last_analyze,
              (SELECT count(*) FROM pg_stats p
                WHERE p.schemaname = n.nspname AND p.tablename = c.relname)::text AS columns_with_stats
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_stat_user_tables s ON s.relid = c.oid
        WHERE n.nspname || '.' || c.relname = ANY($1::text[])`,
      [SEEDED_TABLES],
    );
    expect(rows.map((r) => r.t).sort()).toEqual([...SEEDED_TABLES].sort());
    for (const r of rows) {
      const [{ n } = { n: '' }] = await iso.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM ${r.t}`,
      );
      // What the planner believes (pg_class.reltuples, -1 = never analysed) is the table's size.
      expect({ table: r.t, rows: r.reltuples }).toEqual({ table: r.t, rows: Number(n) });
      expect(Number(n)).toBeGreaterThan(0);
      expect(r.last_analyze!.getTime()).toBeGreaterThanOrEqual(seededAt.getTime() - 1000);
      expect(Number(r.columns_with_stats)).toBeGreaterThan(0);
    }
  });

  it('keeps the invariants: exact counters, one post.created per post, a demo login', async () => {
    const [counts] = await iso.query<Record<string, string>>(`SELECT
      (SELECT count(*) FROM users.users)::text AS users,
      (SELECT count(*) FROM posts.posts)::text AS posts,
      (SELECT count(*) FROM posts.media)::text AS media,
      (SELECT count(*) FROM posts.post_media)::text AS post_media,
      (SELECT coalesce(sum(post_count), 0) FROM posts.author_stats)::text AS post_count_sum,
      (SELECT count(*) FROM posts.outbox WHERE subject = 'post.created')::text AS post_events,
      (SELECT count(*) FROM users.outbox WHERE subject = 'user.created')::text AS user_events,
      (SELECT count(*) FROM graph.follows)::text AS follows`);
    expect(counts).toEqual({
      users: '400',
      posts: String(result.posts),
      media: String(result.media),
      post_media: String(result.media),
      post_count_sum: String(result.posts),
      post_events: String(result.posts),
      user_events: '400',
      follows: String(result.follows),
    });
    const wrongCounters = await iso.query(`
      SELECT s.user_id FROM graph.user_stats s
      WHERE s.follower_count <> (SELECT count(*) FROM graph.follows WHERE followee_id = s.user_id)
         OR s.following_count <> (SELECT count(*) FROM graph.follows WHERE follower_id = s.user_id)`);
    expect(wrongCounters).toEqual([]);
    // Every event passes the contract the consumers check (a failing one is dead-lettered).
    const events = await iso.query<{ subject: string; payload: unknown }>(
      `SELECT subject, payload FROM posts.outbox UNION ALL SELECT subject, payload FROM users.outbox`,
    );
    expect(events.filter((e) => !parseEvent(e.subject, e.payload).ok)).toEqual([]);
    const [demo] = await iso.query<{ following_count: string }>(
      `SELECT s.following_count::text FROM users.users u JOIN graph.user_stats s ON s.user_id = u.id
        WHERE u.username = $1`,
      [DEMO_USERNAME],
    );
    expect(result.demo).toMatchObject({ username: DEMO_USERNAME, created: true });
    expect(Number(demo!.following_count)).toBe(result.demo.following);
    expect(result.demo.following).toBeGreaterThan(50);
    expect(Object.keys(result.phasesMs)).toEqual([
      'images',
      'accounts',
      'follows',
      'counters',
      'posts',
      'analyze',
    ]);
  });

  it('--wait follows the outbox backlog and consumer pending until drained', async () => {
    const logger = createLogger('seed-test', cfg);
    const pool: pg.Pool = createPool(cfg);
    const nc = await connectNats(cfg, 'seed-test');
    const prefix = cfg.NATS_PREFIX;
    await ensureStreams(nc, prefix);
    try {
      const jsm = await jetstreamManager(nc);
      expect(await drainState(pool, jsm, prefix)).toEqual({
        backlog: { users: 400, posts: result.posts, graph: 0 },
        pending: {},
        consumers: { users: 0, posts: 0, graph: 0 },
      });
      const relays = ['users', 'posts'].map((schema) =>
        startOutboxRelay({ nc, pool, schema, prefix, logger, pollMs: 200, batchSize: 500 }),
      );
      let handled = 0;
      const consumer = await startConsumer({
        nc,
        prefix,
        logger,
        stream: streamNames(prefix).POSTS,
        durable: 'seed-test-posts',
        filterSubject: subjectFor(prefix, 'post.>'),
        concurrency: 16,
        handle: async () => {
          handled++;
        },
      });
      const states: DrainState[] = [];
      try {
        await waitForDrain(cfg, { pollMs: 100, onState: (s) => states.push(s) });
      } finally {
        await consumer.stop();
        await Promise.all(relays.map((r) => r.stop()));
      }
      expect(handled).toBe(result.posts);
      expect(states.at(-1)).toEqual({
        backlog: { users: 0, posts: 0, graph: 0 },
        pending: { 'seed-test-posts': 0 },
        consumers: { users: 0, posts: 1, graph: 0 },
      });
      // Every delivery to come is counted once (a row published while the state is read
      // may be counted in both places for a moment, hence the slack of one relay batch).
      const left = states.map(remaining);
      expect(left[0]).toBeGreaterThan(0);
      expect(Math.max(...left)).toBeLessThanOrEqual(400 + result.posts + 500);
      // Then the tables the consumers fill are analysed too.
      const analysed = await iso.query<{ t: string }>(
        `SELECT schemaname || '.' || relname AS t FROM pg_stat_user_tables
          WHERE schemaname || '.' || relname = ANY($1::text[]) AND last_analyze IS NOT NULL`,
        [PROJECTION_TABLES],
      );
      expect(analysed.map((r) => r.t).sort()).toEqual([...PROJECTION_TABLES].sort());
    } finally {
      await deleteStreams(nc, prefix).catch(() => {});
      await nc.close();
      await pool.end();
    }
  }, 60_000);
});
