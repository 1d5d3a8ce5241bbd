// Notifications through the gateway against real Postgres/Redis/NATS: every kind, grouping,
// withdrawal, read state, stable paging, blocks, own actions, mentions (captions, edits,
// comments, visibility), redelivery and live hints. Follows, posts and edits go through the
// real mutations; engagement events are published to their stream as the engagement
// subgraph's relay would (they are the contract), so this file needs no engagement service.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { liveSubject, type LiveMessage } from '../../../lib/contracts/live.js';
import { connectNats } from '../../../lib/platform/nats.js';
import {
  approve,
  block,
  createPost,
  follow,
  requestFollow,
  setPrivate,
  signUp,
  type Account,
} from '../../../test/support/content.js';
import { eventually, mintId, publishEvent } from '../../../test/support/events.js';
import { startStack, type Stack } from '../../../test/support/stack.js';

let stack: Stack;
let nc: NatsConnection;

beforeAll(async () => {
  stack = await startStack({
    subgraphs: ['user', 'post', 'graph', 'notification'],
    env: {
      RATE_LIMIT_AUTH_PER_MINUTE: '0',
      RATE_LIMIT_USER_PER_MINUTE: '0',
      RATE_LIMIT_IP_PER_MINUTE: '0',
      MEDIA_JANITOR_INTERVAL_SECONDS: '0',
      OUTBOX_POLL_MS: '200',
    },
  });
  nc = await connectNats(stack.cfg, 'notification-test');
}, 60_000);

afterAll(async () => {
  await nc?.close();
  await stack?.close();
});

interface Note {
  id: string;
  kind: string;
  actorCount: number;
  actors: { id: string }[];
  post: { id: string } | null;
  comment: { id: string } | null;
  latestActivityAt: string;
  isRead: boolean;
}

interface Page {
  notifications: {
    edges: { cursor: string; node: Note }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
  unreadNotificationCount: number;
}

const NODE = `id kind actorCount actors(first: 10) { id } post { id } comment { id } latestActivityAt isRead`;
const PAGE = `query($f: Int, $a: String) {
  notifications(first: $f, after: $a) { edges { cursor node { ${NODE} } } pageInfo { hasNextPage endCursor } }
  unreadNotificationCount
}`;
const MARK = `mutation($u: DateTime) { markNotificationsRead(upTo: $u) { notifications { ${NODE} } unreadNotificationCount } }`;

async function page(who: Account, first = 50, after?: string | null): Promise<Page> {
  const r = await stack.gql<Page>(PAGE, { f: first, a: after ?? null }, { token: who.token });
  if (r.errors || !r.data) throw new Error(`notifications failed: ${JSON.stringify(r.errors)}`);
  return r.data;
}

const notes = async (who: Account) => (await page(who)).notifications.edges.map((e) => e.node);

/** Waits until `who`'s notifications satisfy `done` (events are asynchronous), returns them. */
async function settle(who: Account, done: (n: Note[]) => boolean, timeoutMs = 10_000) {
  const got = await eventually(() => notes(who), done, timeoutMs);
  expect(done(got), JSON.stringify(got)).toBe(true);
  return got;
}

/** Lets a moment pass in which any wrong notification would have landed. */
const quiet = () => new Promise((r) => setTimeout(r, 1200));

const now = (offsetMs = 0) => new Date(Date.now() + offsetMs).toISOString();

async function like(postId: string, author: Account, liker: Account, at = now()) {
  await publishEvent(nc, stack.cfg.NATS_PREFIX, 'engagement.liked', {
    v: 1,
    postId,
    postAuthorId: author.id,
    userId: liker.id,
    createdAt: at,
  });
  return at;
}

async function unlike(postId: string, author: Account, liker: Account, at = now()) {
  await publishEvent(nc, stack.cfg.NATS_PREFIX, 'engagement.unliked', {
    v: 1,
    postId,
    postAuthorId: author.id,
    userId: liker.id,
    at,
  });
}

async function comment(
  postId: string,
  postAuthor: Account,
  author: Account,
  text: string,
  replyTo?: { id: string; author: Account },
) {
  const commentId = mintId().toString();
  await publishEvent(nc, stack.cfg.NATS_PREFIX, 'engagement.commented', {
    v: 1,
    commentId,
    postId,
    postAuthorId: postAuthor.id,
    authorId: author.id,
    replyToId: replyTo?.id ?? null,
    replyToAuthorId: replyTo?.author.id ?? null,
    text,
    createdAt: now(),
  });
  return commentId;
}

async function deleteComment(
  commentId: string,
  postId: string,
  postAuthor: Account,
  author: Account,
) {
  await publishEvent(nc, stack.cfg.NATS_PREFIX, 'engagement.comment_deleted', {
    v: 1,
    commentId,
    postId,
    postAuthorId: postAuthor.id,
    authorId: author.id,
    replyToId: null,
    deletedAt: now(),
  });
}

async function mutate(who: Account, query: string, variables: Record<string, unknown>) {
  const r = await stack.gql(query, variables, { token: who.token });
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data!;
}

const of = (list: Note[], kind: string) => list.filter((n) => n.kind === kind);

describe('follows', () => {
  it('FOLLOWED on a follow; an unfollow leaves it (Instagram never announces one); a follow again brings the same notification back to the top, unread', async () => {
    const [ada, bo] = [await signUp(stack, 'ada'), await signUp(stack, 'bo')];
    await follow(stack, bo, ada);
    const [first] = await settle(ada, (n) => n.length === 1);
    expect(first).toMatchObject({
      kind: 'FOLLOWED',
      actorCount: 1,
      actors: [{ id: bo.id }],
      post: null,
    });
    expect(first!.isRead).toBe(false);
    expect(await notes(bo)).toEqual([]); // nothing for the follower

    await mutate(ada, MARK, {});
    await mutate(bo, `mutation($id: ID!) { unfollow(userId: $id) { user { id } } }`, {
      id: ada.id,
    });
    await quiet();
    const kept = await notes(ada);
    expect(kept).toEqual([{ ...first, isRead: true }]);

    await follow(stack, bo, ada);
    const [again] = await settle(ada, (n) => n[0]?.latestActivityAt !== first!.latestActivityAt);
    expect(again!.id).toBe(first!.id);
    expect(again!.isRead).toBe(false);
    expect(again!.actorCount).toBe(1);
    expect((await notes(ada)).length).toBe(1);
  });

  it('FOLLOW_REQUESTED to a private account, withdrawn when the request is approved (FOLLOW_ACCEPTED to the requester), declined or withdrawn', async () => {
    const priv = await signUp(stack, 'priv');
    await setPrivate(stack, priv, true);
    const [r1, r2, r3] = [
      await signUp(stack, 'req'),
      await signUp(stack, 'req'),
      await signUp(stack, 'req'),
    ];
    for (const r of [r1, r2, r3]) expect(await requestFollow(stack, r, priv)).toBe('REQUESTED');
    const requested = await settle(priv, (n) => n.length === 3);
    expect(requested.every((n) => n.kind === 'FOLLOW_REQUESTED')).toBe(true);
    expect(requested.map((n) => n.actors[0]!.id).sort()).toEqual([r1.id, r2.id, r3.id].sort());

    await approve(stack, priv, r1);
    await mutate(priv, `mutation($id: ID!) { declineFollowRequest(userId: $id) { user { id } } }`, {
      id: r2.id,
    });
    await mutate(r3, `mutation($id: ID!) { unfollow(userId: $id) { user { id } } }`, {
      id: priv.id,
    });
    await settle(priv, (n) => n.length === 0);
    const accepted = await settle(r1, (n) => n.length === 1);
    expect(accepted[0]).toMatchObject({ kind: 'FOLLOW_ACCEPTED', actors: [{ id: priv.id }] });
    await quiet();
    expect(of(await notes(priv), 'FOLLOWED')).toEqual([]); // an approval is not a FOLLOWED
    expect(await notes(r2)).toEqual([]);
    expect(await notes(r3)).toEqual([]);
  });
});

describe('likes', () => {
  it('groups likes of one post into one notification with a stable id; an unlike withdraws that actor; a group with none left is not listed', async () => {
    const author = await signUp(stack, 'author');
    const fans = [
      await signUp(stack, 'fan'),
      await signUp(stack, 'fan'),
      await signUp(stack, 'fan'),
    ];
    const postId = await createPost(stack, author, 'a photo');
    for (const [i, fan] of fans.entries()) await like(postId, author, fan, now(i * 10));
    const [group] = await settle(author, (n) => n[0]?.actorCount === 3);
    expect(group).toMatchObject({ kind: 'LIKED', actorCount: 3, post: { id: postId } });
    expect(group!.actors.map((a) => a.id)).toEqual(fans.map((f) => f.id).reverse()); // most recent first
    expect((await notes(author)).length).toBe(1);

    await unlike(postId, author, fans[1]!);
    const [less] = await settle(author, (n) => n[0]?.actorCount === 2);
    expect(less!.id).toBe(group!.id);
    expect(less!.actors.map((a) => a.id)).toEqual([fans[2]!.id, fans[0]!.id]);

    await unlike(postId, author, fans[0]!);
    await unlike(postId, author, fans[2]!);
    await settle(author, (n) => n.length === 0);
    expect((await page(author)).unreadNotificationCount).toBe(0);

    await like(postId, author, fans[1]!);
    const [back] = await settle(author, (n) => n.length === 1);
    expect(back).toMatchObject({ id: group!.id, actorCount: 1, actors: [{ id: fans[1]!.id }] });
  });

  it('a redelivered or late event changes nothing; liking your own post notifies nobody', async () => {
    const author = await signUp(stack, 'author');
    const fan = await signUp(stack, 'fan');
    const postId = await createPost(stack, author);
    const at = await like(postId, author, fan);
    const [before] = await settle(author, (n) => n.length === 1);
    await mutate(author, MARK, {});
    // The same event again (as a redelivery would bring it), then an unlike from before the like.
    await like(postId, author, fan, at);
    await unlike(postId, author, fan, new Date(Date.parse(at) - 1000).toISOString());
    await like(postId, author, author);
    await quiet();
    const after = await notes(author);
    expect(after).toEqual([{ ...before, isRead: true }]);
    expect((await page(author)).unreadNotificationCount).toBe(0);
  });

  it('an unlike that overtakes its like wins: the late like adds nothing', async () => {
    const author = await signUp(stack, 'author');
    const fan = await signUp(stack, 'fan');
    const postId = await createPost(stack, author);
    const likedAt = now(-2000);
    await unlike(postId, author, fan, now());
    await like(postId, author, fan, likedAt);
    const other = await signUp(stack, 'fan');
    await like(postId, author, other); // a marker: once it shows, the earlier events are done
    const [group] = await settle(author, (n) => n.length === 1);
    expect(group).toMatchObject({ actorCount: 1, actors: [{ id: other.id }] });
  });
});

describe('comments and replies', () => {
  it('COMMENTED to the post author, REPLIED to the replied comment author, MENTIONED in a comment; a deleted comment withdraws all three', async () => {
    const [author, c1, c2, named] = [
      await signUp(stack, 'author'),
      await signUp(stack, 'cmt'),
      await signUp(stack, 'cmt'),
      await signUp(stack, 'named'),
    ];
    const postId = await createPost(stack, author);
    const top = await comment(postId, author, c1, 'nice!');
    const commented = await settle(author, (n) => n.length === 1);
    expect(commented[0]).toMatchObject({
      kind: 'COMMENTED',
      actors: [{ id: c1.id }],
      post: { id: postId },
      comment: { id: top },
    });

    const reply = await comment(
      postId,
      author,
      c2,
      `agreed @${named.username} and @${c1.username}`,
      {
        id: top,
        author: c1,
      },
    );
    const replied = await settle(c1, (n) => n.length === 1);
    expect(replied[0]).toMatchObject({
      kind: 'REPLIED',
      actors: [{ id: c2.id }],
      comment: { id: reply },
    });
    const mentioned = await settle(named, (n) => n.length === 1);
    expect(mentioned[0]).toMatchObject({
      kind: 'MENTIONED',
      actors: [{ id: c2.id }],
      comment: { id: reply },
    });
    await settle(author, (n) => n.length === 2);

    await deleteComment(reply, postId, author, c2);
    await settle(c1, (n) => n.length === 0);
    await settle(named, (n) => n.length === 0);
    const left = await settle(author, (n) => n.length === 1);
    expect(left[0]!.comment).toEqual({ id: top });
  });

  it('commenting on your own post or replying to yourself notifies nobody; a reply to the post author is one REPLIED', async () => {
    const [author, fan] = [await signUp(stack, 'author'), await signUp(stack, 'fan')];
    const postId = await createPost(stack, author);
    const own = await comment(postId, author, author, `mine @${author.username}`);
    await comment(postId, author, author, 'me again', { id: own, author });
    await comment(postId, author, fan, 'to you', { id: own, author });
    const got = await settle(author, (n) => n.length >= 1);
    await quiet();
    expect((await notes(author)).map((n) => n.kind)).toEqual(['REPLIED']);
    expect(got[0]!.actors).toEqual([{ id: fan.id }]);
  });
});

describe('mentions in captions', () => {
  const UPDATE = `mutation($i: UpdatePostInput!) { updatePost(input: $i) { id } }`;

  it('notifies users who may see the post, and on an edit only those newly mentioned', async () => {
    const [author, bo, cy, di] = [
      await signUp(stack, 'author'),
      await signUp(stack, 'bo'),
      await signUp(stack, 'cy'),
      await signUp(stack, 'di'),
    ];
    const postId = await createPost(
      stack,
      author,
      `with @${bo.username} and @nobody_${Date.now()}`,
    );
    const [bos] = await settle(bo, (n) => n.length === 1);
    expect(bos).toMatchObject({
      kind: 'MENTIONED',
      actors: [{ id: author.id }],
      post: { id: postId },
      comment: null,
    });

    await mutate(author, UPDATE, {
      i: { id: postId, caption: `with @${bo.username}, @${cy.username}!` },
    });
    await settle(cy, (n) => n.length === 1);
    expect(await notes(bo)).toEqual([bos]); // still mentioned: not notified again
    await mutate(author, UPDATE, {
      i: { id: postId, caption: `now @${cy.username} @${di.username} (edited)` },
    });
    await settle(di, (n) => n.length === 1);
    // bo was not mentioned anew: untouched by the first edit, withdrawn by the second.
    await settle(bo, (n) => n.length === 0);
    const [cys] = await notes(cy);
    expect((await notes(cy)).length).toBe(1);
    await quiet();
    expect(await notes(cy)).toEqual([cys]);
  });

  it('leaves out users who may not see the post (a private author they do not follow) and the author', async () => {
    const author = await signUp(stack, 'private');
    await setPrivate(stack, author, true);
    const [fan, stranger] = [await signUp(stack, 'fan'), await signUp(stack, 'stranger')];
    expect(await requestFollow(stack, fan, author)).toBe('REQUESTED');
    await approve(stack, author, fan);
    await createPost(stack, author, `@${stranger.username} @${fan.username} @${author.username}`);
    await settle(fan, (n) => of(n, 'MENTIONED').length === 1);
    await quiet();
    expect(await notes(stranger)).toEqual([]);
    expect(of(await notes(author), 'MENTIONED')).toEqual([]);
  });
});

describe('blocks and deleted posts', () => {
  it('a block withdraws what either has from the other, and nothing arrives across it', async () => {
    const [ada, bo] = [await signUp(stack, 'ada'), await signUp(stack, 'bo')];
    const other = await signUp(stack, 'other');
    const postId = await createPost(stack, ada);
    await follow(stack, bo, ada);
    await follow(stack, ada, bo);
    await like(postId, ada, bo);
    await like(postId, ada, other);
    await settle(ada, (n) => n.length === 2 && n.some((x) => x.actorCount === 2));
    await settle(bo, (n) => n.length === 1);

    await block(stack, ada, bo);
    const left = await settle(ada, (n) => n.length === 1 && n[0]!.actorCount === 1);
    expect(left[0]).toMatchObject({ kind: 'LIKED', actors: [{ id: other.id }] });
    await settle(bo, (n) => n.length === 0);

    await like(postId, ada, bo);
    await comment(postId, ada, bo, `hey @${ada.username}`);
    await quiet();
    expect((await notes(ada)).map((n) => n.actorCount)).toEqual([1]);
  });

  it('a deleted post withdraws everything about it', async () => {
    const [author, fan] = [await signUp(stack, 'author'), await signUp(stack, 'fan')];
    const postId = await createPost(stack, author);
    await like(postId, author, fan);
    await comment(postId, author, fan, 'wow');
    await settle(author, (n) => n.length === 2);
    await mutate(author, `mutation($id: ID!) { deletePost(id: $id) { deletedPostId } }`, {
      id: postId,
    });
    await settle(author, (n) => n.length === 0);
    await like(postId, author, await signUp(stack, 'late')); // a like that raced the delete
    await quiet();
    expect(await notes(author)).toEqual([]);
  });
});

describe('visibility at read time', () => {
  it('leaves out an actor who has blocked the viewer before any event says so, and the notification with none left; a post the viewer may no longer see is null', async () => {
    const [ada, bo, cy] = [
      await signUp(stack, 'ada'),
      await signUp(stack, 'bo'),
      await signUp(stack, 'cy'),
    ];
    const postId = await createPost(stack, ada);
    await like(postId, ada, bo);
    await like(postId, ada, cy);
    await follow(stack, bo, ada);
    await settle(ada, (n) => n.length === 2 && n.some((x) => x.actorCount === 2));
    // A block written straight into the graph's table: no event, so only the read-time rule acts.
    await stack.iso.query(`INSERT INTO graph.blocks (blocker_id, blocked_id) VALUES ($1, $2)`, [
      bo.id,
      ada.id,
    ]);
    const seen = await notes(ada);
    expect(seen).toMatchObject([{ kind: 'LIKED', actorCount: 1, actors: [{ id: cy.id }] }]);

    // A private author's mention: once the mentioned follower is removed, the post is hidden.
    const priv = await signUp(stack, 'priv');
    await setPrivate(stack, priv, true);
    expect(await requestFollow(stack, cy, priv)).toBe('REQUESTED');
    await approve(stack, priv, cy);
    const mentionPost = await createPost(stack, priv, `hi @${cy.username}`);
    await settle(cy, (n) => of(n, 'MENTIONED')[0]?.post?.id === mentionPost);
    await mutate(priv, `mutation($id: ID!) { removeFollower(userId: $id) { user { id } } }`, {
      id: cy.id,
    });
    const [hidden] = of(await notes(cy), 'MENTIONED');
    expect(hidden).toMatchObject({ actors: [{ id: priv.id }], post: null, comment: null });
  });
});

describe('read state, counts and paging', () => {
  it('counts unread; markNotificationsRead(upTo) marks those at or before it; new activity makes a group unread again', async () => {
    const author = await signUp(stack, 'author');
    const posts = [await createPost(stack, author), await createPost(stack, author)];
    const fans = [await signUp(stack, 'fan'), await signUp(stack, 'fan')];
    await like(posts[0]!, author, fans[0]!, now(-60_000));
    await like(posts[1]!, author, fans[0]!, now());
    const list = await settle(author, (n) => n.length === 2);
    expect((await page(author)).unreadNotificationCount).toBe(2);

    const older = list[1]!;
    const marked = await mutate(author, MARK, { u: older.latestActivityAt });
    expect(marked).toMatchObject({
      markNotificationsRead: {
        notifications: [{ id: older.id, isRead: true }],
        unreadNotificationCount: 1,
      },
    });
    expect((await notes(author)).map((n) => n.isRead)).toEqual([false, true]);
    const all = await mutate(author, MARK, {});
    expect(all).toMatchObject({
      markNotificationsRead: { notifications: [{ id: list[0]!.id }], unreadNotificationCount: 0 },
    });
    const again = await mutate(author, MARK, {});
    expect(again).toEqual({
      markNotificationsRead: { notifications: [], unreadNotificationCount: 0 },
    });

    await like(posts[0]!, author, fans[1]!);
    const moved = await settle(author, (n) => n[0]?.id === older.id && n[0].actorCount === 2);
    expect(moved[0]!.isRead).toBe(false);
    expect((await page(author)).unreadNotificationCount).toBe(1);
  });

  it('pages neither repeat nor skip while a group further down gets new activity', async () => {
    const author = await signUp(stack, 'author');
    const fan = await signUp(stack, 'fan');
    const posts: string[] = [];
    for (let i = 0; i < 6; i++) posts.push(await createPost(stack, author, `p${i}`));
    // Six groups, oldest first: post i liked i minutes ago... reversed.
    for (const [i, p] of posts.entries()) await like(p, author, fan, now((i - 10) * 60_000));
    const all = await settle(author, (n) => n.length === 6);
    expect(all.map((n) => n.post!.id)).toEqual([...posts].reverse());

    const first = await page(author, 2);
    const seen = first.notifications.edges.map((e) => e.node.id);
    // The oldest group (last on the last page) gets a new like: it moves to the head.
    await like(posts[0]!, author, await signUp(stack, 'late'));
    await settle(author, (n) => n[0]?.post?.id === posts[0]);
    let after = first.notifications.pageInfo.endCursor;
    for (;;) {
      const next = await page(author, 2, after);
      seen.push(...next.notifications.edges.map((e) => e.node.id));
      if (!next.notifications.pageInfo.hasNextPage) break;
      after = next.notifications.pageInfo.endCursor;
    }
    expect(new Set(seen).size).toBe(seen.length); // nothing twice
    // Everything but the moved group was paged through; the moved one is at the head.
    const head = (await notes(author))[0]!;
    expect(new Set([...seen, head.id])).toEqual(new Set(all.map((n) => n.id)));
  });
});

describe('live hints', () => {
  it('a new notification publishes the recipient’s unread count on their live subject', async () => {
    const [ada, bo] = [await signUp(stack, 'ada'), await signUp(stack, 'bo')];
    const sub = nc.subscribe(liveSubject(stack.cfg.NATS_PREFIX, ada.id), {
      max: 1,
      timeout: 10_000,
    });
    await follow(stack, bo, ada);
    for await (const m of sub) {
      const msg = m.json<LiveMessage>();
      expect(msg).toMatchObject({ type: 'notification', kind: 'FOLLOWED', unreadCount: 1 });
      // The notification's own id; the stream id travels beside it for the SSE id: line.
      expect(msg.type === 'notification' ? msg.id : null).toMatch(/^\d+$/);
      expect(msg.eventId).toMatch(/^\d+-\d+$/);
      break;
    }
  });
});
