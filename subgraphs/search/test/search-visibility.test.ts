// Search and the visibility rule (graph.visibility) through the gateway: posts of a private
// account reach only itself and its approved followers, blocks hide content both ways and
// hide the blocker from the blocked user's people search. Hidden results are left out and
// pages stay full, with cursors that continue where the page ended.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approve, block, follow, setPrivate, type Account } from '../../../test/support/content.js';
import { httpDuration } from '../../../lib/platform/metrics.js';
import { eventually } from '../../../test/support/events.js';
import { startSearchStack, type SearchStack } from './search-stack.js';

let s: SearchStack;
let owner: Account; // private
let fan: Account; // approved follower of owner
let stranger: Account;
let pub: Account; // public
let blocker: Account;
let blocked: Account;
const privatePosts: string[] = [];
const publicPosts: string[] = [];
let blockerPost: string;
let blockedPost: string;
let wallPublic: string;

/** graph.visibility calls answered so far (the whole stack runs in this process). */
async function visibilityCalls(): Promise<number> {
  const { values } = await httpDuration.get();
  return values
    .filter(
      (v) =>
        v.metricName === 'mosaic_http_request_duration_seconds_count' &&
        v.labels.route === '/internal/v1/visibility',
    )
    .reduce((n, v) => n + v.value, 0);
}

const POSTS = `query($q: String!, $first: Int, $after: String) {
  searchPosts(query: $q, first: $first, after: $after) {
    edges { cursor node { id } }
    pageInfo { hasNextPage endCursor }
  }
  hashtag(name: $q) { posts(first: $first, after: $after) {
    edges { cursor node { id } }
    pageInfo { hasNextPage endCursor }
  } }
}`;

interface Page {
  edges: { cursor: string; node: { id: string } }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** Every id of searchPosts and of Hashtag.posts for a tag, page by page, as `token`'s user. */
async function allPages(tag: string, first: number, token?: string) {
  const out = { search: [] as string[][], hashtag: [] as string[][] };
  for (const field of ['search', 'hashtag'] as const) {
    let after: string | undefined;
    for (let i = 0; i < 20; i++) {
      const r = await s.gql<{ searchPosts: Page; hashtag: { posts: Page } | null }>(
        POSTS,
        { q: tag, first, after },
        { token },
      );
      expect(r.errors).toBeUndefined();
      const page = field === 'search' ? r.data!.searchPosts : r.data!.hashtag!.posts;
      out[field].push(page.edges.map((e) => e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor!;
    }
  }
  return out;
}

beforeAll(async () => {
  s = await startSearchStack();
  owner = await s.account('owner', 'Olive Owner');
  fan = await s.account('fan');
  stranger = await s.account('stranger');
  pub = await s.account('pub');
  blocker = await s.account('blocker', 'Bea Blocker');
  blocked = await s.account('blocked', 'Bo Blocked');
  await setPrivate(s, owner, true);
  await follow(s, fan, owner); // a request: owner is private
  await approve(s, owner, fan);
  // Alternating authors, newest last: a page of public posts has private ones between them.
  for (let i = 0; i < 4; i++) {
    privatePosts.unshift(await s.post(owner, `secret garden ${i} #mixed`));
    publicPosts.unshift(await s.post(pub, `open garden ${i} #mixed`));
  }
  // One public post under 13 newer private ones: more than three rounds of a page of 1 hide.
  wallPublic = await s.post(pub, 'the only open one #wall');
  for (let i = 0; i < 13; i++) await s.post(owner, `behind the wall ${i} #wall`);
  blockerPost = await s.post(blocker, 'blocker words #feud');
  blockedPost = await s.post(blocked, 'blocked words #feud');
  await s.settle();
  await block(s, blocker, blocked);
}, 90_000);
afterAll(async () => {
  await s?.close();
});

describe('posts of a private account', () => {
  it('reach its owner and approved followers only, in searchPosts and Hashtag.posts', async () => {
    // Post ids are time-sortable: newest first is the highest id first.
    const everything = [...privatePosts, ...publicPosts].sort((a, b) =>
      BigInt(b) > BigInt(a) ? 1 : -1,
    );
    for (const [who, token, expected] of [
      ['owner', owner.token, everything],
      ['follower', fan.token, everything],
      ['stranger', stranger.token, publicPosts],
      ['signed out', undefined, publicPosts],
    ] as const) {
      const pages = await allPages('#mixed', 20, token);
      expect(pages.search.flat(), who).toEqual(expected);
      expect(pages.hashtag.flat(), who).toEqual(expected);
    }
    const secret = async (token?: string) =>
      (
        await s.gql<{ searchPosts: Page }>(
          `{ searchPosts(query: "secret garden") { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`,
          {},
          { token },
        )
      ).data!.searchPosts.edges.map((e) => e.node.id);
    expect((await secret(owner.token)).sort()).toEqual([...privatePosts].sort());
    expect((await secret(fan.token)).sort()).toEqual([...privatePosts].sort());
    expect(await secret(stranger.token)).toEqual([]);
    expect(await secret()).toEqual([]);
  });

  it('leave pages full and cursors continuous when they are left out', async () => {
    // Pages of 2 over 8 posts, half hidden: 2 + 2 public posts, no empty or short page.
    for (const token of [stranger.token, undefined]) {
      const pages = await allPages('#mixed', 2, token);
      expect(pages.search).toEqual([publicPosts.slice(0, 2), publicPosts.slice(2, 4)]);
      expect(pages.hashtag).toEqual([publicPosts.slice(0, 2), publicPosts.slice(2, 4)]);
    }
    // The follower pages through all 8 without gaps or repeats.
    const all = await allPages('#mixed', 3, fan.token);
    expect(all.search.flat()).toHaveLength(8);
    expect(new Set(all.search.flat()).size).toBe(8);
  });

  it('cost one visibility call per batch read, at most three per page', async () => {
    const page = (after?: string) =>
      s.gql<{ searchPosts: Page }>(
        `query($a: String) { searchPosts(query: "#wall", first: 1, after: $a) {
          edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`,
        { a: after },
        { token: stranger.token },
      );
    let calls = await visibilityCalls();
    const mixed = await s.gql(POSTS, { q: '#mixed', first: 2 }, { token: stranger.token });
    expect(mixed.errors).toBeUndefined();
    // searchPosts and Hashtag.posts: one call each, the first batch was enough.
    expect((await visibilityCalls()) - calls).toBe(2);

    calls = await visibilityCalls();
    const first = await page();
    expect((await visibilityCalls()) - calls).toBe(3);
    // 12 hidden posts read in three rounds: a short page that says where it stopped.
    expect(first.data!.searchPosts.edges).toEqual([]);
    expect(first.data!.searchPosts.pageInfo.hasNextPage).toBe(true);
    const second = await page(first.data!.searchPosts.pageInfo.endCursor!);
    expect(second.data!.searchPosts.edges.map((e) => e.node.id)).toEqual([wallPublic]);
    expect(second.data!.searchPosts.pageInfo.hasNextPage).toBe(false);
    // The follower sees the newest of the 14 on the first page, with one call.
    calls = await visibilityCalls();
    const fans = await s.gql<{ searchPosts: Page }>(
      `{ searchPosts(query: "#wall", first: 1) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`,
      {},
      { token: fan.token },
    );
    expect(fans.data!.searchPosts.edges).toHaveLength(1);
    expect(fans.data!.searchPosts.pageInfo.hasNextPage).toBe(true);
    expect((await visibilityCalls()) - calls).toBe(1);
  });

  it('are found again by a stranger who is approved, and hidden when the account stays private', async () => {
    await follow(s, stranger, owner);
    expect((await allPages('#mixed', 20, stranger.token)).search.flat()).toHaveLength(4);
    await approve(s, owner, stranger);
    expect((await allPages('#mixed', 20, stranger.token)).search.flat()).toHaveLength(8);
  });
});

describe('blocks', () => {
  it('hide content both ways', async () => {
    const feud = async (token?: string) => (await allPages('#feud', 20, token)).search.flat();
    expect(await feud(blocked.token)).toEqual([blockedPost]);
    expect(await feud(blocker.token)).toEqual([blockerPost]);
    expect(await feud(stranger.token)).toEqual([blockedPost, blockerPost]);
  });

  it('leave the blocker out of the blocked user’s people search only', async () => {
    // Profiles are indexed from events: wait until both are searchable.
    await eventually(
      () => s.searchUsers('b'),
      (r) => r.ids.includes(blocker.id) && r.ids.includes(blocked.id),
    );
    // `blocked` is a close spelling of `blocker`, so each finds the other as a typo match.
    expect((await s.searchUsers('blocker', { token: blocked.token })).ids).toEqual([blocked.id]);
    expect((await s.searchUsers('bea', { token: blocked.token })).ids).toEqual([]);
    // The blocker still finds the blocked user (to unblock them); others find both.
    expect((await s.searchUsers('blocked', { token: blocker.token })).ids).toEqual([
      blocked.id,
      blocker.id,
    ]);
    for (const token of [stranger.token, undefined]) {
      expect((await s.searchUsers('blocker', { token })).ids).toEqual([blocker.id, blocked.id]);
      expect((await s.searchUsers('bea', { token })).ids).toEqual([blocker.id]);
    }
    // Private accounts are found like any other.
    expect((await s.searchUsers('olive', { token: stranger.token })).ids).toEqual([owner.id]);
  });
});
