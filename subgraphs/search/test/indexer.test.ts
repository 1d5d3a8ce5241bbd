// The indexer's event handling against a real database: idempotent under redelivery and
// reordering, tombstones that keep deleted posts out, hashtag counts, malformed events;
// plus the durable consumer end to end (events published on the POSTS stream).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config.js';
import { createLogger } from '../../../lib/platform/logger.js';
import { connectNats, deleteStreams, ensureStreams } from '../../../lib/platform/nats.js';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import {
  dlqStreamName,
  dlqSubject,
  streamNames,
  subjectFor,
  type PostCreatedV1,
} from '../../../lib/contracts/events.js';
import { DLQ_HEADERS } from '../../../lib/platform/dead-letters.js';
import { eventually, mintId, publishEvent } from '../../../test/support/events.js';
import { isolate, type Isolation } from '../../../test/support/isolation.js';
import type { AppContext } from '../src/context.js';
import { INDEXER_DURABLE, indexEvent, startIndexer } from '../src/indexer.js';
import { createSearchApp } from '../src/service.js';
import { createPgBackend } from '../src/pg-backend.js';

let iso: Isolation;
let app: AppContext;

beforeAll(async () => {
  iso = await isolate();
  const cfg = parseConfig(iso.env);
  app = await createSearchApp(cfg, createLogger('search-test', cfg));
});
afterAll(async () => {
  await app?.pool.end();
  await iso?.drop();
});

const AUTHOR = '1000';
const at = (s: number) => new Date(Date.UTC(2026, 10, 1, 12, 0, s)).toISOString();

function created(id: string, caption: string, hashtags: string[]): PostCreatedV1 {
  return { v: 1, postId: id, authorId: AUTHOR, createdAt: at(0), caption, hashtags, media: [] };
}

const row = async (id: string) =>
  (
    await iso.query<{ caption: string; hashtags: string[]; deleted: boolean }>(
      'SELECT caption, hashtags, deleted_at IS NOT NULL AS deleted FROM search.posts WHERE post_id = $1',
      [id],
    )
  )[0];
const count = async (tag: string) =>
  (
    await iso.query<{ post_count: number }>(
      'SELECT post_count FROM search.hashtags WHERE name = $1',
      [tag],
    )
  )[0]?.post_count ?? null;

describe('indexEvent', () => {
  it('applies a redelivered post.created once (hashtag counted once)', async () => {
    const id = String(mintId());
    const e = created(id, 'hello #once', ['once']);
    expect(await indexEvent(app, 'post.created', e)).toBe(true);
    expect(await indexEvent(app, 'post.created', e)).toBe(false);
    expect(await count('once')).toBe(1);
  });

  it('concurrent deliveries of the same event count once', async () => {
    const id = String(mintId());
    const e = created(id, 'race #race', ['race']);
    const results = await Promise.all([1, 2, 3, 4].map(() => indexEvent(app, 'post.created', e)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await count('race')).toBe(1);
  });

  it('applies updates in event-time order and ignores older ones arriving late', async () => {
    const id = String(mintId());
    await indexEvent(app, 'post.created', created(id, 'v0 #a', ['a']));
    const v2 = { ...created(id, 'v2 #c', ['c']), updatedAt: at(20) };
    const v1 = { ...created(id, 'v1 #b', ['b']), updatedAt: at(10) };
    expect(await indexEvent(app, 'post.updated', v2)).toBe(true);
    expect(await indexEvent(app, 'post.updated', v1)).toBe(false);
    expect(await row(id)).toMatchObject({ caption: 'v2 #c', hashtags: ['c'] });
    expect([await count('a'), await count('b'), await count('c')]).toEqual([0, null, 1]);
  });

  it('keeps a deleted post out, even when its post.created arrives after the deletion', async () => {
    const id = String(mintId());
    const del = { v: 1 as const, postId: id, authorId: AUTHOR, createdAt: at(0), deletedAt: at(5) };
    expect(await indexEvent(app, 'post.deleted', del)).toBe(true);
    expect(await indexEvent(app, 'post.created', created(id, 'late #late', ['late']))).toBe(false);
    expect(await indexEvent(app, 'post.deleted', del)).toBe(false);
    expect(await row(id)).toMatchObject({ deleted: true, caption: '' });
    expect(await count('late')).toBeNull();
  });

  it('decrements hashtag counts on deletion', async () => {
    const id = String(mintId());
    await indexEvent(app, 'post.created', created(id, '#gone', ['gone']));
    expect(await count('gone')).toBe(1);
    await indexEvent(app, 'post.deleted', {
      v: 1,
      postId: id,
      authorId: AUTHOR,
      createdAt: at(0),
      deletedAt: at(9),
    });
    expect(await count('gone')).toBe(0);
  });

  it('ignores malformed events instead of failing them forever', async () => {
    for (const bad of [null, {}, { postId: 'x', authorId: AUTHOR, createdAt: at(0) }, 42]) {
      expect(await indexEvent(app, 'post.created', bad)).toBe(false);
    }
    expect(
      await indexEvent(app, 'post.deleted', { postId: '5', authorId: AUTHOR, createdAt: at(0) }),
    ).toBe(false);
  });
});

describe('Postgres text search candidates', () => {
  it('ranks only the newest SEARCH_TEXT_CANDIDATES matches, exactly when fewer', async () => {
    const ids: string[] = [];
    for (const caption of ['zebra zebra zebra', 'zebra crossing', 'a zebra']) {
      const id = String(mintId());
      ids.push(id);
      await indexEvent(app, 'post.created', created(id, caption, []));
    }
    const all = await createPgBackend(app.pool).searchText(['zebra'], null, 10);
    expect(all.hits.map((h) => String(h.id))).toEqual([ids[0], ids[2], ids[1]]);
    const capped = await createPgBackend(app.pool, { textCandidates: 2 }).searchText(
      ['zebra'],
      null,
      10,
    );
    expect(capped.hits.map((h) => String(h.id)).sort()).toEqual([ids[1], ids[2]].sort());
  });
});

describe('cursors Postgres cannot cast', () => {
  const cursor = (pos: unknown[]) => Buffer.from(JSON.stringify(pos)).toString('base64url');
  const codeOf = async (p: Promise<unknown>) =>
    p.then(
      () => null,
      (err: { extensions?: { code?: string } }) => err.extensions?.code ?? 'thrown',
    );

  it('are BAD_USER_INPUT, while the edges of the real range still query', async () => {
    const pg = createPgBackend(app.pool);
    for (const rank of ['1e39', '1e-50', '1e308', '-1']) {
      expect(await codeOf(pg.searchText(['x'], cursor([rank, '1']), 5)), rank).toBe(
        'BAD_USER_INPUT',
      );
    }
    expect(await codeOf(pg.byHashtag('x', cursor(['9223372036854775808']), 5))).toBe(
      'BAD_USER_INPUT',
    );
    for (const rank of ['0', '1e-45', '3.4028235e+38']) {
      expect(await codeOf(pg.searchText(['x'], cursor([rank, '1']), 5)), rank).toBeNull();
    }
  });
});

describe('people events', () => {
  const person = async (id: string) =>
    (
      await iso.query<{
        username: string;
        display_name: string | null;
        name_key: string;
        follower_count: number;
        searchable: boolean;
      }>(
        `SELECT username, display_name, name_key, follower_count, version_at > '-infinity' AS searchable
         FROM search.users WHERE user_id = $1`,
        [id],
      )
    )[0];
  const createdUser = (id: string, displayName: string | null, s = 0) => ({
    v: 1,
    userId: id,
    username: `Person${id}`,
    createdAt: at(s),
    displayName,
  });
  const updatedUser = (id: string, displayName: string | null, s: number) => ({
    v: 1,
    userId: id,
    username: `Person${id}`,
    displayName,
    updatedAt: at(s),
  });
  const followed = (followee: string, count: number, s: number) => ({
    v: 1,
    followerId: '77',
    followeeId: followee,
    createdAt: at(s),
    followeeFollowerCount: count,
  });
  const unfollowed = (followee: string, count: number, s: number) => ({
    v: 1,
    followerId: '77',
    followeeId: followee,
    at: at(s),
    followeeFollowerCount: count,
  });

  it('keeps the newest profile whatever order user.created and user.updated arrive in', async () => {
    const id = String(mintId());
    expect(await indexEvent(app, 'user.updated', updatedUser(id, 'Élodie Dupré', 5))).toBe(true);
    expect(await indexEvent(app, 'user.created', createdUser(id, 'Old Name'))).toBe(false);
    expect(await indexEvent(app, 'user.updated', updatedUser(id, 'Older', 3))).toBe(false);
    expect(await indexEvent(app, 'user.updated', updatedUser(id, 'Élodie Dupré', 5))).toBe(false);
    expect(await person(id)).toMatchObject({
      username: `Person${id}`,
      display_name: 'Élodie Dupré',
      name_key: 'elodie dupre',
      searchable: true,
    });
    expect(await indexEvent(app, 'user.updated', updatedUser(id, null, 9))).toBe(true);
    expect(await person(id)).toMatchObject({ display_name: null, name_key: '' });
  });

  it('keeps the follower count of the latest follow or unfollow, even before the profile', async () => {
    const id = String(mintId());
    expect(await indexEvent(app, 'graph.followed', followed(id, 2, 10))).toBe(true);
    // Not searchable until its profile arrives.
    expect(await person(id)).toMatchObject({ follower_count: 2, searchable: false });
    expect(await indexEvent(app, 'graph.followed', followed(id, 1, 4))).toBe(false);
    expect(await indexEvent(app, 'graph.unfollowed', unfollowed(id, 0, 8))).toBe(false);
    expect(await indexEvent(app, 'graph.followed', followed(id, 2, 10))).toBe(false);
    expect(await indexEvent(app, 'user.created', createdUser(id, 'Count Me'))).toBe(true);
    expect(await person(id)).toMatchObject({ follower_count: 2, searchable: true });
    expect(await indexEvent(app, 'graph.unfollowed', unfollowed(id, 1, 12))).toBe(true);
    expect(await person(id)).toMatchObject({ follower_count: 1 });
  });

  it('changes nothing for the other graph events', async () => {
    const id = String(mintId());
    const blocked = { v: 1, blockerId: id, blockedId: '5', at: at(1) };
    expect(await indexEvent(app, 'graph.blocked', blocked)).toBe(false);
    expect(await person(id)).toBeUndefined();
  });
});

describe('the durable consumer', () => {
  it('indexes events from the POSTS stream and measures lag', async () => {
    const nc = await connectNats(app.cfg, 'search-test');
    await ensureStreams(nc, app.cfg.NATS_PREFIX);
    const indexer = await startIndexer(app, nc);
    try {
      const id = String(mintId());
      const now = new Date().toISOString();
      await publishEvent(nc, app.cfg.NATS_PREFIX, 'post.created', {
        ...created(id, 'streamed #stream', ['stream']),
        createdAt: now,
      });
      const r = await eventually(
        () => row(id),
        (v) => v !== undefined,
      );
      expect(r).toMatchObject({ caption: 'streamed #stream', deleted: false });
      const lags = await eventually(
        async () => indexer.lags(),
        (l) => l.length > 0,
      );
      expect(lags[0]).toBeGreaterThanOrEqual(0);
      expect(lags[0]).toBeLessThan(10_000);
    } finally {
      await indexer.stop();
      await deleteStreams(nc, app.cfg.NATS_PREFIX);
      await nc.close();
    }
  });

  it('dead-letters a malformed event after one delivery and indexes the next one', async () => {
    const nc = await connectNats(app.cfg, 'search-test');
    const prefix = app.cfg.NATS_PREFIX;
    await ensureStreams(nc, prefix);
    const indexer = await startIndexer(app, nc);
    try {
      const bad = String(mintId());
      await jetstream(nc).publish(
        subjectFor(prefix, 'post.created'),
        JSON.stringify({ ...created(bad, 'bad #bad', ['bad']), media: 'none' }),
      );
      const good = String(mintId());
      await publishEvent(nc, prefix, 'post.created', created(good, 'after #after', ['after']));
      await eventually(
        () => row(good),
        (v) => v !== undefined,
      );
      const jsm = await jetstreamManager(nc);
      const dead = await eventually(
        () =>
          jsm.streams
            .getMessage(dlqStreamName(prefix), {
              last_by_subj: dlqSubject(prefix, 'post.created'),
            })
            .catch(() => null),
        (m) => m !== null,
      );
      expect(dead?.header.get(DLQ_HEADERS.consumer)).toBe(INDEXER_DURABLE);
      expect(dead?.header.get(DLQ_HEADERS.reason)).toBe('invalid');
      expect(dead?.header.get(DLQ_HEADERS.deliveries)).toBe('1');
      expect(dead?.header.get(DLQ_HEADERS.error)).toBe('media: invalid_type');
      expect(await row(bad)).toBeUndefined();
      const info = await jsm.consumers.info(streamNames(prefix).POSTS, INDEXER_DURABLE);
      expect(info).toMatchObject({ num_pending: 0, num_ack_pending: 0, num_redelivered: 0 });
    } finally {
      await indexer.stop();
      await deleteStreams(nc, prefix);
      await nc.close();
    }
  });
});
