// The home feed under the visibility rule, through the gateway: a block (either direction)
// or a private account's removeFollower hides posts on the very next read, while the
// reader's Redis timeline still holds them (the materializer is paused to hold that
// moment), and the materializer's removal then catches up; follow requests push nothing
// until approved, then backfill; celebrities (pull path) follow the same rule; so does
// GET /v1/feed; and a page thinned out by hidden posts is refilled with a stable cursor.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { jetstreamManager } from '@nats-io/jetstream';
import {
  dlqStreamName,
  dlqSubject,
  streamNames,
  type EventPayloads,
} from '../../../lib/contracts/events.js';
import { connectNats } from '../../../lib/platform/nats.js';
import type { RunningService } from '../../../lib/platform/http/server.js';
import {
  approve,
  block,
  createPost,
  follow,
  requestFollow,
  setPrivate,
  signUp,
  unblock,
  type Account,
} from '../../../test/support/content.js';
import { eventually, publishEvent, publishPostCreated } from '../../../test/support/events.js';
import { startStack, type Stack } from '../../../test/support/stack.js';
import { startFeedWorker } from '../src/service.js';

let stack: Stack;
let nc: NatsConnection;
let redis: Redis;
/** The feed materializer, run as a worker of its own so that a test can pause it. */
let worker: RunningService | null = null;

const resumeMaterializer = async () => {
  worker ??= await startFeedWorker(stack.cfg, 0);
};
const pauseMaterializer = async () => {
  await worker?.close();
  worker = null;
};

beforeAll(async () => {
  stack = await startStack({
    subgraphs: ['user', 'post', 'graph', 'feed'],
    env: {
      FEED_MATERIALIZER: 'false',
      CELEBRITY_FOLLOWER_THRESHOLD: '3',
      MEDIA_JANITOR_INTERVAL_SECONDS: '0',
      RATE_LIMIT_AUTH_PER_MINUTE: '0',
      RATE_LIMIT_USER_PER_MINUTE: '0',
      RATE_LIMIT_IP_PER_MINUTE: '0',
    },
  });
  nc = await connectNats(stack.cfg, 'feed-visibility-test');
  redis = new Redis(stack.cfg.REDIS_URL);
  await resumeMaterializer();
});
afterEach(resumeMaterializer); // a failed test must not leave the next one without it
afterAll(async () => {
  await pauseMaterializer();
  await nc?.close();
  redis?.disconnect();
  await stack?.close();
});

/** `owner` removes `follower` from their followers. */
async function removeFollower(owner: Account, follower: Account): Promise<void> {
  const r = await stack.gql(
    `mutation($id: ID!) { removeFollower(userId: $id) { user { id } } }`,
    { id: follower.id },
    { token: owner.token },
  );
  if (r.errors) throw new Error(`removeFollower failed: ${JSON.stringify(r.errors)}`);
}

interface Page {
  ids: string[];
  hasNextPage: boolean;
  endCursor: string | null;
}

async function feed(reader: Account, first = 50, after: string | null = null): Promise<Page> {
  const r = await stack.gql<{
    feed: {
      edges: { cursor: string; node: { id: string } }[];
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
    };
  }>(
    `query($first: Int, $after: String) { feed(first: $first, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`,
    { first, after },
    { token: reader.token },
  );
  if (r.errors || !r.data) throw new Error(`feed failed: ${JSON.stringify(r.errors)}`);
  return { ids: r.data.feed.edges.map((e) => e.node.id), ...r.data.feed.pageInfo };
}

const feedIds = async (reader: Account) => (await feed(reader)).ids;

/** The reader's feed once it holds every one of `ids`. */
const feedHolding = (reader: Account, ids: string[]) =>
  eventually(
    () => feedIds(reader),
    (got) => ids.every((id) => got.includes(id)),
    20_000,
  );

/** GET /v1/feed as the reader: the ids of its items. */
async function restFeedIds(reader: Account): Promise<string[]> {
  const res = await fetch(`${stack.gatewayUrl}/v1/feed?limit=50`, {
    headers: { authorization: `Bearer ${reader.token}` },
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { items: { id: string; author: { id: string } }[] };
  return body.items.map((p) => p.id);
}

const timelineKey = (userId: string) => `${stack.cfg.REDIS_KEY_PREFIX}tl:{${userId}}`;
const celebsKey = (userId: string) => `${stack.cfg.REDIS_KEY_PREFIX}celebs:{${userId}}`;

/** Which of these posts the reader's Redis timeline holds. */
async function inTimeline(reader: Account, postIds: string[]): Promise<string[]> {
  const scores = await Promise.all(postIds.map((id) => redis.zscore(timelineKey(reader.id), id)));
  return postIds.filter((_, i) => scores[i] !== null);
}

/** Newest first, as the feed orders them. */
const newestFirst = (ids: string[]) =>
  [...ids].sort((a, b) => (BigInt(a) > BigInt(b) ? -1 : BigInt(a) < BigInt(b) ? 1 : 0));

describe('a block or a removed follower takes effect on the next read', () => {
  for (const who of ['author', 'reader'] as const) {
    it(`a block by the ${who} hides a public account's posts at once, over GraphQL and REST, before the timeline is cleaned`, async () => {
      const [author, other, reader] = await Promise.all([
        signUp(stack, 'vb'),
        signUp(stack, 'vb'),
        signUp(stack, 'vb'),
      ]);
      expect(await requestFollow(stack, reader, author)).toBe('FOLLOWING');
      await follow(stack, reader, other);
      await feed(reader); // the reader's timeline exists
      const theirs = [await createPost(stack, author), await createPost(stack, author)];
      const kept = await createPost(stack, other);
      await feedHolding(reader, [...theirs, kept]);

      await pauseMaterializer();
      if (who === 'author') await block(stack, author, reader);
      else await block(stack, reader, author);
      expect(await feedIds(reader)).toEqual([kept]);
      expect(await restFeedIds(reader)).toEqual([kept]);
      // Hidden by the read, not by a removal: the timeline still holds them.
      expect(await inTimeline(reader, theirs)).toEqual(theirs);

      await resumeMaterializer();
      const left = await eventually(
        () => inTimeline(reader, theirs),
        (ids) => ids.length === 0,
      );
      expect(left).toEqual([]);
      expect(await feedIds(reader)).toEqual([kept]);
      // An unblock restores no follow: the posts stay out.
      if (who === 'author') await unblock(stack, author, reader);
      else await unblock(stack, reader, author);
      expect(await feedIds(reader)).toEqual([kept]);
    });
  }

  it("a private account's removeFollower hides its posts at once; the removal catches up", async () => {
    const [owner, reader] = await Promise.all([signUp(stack, 'vr'), signUp(stack, 'vr')]);
    await setPrivate(stack, owner, true);
    expect(await requestFollow(stack, reader, owner)).toBe('REQUESTED');
    await approve(stack, owner, reader);
    await feed(reader);
    const theirs = [await createPost(stack, owner), await createPost(stack, owner)];
    await feedHolding(reader, theirs);

    await pauseMaterializer();
    await removeFollower(owner, reader);
    expect(await feedIds(reader)).toEqual([]);
    expect(await restFeedIds(reader)).toEqual([]);
    expect(await inTimeline(reader, theirs)).toEqual(theirs);

    await resumeMaterializer();
    expect(
      await eventually(
        () => inTimeline(reader, theirs),
        (ids) => ids.length === 0,
      ),
    ).toEqual([]);
    expect(await feedIds(reader)).toEqual([]);
  });

  it("a public account's removeFollower: its posts leave the feed with the timeline removal", async () => {
    // A public account's posts are visible to anyone, so the read has nothing to hide; the
    // materializer's graph.unfollowed removal takes them out.
    const [owner, reader] = await Promise.all([signUp(stack, 'vp'), signUp(stack, 'vp')]);
    await follow(stack, reader, owner);
    await feed(reader);
    const theirs = await createPost(stack, owner);
    await feedHolding(reader, [theirs]);
    await removeFollower(owner, reader);
    const after = await eventually(
      () => feedIds(reader),
      (ids) => ids.length === 0,
    );
    expect(after).toEqual([]);
    expect(await inTimeline(reader, [theirs])).toEqual([]);
  });
});

describe('private accounts', () => {
  it('a follow request pushes nothing; approval backfills the recent posts', async () => {
    const [owner, fan, reader] = await Promise.all([
      signUp(stack, 'vq'),
      signUp(stack, 'vq'),
      signUp(stack, 'vq'),
    ]);
    await setPrivate(stack, owner, true);
    expect(await requestFollow(stack, fan, owner)).toBe('REQUESTED');
    await approve(stack, owner, fan);
    await Promise.all([feed(fan), feed(reader)]); // both timelines exist
    const before = await createPost(stack, owner);
    expect(await requestFollow(stack, reader, owner)).toBe('REQUESTED');
    const during = await createPost(stack, owner);
    // The approved follower got both by fan-out, so the requester's turn has passed too.
    await feedHolding(fan, [before, during]);
    expect(await feedIds(reader)).toEqual([]);
    expect(await inTimeline(reader, [before, during])).toEqual([]);

    await approve(stack, owner, reader);
    const backfilled = await feedHolding(reader, [before, during]);
    expect(backfilled).toEqual(newestFirst([before, during]));
    expect(await inTimeline(reader, [before, during])).toEqual([before, during]);
  });
});

describe('the Postgres fallback', () => {
  it("shows an approved private account's posts, and none of one that removed the reader", async () => {
    const [owner, gone, reader] = await Promise.all([
      signUp(stack, 'vf'),
      signUp(stack, 'vf'),
      signUp(stack, 'vf'),
    ]);
    for (const p of [owner, gone]) {
      await setPrivate(stack, p, true);
      await follow(stack, reader, p);
      await approve(stack, p, reader);
    }
    await feed(reader);
    const shown = await createPost(stack, owner);
    const hidden = await createPost(stack, gone);
    await feedHolding(reader, [shown, hidden]);
    await removeFollower(gone, reader);
    // Another reader holds the rebuild lock of a lost timeline: this read comes from
    // Postgres alone (every followee pulled), under the same rule.
    await redis.del(timelineKey(reader.id));
    await redis.set(`${stack.cfg.REDIS_KEY_PREFIX}tl-rebuild:{${reader.id}}`, '1', 'PX', 10_000);
    expect(await feedIds(reader)).toEqual([shown]);
    expect(await redis.exists(timelineKey(reader.id))).toBe(0);
    await redis.del(`${stack.cfg.REDIS_KEY_PREFIX}tl-rebuild:{${reader.id}}`);
  });
});

describe('celebrities (pull path)', () => {
  /** A celebrity (3 followers at CELEBRITY_FOLLOWER_THRESHOLD 3), `reader` among them. */
  async function celebrity(isPrivate: boolean) {
    const [star, reader, f2, f3, requester] = (await Promise.all(
      Array.from({ length: 5 }, () => signUp(stack, 'vc')),
    )) as [Account, Account, Account, Account, Account];
    if (isPrivate) await setPrivate(stack, star, true);
    for (const f of [reader, f2, f3]) {
      await follow(stack, f, star);
      if (isPrivate) await approve(stack, star, f);
    }
    if (isPrivate) expect(await requestFollow(stack, requester, star)).toBe('REQUESTED');
    await Promise.all([feed(reader), feed(requester)]);
    const postId = await createPost(stack, star);
    await feedHolding(reader, [postId]);
    // Pulled, not pushed.
    expect(await inTimeline(reader, [postId])).toEqual([]);
    return { star, reader, requester, postId };
  }

  it("a private celebrity's posts reach approved followers only, and leave at once on removeFollower", async () => {
    const { star, reader, requester, postId } = await celebrity(true);
    expect(await feedIds(requester)).toEqual([]);

    await pauseMaterializer();
    expect(await feedIds(reader)).toEqual([postId]); // caches its celebrities afresh
    await removeFollower(star, reader);
    // The reader's cached list of celebrities still names the star until the materializer
    // forgets it: the read itself leaves the posts out.
    expect(JSON.parse((await redis.get(celebsKey(reader.id))) ?? '[]')).toContain(star.id);
    expect(await feedIds(reader)).toEqual([]);
    expect(await restFeedIds(reader)).toEqual([]);
    await resumeMaterializer();
    expect(
      await eventually(
        () => redis.exists(celebsKey(reader.id)),
        (n) => n === 0,
      ),
    ).toBe(0);
    expect(await feedIds(reader)).toEqual([]);
  });

  it("a blocked celebrity's posts leave the blocker's feed at once", async () => {
    const { star, reader, postId } = await celebrity(false);
    await pauseMaterializer();
    expect(await feedIds(reader)).toEqual([postId]);
    await block(stack, reader, star);
    expect(JSON.parse((await redis.get(celebsKey(reader.id))) ?? '[]')).toContain(star.id);
    expect(await feedIds(reader)).toEqual([]);
  });
});

describe('pages thinned out by hidden posts', () => {
  /** Posts by `author` one second apart, ending `endMsAgo` ms ago, oldest first. */
  async function posts(author: Account, count: number, endMsAgo: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = count - 1; i >= 0; i--) {
      const at = new Date(Date.now() - endMsAgo - i * 1000);
      ids.push(await publishPostCreated(nc, stack.cfg.NATS_PREFIX, { authorId: author.id, at }));
    }
    return ids;
  }

  async function walk(reader: Account, first: number): Promise<Page[]> {
    const pages: Page[] = [];
    let after: string | null = null;
    do {
      const page = await feed(reader, first, after);
      pages.push(page);
      after = page.hasNextPage ? page.endCursor : null;
    } while (after && pages.length < 20);
    return pages;
  }

  it('refills a page from further down, the cursor stable, nothing repeated or lost', async () => {
    const [blocked, kept, reader] = await Promise.all([
      signUp(stack, 'vt'),
      signUp(stack, 'vt'),
      signUp(stack, 'vt'),
    ]);
    await follow(stack, reader, blocked);
    await follow(stack, reader, kept);
    await feed(reader);
    // 30 hidden posts on top, then the kept ones with more hidden ones between them.
    const hiddenTop = await posts(blocked, 30, 60_000);
    const keptOld = await posts(kept, 6, 100_000);
    const hiddenMid = await posts(blocked, 10, 150_000);
    const keptOlder = await posts(kept, 6, 200_000);
    const all = [...hiddenTop, ...keptOld, ...hiddenMid, ...keptOlder];
    await eventually(
      () => inTimeline(reader, all),
      (ids) => ids.length === all.length,
    );

    await pauseMaterializer();
    await block(stack, reader, blocked);
    const pages = await walk(reader, 5);
    expect(pages.map((p) => p.ids.length)).toEqual([5, 5, 2]);
    expect(pages.map((p) => p.hasNextPage)).toEqual([true, true, false]);
    expect(pages.flatMap((p) => p.ids)).toEqual(newestFirst([...keptOld, ...keptOlder]));
    expect(await inTimeline(reader, hiddenTop)).toEqual(hiddenTop);
  });

  it('moves on past rounds of nothing but hidden posts', async () => {
    const people = await Promise.all(Array.from({ length: 6 }, () => signUp(stack, 'vh')));
    const [reader, kept, ...blocked] = people as [Account, Account, ...Account[]];
    for (const a of [kept, ...blocked]) await follow(stack, reader, a);
    await feed(reader);
    // Four blocked authors, six posts each, newest first author by author, over three kept.
    const hidden: string[] = [];
    for (const [i, a] of blocked.entries())
      hidden.push(...(await posts(a, 6, 60_000 + i * 10_000)));
    const keptIds = await posts(kept, 3, 200_000);
    await eventually(
      () => inTimeline(reader, [...hidden, ...keptIds]),
      (ids) => ids.length === hidden.length + keptIds.length,
    );

    await pauseMaterializer();
    for (const a of blocked) await block(stack, reader, a);
    const pages = await walk(reader, 5);
    // Each round of the first page finds one more author hidden: after four rounds the
    // page gives up, empty, with a cursor past what it examined.
    expect(pages[0]).toMatchObject({ ids: [], hasNextPage: true });
    expect(pages[0]!.endCursor).not.toBeNull();
    expect(pages.flatMap((p) => p.ids)).toEqual(newestFirst(keptIds));
    expect(pages.at(-1)!.hasNextPage).toBe(false);
  });
});

describe('the graph events that move no timeline', () => {
  it('are acknowledged and ignored; the events after them are handled', async () => {
    const [a, b, reader] = await Promise.all([
      signUp(stack, 've'),
      signUp(stack, 've'),
      signUp(stack, 've'),
    ]);
    const at = new Date().toISOString();
    const prefix = stack.cfg.NATS_PREFIX;
    const ignored: { [S in keyof EventPayloads]?: EventPayloads[S] } = {
      'graph.follow_requested': { v: 1, requesterId: a.id, targetId: b.id, createdAt: at },
      'graph.follow_request_removed': {
        v: 1,
        requesterId: a.id,
        targetId: b.id,
        at,
        reason: 'withdrawn',
      },
      'graph.blocked': { v: 1, blockerId: a.id, blockedId: b.id, at },
      'graph.unblocked': { v: 1, blockerId: a.id, blockedId: b.id, at },
      'graph.privacy_changed': { v: 1, userId: a.id, isPrivate: true, at },
    };
    for (const [subject, payload] of Object.entries(ignored))
      await publishEvent(nc, prefix, subject as keyof EventPayloads, payload as never);
    // Then a real follow: its backfill shows the consumer went on past them.
    const postId = await createPost(stack, b);
    await eventually(
      () => stack.iso.query(`SELECT 1 FROM feed.posts WHERE post_id = $1`, [postId]),
      (r) => r.length === 1,
    );
    await feed(reader);
    await follow(stack, reader, b);
    await feedHolding(reader, [postId]);

    const jsm = await jetstreamManager(nc);
    const info = await eventually(
      () => jsm.consumers.info(streamNames(prefix).GRAPH, 'feed-materializer-graph'),
      (i) => i.num_pending === 0 && i.num_ack_pending === 0,
    );
    expect(info).toMatchObject({ num_pending: 0, num_ack_pending: 0, num_redelivered: 0 });
    for (const subject of Object.keys(ignored)) {
      const dead = await jsm.streams
        .getMessage(dlqStreamName(prefix), { last_by_subj: dlqSubject(prefix, subject) })
        .catch(() => null);
      expect(dead).toBeNull();
    }
  });
});
