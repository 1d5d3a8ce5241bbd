// Likes and comments through the gateway against real Postgres/NATS: idempotence and exact
// counts under concurrent storms, comment and reply paging both ways, fresh payloads, the
// visibility rule, who may delete, a deleted post's likes and comments, and the events.
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEvent, streamNames, unprefixSubject } from '../../../lib/contracts/events.js';
import { connectNats } from '../../../lib/platform/nats.js';
import {
  approve,
  block,
  createPost,
  requestFollow,
  setPrivate,
  signUp,
  type Account,
} from '../../../test/support/content.js';
import { eventually } from '../../../test/support/events.js';
import { startStack, type Stack } from '../../../test/support/stack.js';
import { createPool } from '../../../lib/platform/db.js';
import { httpDuration } from '../../../lib/platform/metrics.js';
import type { AppContext } from '../src/context.js';
import { createLoaders } from '../src/loaders.js';
import { purgePost } from '../src/store.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    subgraphs: ['user', 'post', 'graph', 'engagement'],
    env: {
      RATE_LIMIT_AUTH_PER_MINUTE: '0',
      RATE_LIMIT_USER_PER_MINUTE: '0',
      RATE_LIMIT_IP_PER_MINUTE: '0',
    },
  });
});
afterAll(async () => {
  await stack?.close();
});

const people = (n: number) => Promise.all(Array.from({ length: n }, () => signUp(stack, 'e')));

const LIKE = `mutation($id: ID!) { likePost(postId: $id) { post { id likeCount viewerHasLiked } } }`;
const UNLIKE = `mutation($id: ID!) { unlikePost(postId: $id) { post { id likeCount viewerHasLiked } } }`;
const POST = `query($id: ID!) { post(id: $id) { id likeCount viewerHasLiked commentCount } }`;
const ADD = `mutation($input: AddCommentInput!) { addComment(input: $input) {
  comment { id text replyCount viewerCanDelete author { id } replyTo { id } post { id } }
  commentEdge { cursor node { id } }
  post { id commentCount }
  parent { id replyCount } } }`;
const DELETE = `mutation($id: ID!) { deleteComment(id: $id) { deletedCommentId post { id commentCount } parent { id replyCount } } }`;
const COMMENT = `query($id: ID!) { comment(id: $id) { id text author { id } post { id } } }`;

interface LikeData {
  post: { id: string; likeCount: number; viewerHasLiked: boolean };
}

async function like(a: Account, postId: string, mutation = LIKE) {
  const r = await stack.gql<Record<string, LikeData>>(mutation, { id: postId }, { token: a.token });
  return r;
}

async function addComment(a: Account, postId: string, text: string, replyToId?: string) {
  const r = await stack.gql<{
    addComment: {
      comment: { id: string; text: string; replyCount: number; viewerCanDelete: boolean };
      commentEdge: { cursor: string; node: { id: string } };
      post: { id: string; commentCount: number };
      parent: { id: string; replyCount: number } | null;
    };
  }>(ADD, { input: { postId, text, ...(replyToId ? { replyToId } : {}) } }, { token: a.token });
  return r;
}

async function mustComment(a: Account, postId: string, text: string, replyToId?: string) {
  const r = await addComment(a, postId, text, replyToId);
  if (!r.data) throw new Error(`addComment failed: ${JSON.stringify(r.errors)}`);
  return r.data.addComment;
}

async function rows(sql: string, params: unknown[] = []): Promise<number> {
  const r = await stack.iso.query<{ n: string }>(sql, params);
  return Number(r[0]!.n);
}

const code = (r: { errors?: { extensions?: { code?: string } }[] }) =>
  r.errors?.[0]?.extensions?.code;

describe('likes', () => {
  it('likePost and unlikePost are idempotent, with fresh counts and one event per change', async () => {
    const [author, fan] = await people(2);
    const postId = await createPost(stack, author!);
    const first = await like(fan!, postId);
    expect(first.data!.likePost!.post).toEqual({ id: postId, likeCount: 1, viewerHasLiked: true });
    const again = await like(fan!, postId);
    expect(again.data!.likePost!.post.likeCount).toBe(1);
    const q = await stack.gql<{ post: { likeCount: number; viewerHasLiked: boolean } }>(
      POST,
      { id: postId },
      { token: author!.token },
    );
    expect(q.data!.post).toMatchObject({ likeCount: 1, viewerHasLiked: false });
    const un = await like(fan!, postId, UNLIKE);
    expect(un.data!.unlikePost!.post).toEqual({ id: postId, likeCount: 0, viewerHasLiked: false });
    const unAgain = await like(fan!, postId, UNLIKE);
    expect(unAgain.data!.unlikePost!.post.likeCount).toBe(0);
    const events = await stack.iso.query<{ subject: string; payload: Record<string, unknown> }>(
      `SELECT subject, payload FROM engagement.outbox WHERE payload->>'postId' = $1 ORDER BY id`,
      [postId],
    );
    expect(events.map((e) => e.subject)).toEqual(['engagement.liked', 'engagement.unliked']);
    expect(events[0]!.payload).toMatchObject({ postAuthorId: author!.id, userId: fan!.id });
  });

  it('keeps the count exact under a concurrent storm of likes and unlikes on one post', async () => {
    const [author] = await people(1);
    const fans = await people(24);
    const postId = await createPost(stack, author!);
    // Every fan likes three times at once; then half unlike (twice each) while the rest like again.
    await Promise.all(fans.flatMap((f) => [like(f, postId), like(f, postId), like(f, postId)]));
    await Promise.all(
      fans.flatMap((f, i) =>
        i % 2 === 0
          ? [like(f, postId, UNLIKE), like(f, postId, UNLIKE)]
          : [like(f, postId), like(f, postId)],
      ),
    );
    const stored = await rows(
      `SELECT count(*)::text AS n FROM engagement.likes WHERE post_id = $1`,
      [postId],
    );
    expect(stored).toBe(12);
    const q = await stack.gql<{ post: { likeCount: number } }>(POST, { id: postId });
    expect(q.data!.post.likeCount).toBe(stored);
    // Spread over shards, not one row.
    const shards = await rows(
      `SELECT count(*)::text AS n FROM engagement.post_counters WHERE post_id = $1`,
      [postId],
    );
    expect(shards).toBeGreaterThan(1);
    const events = await stack.iso.query<{ subject: string; n: string }>(
      `SELECT subject, count(*)::text AS n FROM engagement.outbox WHERE payload->>'postId' = $1 GROUP BY subject`,
      [postId],
    );
    const by = Object.fromEntries(events.map((e) => [e.subject, Number(e.n)]));
    expect(by['engagement.liked']! - by['engagement.unliked']!).toBe(12);
  });

  it('likedBy lists likers newest first, pages, and leaves out users hidden from the viewer', async () => {
    const [author, viewer, a, b, c] = await people(5);
    const postId = await createPost(stack, author!);
    for (const f of [a!, b!, c!]) expect((await like(f, postId)).errors).toBeUndefined();
    const LIKED_BY = `query($id: ID!, $first: Int, $after: String) { post(id: $id) { likedBy(first: $first, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } } }`;
    type Page = {
      post: {
        likedBy: {
          edges: { cursor: string; node: { id: string } }[];
          pageInfo: { hasNextPage: boolean; endCursor: string };
        };
      };
    };
    const p1 = await stack.gql<Page>(LIKED_BY, { id: postId, first: 2 }, { token: viewer!.token });
    expect(p1.data!.post.likedBy.edges.map((e) => e.node.id)).toEqual([c!.id, b!.id]);
    expect(p1.data!.post.likedBy.pageInfo.hasNextPage).toBe(true);
    const p2 = await stack.gql<Page>(
      LIKED_BY,
      { id: postId, first: 2, after: p1.data!.post.likedBy.pageInfo.endCursor },
      { token: viewer!.token },
    );
    expect(p2.data!.post.likedBy.edges.map((e) => e.node.id)).toEqual([a!.id]);
    expect(p2.data!.post.likedBy.pageInfo.hasNextPage).toBe(false);
    // b blocks the viewer: b no longer exists for them; the count still counts b.
    await block(stack, b!, viewer!);
    const p3 = await stack.gql<Page>(LIKED_BY, { id: postId, first: 10 }, { token: viewer!.token });
    expect(p3.data!.post.likedBy.edges.map((e) => e.node.id)).toEqual([c!.id, a!.id]);
  });
});

describe('visibility', () => {
  it("a private account's likes and comments on a public post are public; a block hides them", async () => {
    const [author, priv, stranger] = await people(3);
    const postId = await createPost(stack, author!);
    await setPrivate(stack, priv!, true);
    expect((await like(priv!, postId)).errors).toBeUndefined();
    const c = await addComment(priv!, postId, 'from a private account');
    expect(c.errors).toBeUndefined();
    const Q = `query($id: ID!) { post(id: $id) { likedBy { nodes { id } } comments { nodes { id } } } }`;
    type R = {
      post: { likedBy: { nodes: { id: string }[] }; comments: { nodes: { id: string }[] } };
    };
    const seen = await stack.gql<R>(Q, { id: postId }, { token: stranger!.token });
    expect(seen.data!.post.likedBy.nodes.map((n) => n.id)).toEqual([priv!.id]);
    expect(seen.data!.post.comments.nodes).toHaveLength(1);
    await block(stack, stranger!, priv!);
    const after = await stack.gql<R>(Q, { id: postId }, { token: stranger!.token });
    expect(after.data!.post.likedBy.nodes).toEqual([]);
    expect(after.data!.post.comments.nodes).toEqual([]);
  });

  it('a private post: a stranger gets NOT_FOUND and null, an approved follower may like and comment', async () => {
    const [owner, stranger, follower] = await people(3);
    await setPrivate(stack, owner!, true);
    const postId = await createPost(stack, owner!);
    const own = await mustComment(owner!, postId, 'mine');

    expect(code(await like(stranger!, postId))).toBe('NOT_FOUND');
    expect(code(await like(stranger!, postId, UNLIKE))).toBe('NOT_FOUND');
    expect(code(await addComment(stranger!, postId, 'hi'))).toBe('NOT_FOUND');
    const c = await stack.gql<{ comment: unknown }>(
      COMMENT,
      { id: own.comment.id },
      {
        token: stranger!.token,
      },
    );
    expect(c.data!.comment).toBeNull();
    expect(code(await stack.gql(DELETE, { id: own.comment.id }, { token: stranger!.token }))).toBe(
      'NOT_FOUND',
    );

    expect(await requestFollow(stack, follower!, owner!)).toBe('REQUESTED');
    await approve(stack, owner!, follower!);
    expect((await like(follower!, postId)).data!.likePost!.post.likeCount).toBe(1);
    await mustComment(follower!, postId, 'nice');
    const seen = await stack.gql<{ comment: { id: string } | null }>(
      COMMENT,
      { id: own.comment.id },
      {
        token: follower!.token,
      },
    );
    expect(seen.data!.comment?.id).toBe(own.comment.id);
    expect(
      await rows(`SELECT count(*)::text AS n FROM engagement.likes WHERE post_id = $1`, [postId]),
    ).toBe(1);
  });

  it('a block hides the post both ways, and comments by a blocked user are left out', async () => {
    const [author, blocked, reader] = await people(3);
    const postId = await createPost(stack, author!);
    const byBlocked = await mustComment(blocked!, postId, 'from the soon-blocked');
    const byReader = await mustComment(reader!, postId, 'from a reader');
    await block(stack, author!, blocked!);
    expect(code(await like(blocked!, postId))).toBe('NOT_FOUND');
    expect(code(await addComment(blocked!, postId, 'again'))).toBe('NOT_FOUND');

    await block(stack, reader!, blocked!);
    const COMMENTS = `query($id: ID!) { post(id: $id) { commentCount comments { nodes { id } } } }`;
    const r = await stack.gql<{
      post: { commentCount: number; comments: { nodes: { id: string }[] } };
    }>(COMMENTS, { id: postId }, { token: reader!.token });
    expect(r.data!.post.comments.nodes.map((n) => n.id)).toEqual([byReader.comment.id]);
    expect(r.data!.post.commentCount).toBe(2);
    const direct = await stack.gql<{ comment: unknown }>(
      COMMENT,
      { id: byBlocked.comment.id },
      {
        token: reader!.token,
      },
    );
    expect(direct.data!.comment).toBeNull();
    // Replying to a comment hidden from the viewer is refused like a missing one.
    const reply = await addComment(reader!, postId, 'reply', byBlocked.comment.id);
    expect(code(reply)).toBe('BAD_USER_INPUT');
    expect(reply.errors![0]!.extensions!.field).toBe('replyToId');
  });
});

describe('comments', () => {
  type Conn = {
    edges: { cursor: string; node: { id: string } }[];
    pageInfo: {
      hasNextPage: boolean;
      hasPreviousPage: boolean;
      startCursor: string | null;
      endCursor: string | null;
    };
  };
  const PAGE = `query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    post(id: $id) { comments(first: $first, after: $after, last: $last, before: $before) {
      edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }`;
  const page = async (postId: string, args: Record<string, unknown>) => {
    const r = await stack.gql<{ post: { comments: Conn } }>(PAGE, { id: postId, ...args });
    if (!r.data) throw new Error(JSON.stringify(r.errors));
    return r.data.post.comments;
  };
  const ids = (c: Conn) => c.edges.map((e) => e.node.id);

  it('pages top-level comments oldest first with first/after and newest with last/before', async () => {
    const [author, c1] = await people(2);
    const postId = await createPost(stack, author!);
    const made: string[] = [];
    for (let i = 0; i < 5; i++)
      made.push((await mustComment(c1!, postId, `comment ${i}`)).comment.id);
    await mustComment(author!, postId, 'a reply', made[0]); // not a top-level comment

    const all = await page(postId, {});
    expect(ids(all)).toEqual(made);
    const f1 = await page(postId, { first: 2 });
    expect(ids(f1)).toEqual(made.slice(0, 2));
    expect(f1.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const f2 = await page(postId, { first: 2, after: f1.pageInfo.endCursor });
    expect(ids(f2)).toEqual(made.slice(2, 4));
    const f3 = await page(postId, { first: 2, after: f2.pageInfo.endCursor });
    expect(ids(f3)).toEqual(made.slice(4));
    expect(f3.pageInfo.hasNextPage).toBe(false);

    const l1 = await page(postId, { last: 2 });
    expect(ids(l1)).toEqual(made.slice(3));
    expect(l1.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: false });
    const l2 = await page(postId, { last: 2, before: l1.pageInfo.startCursor });
    expect(ids(l2)).toEqual(made.slice(1, 3));
    const l3 = await page(postId, { last: 2, before: l2.pageInfo.startCursor });
    expect(ids(l3)).toEqual(made.slice(0, 1));
    expect(l3.pageInfo.hasPreviousPage).toBe(false);

    const mixed = await stack.gql(PAGE, { id: postId, first: 2, last: 2 });
    expect(code(mixed)).toBe('BAD_USER_INPUT');
  });

  it('replies: one level, same post, paged both ways, with fresh counts in the payloads', async () => {
    const [author, a, b] = await people(3);
    const postId = await createPost(stack, author!);
    const otherPost = await createPost(stack, author!);
    const top = await mustComment(a!, postId, '  top  ');
    expect(top.comment.text).toBe('top');
    expect(top.post.commentCount).toBe(1);
    expect(top.parent).toBeNull();
    expect(top.commentEdge.node.id).toBe(top.comment.id);

    const replies: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await mustComment(b!, postId, `reply ${i}`, top.comment.id);
      expect(r.parent).toEqual({ id: top.comment.id, replyCount: i + 1 });
      expect(r.post.commentCount).toBe(i + 2);
      replies.push(r.comment.id);
    }
    const deeper = await addComment(a!, postId, 'reply to reply', replies[0]);
    expect(code(deeper)).toBe('BAD_USER_INPUT');
    expect(deeper.errors![0]!.extensions!.field).toBe('replyToId');
    const elsewhere = await addComment(a!, otherPost, 'wrong post', top.comment.id);
    expect(elsewhere.errors![0]!.extensions!.field).toBe('replyToId');

    const REPLIES = `query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
      comment(id: $id) { replyCount replies(first: $first, after: $after, last: $last, before: $before) {
        edges { cursor node { id replyTo { id } } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }`;
    type R = { comment: { replyCount: number; replies: Conn } };
    const r1 = await stack.gql<R>(REPLIES, { id: top.comment.id, first: 2 });
    expect(r1.data!.comment.replyCount).toBe(3);
    expect(ids(r1.data!.comment.replies)).toEqual(replies.slice(0, 2));
    const r2 = await stack.gql<R>(REPLIES, {
      id: top.comment.id,
      first: 2,
      after: r1.data!.comment.replies.pageInfo.endCursor,
    });
    expect(ids(r2.data!.comment.replies)).toEqual(replies.slice(2));
    const rl = await stack.gql<R>(REPLIES, { id: top.comment.id, last: 1 });
    expect(ids(rl.data!.comment.replies)).toEqual(replies.slice(2));

    // Deleting a reply: fresh parent replyCount and post commentCount.
    const del = await stack.gql<{
      deleteComment: {
        deletedCommentId: string;
        post: { commentCount: number };
        parent: { id: string; replyCount: number };
      };
    }>(DELETE, { id: replies[1] }, { token: b!.token });
    expect(del.data!.deleteComment).toEqual({
      deletedCommentId: replies[1],
      post: { id: postId, commentCount: 3 },
      parent: { id: top.comment.id, replyCount: 2 },
    });
  });

  it('a comment deleted while replies arrive leaves no orphan, and commentCount stays exact', async () => {
    const [author, ...repliers] = await people(9);
    const postId = await createPost(stack, author!);
    const keep = await mustComment(author!, postId, 'stays');
    const doomed = await mustComment(author!, postId, 'goes');
    const replies = repliers.flatMap((r) =>
      [0, 1, 2].map((i) => addComment(r, postId, `reply ${i}`, doomed.comment.id)),
    );
    const [del] = await Promise.all([
      new Promise((r) => setTimeout(r, 20)).then(() =>
        stack.gql(DELETE, { id: doomed.comment.id }, { token: author!.token }),
      ),
      ...replies,
    ]);
    expect(del.errors).toBeUndefined();
    const settled = await Promise.all(replies);
    // Each reply either landed before the delete (and went with it) or was refused.
    for (const r of settled) {
      if (r.errors) expect(r.errors[0]!.extensions!.field).toBe('replyToId');
    }
    expect(
      await rows(
        `SELECT count(*)::text AS n FROM engagement.comments WHERE reply_to_id = $1 OR id = $1`,
        [doomed.comment.id],
      ),
    ).toBe(0);
    const stored = await rows(
      `SELECT count(*)::text AS n FROM engagement.comments WHERE post_id = $1`,
      [postId],
    );
    expect(stored).toBe(1);
    const q = await stack.gql<{ post: { commentCount: number } }>(POST, { id: postId });
    expect(q.data!.post.commentCount).toBe(stored);
    expect(keep.comment.id).toBeTruthy();
  });

  it('refuses empty, too long and control-character text, writing nothing', async () => {
    const [author] = await people(1);
    const postId = await createPost(stack, author!);
    for (const text of ['   ', 'x'.repeat(2201), 'bell\u0007']) {
      const r = await addComment(author!, postId, text);
      expect(code(r)).toBe('BAD_USER_INPUT');
      expect(r.errors![0]!.extensions!.field).toBe('text');
    }
    expect((await mustComment(author!, postId, 'é'.repeat(2200) + '\n')).comment.text).toHaveLength(
      2200,
    );
    expect(
      await rows(`SELECT count(*)::text AS n FROM engagement.comments WHERE post_id = $1`, [
        postId,
      ]),
    ).toBe(1);
  });

  it('deleteComment: the author or the post author; FORBIDDEN otherwise; replies go with it', async () => {
    const [author, commenter, other] = await people(3);
    const postId = await createPost(stack, author!);
    const c1 = await mustComment(commenter!, postId, 'one');
    const r1 = await mustComment(other!, postId, 'reply a', c1.comment.id);
    const r2 = await mustComment(author!, postId, 'reply b', c1.comment.id);
    const c2 = await mustComment(commenter!, postId, 'two');

    const forbidden = await stack.gql(DELETE, { id: c1.comment.id }, { token: other!.token });
    expect(code(forbidden)).toBe('FORBIDDEN');
    const VCD = `query($id: ID!) { comment(id: $id) { viewerCanDelete } }`;
    const asOther = await stack.gql<{ comment: { viewerCanDelete: boolean } }>(
      VCD,
      { id: c1.comment.id },
      { token: other!.token },
    );
    expect(asOther.data!.comment.viewerCanDelete).toBe(false);

    // The post's author deletes someone else's comment: its replies go too.
    const del = await stack.gql<{
      deleteComment: { post: { commentCount: number }; parent: null };
    }>(DELETE, { id: c1.comment.id }, { token: author!.token });
    expect(del.data!.deleteComment).toMatchObject({ post: { commentCount: 1 }, parent: null });
    for (const id of [c1.comment.id, r1.comment.id, r2.comment.id]) {
      const q = await stack.gql<{ comment: unknown }>(COMMENT, { id }, { token: author!.token });
      expect(q.data!.comment).toBeNull();
    }
    const events = await stack.iso.query<{ payload: { commentId: string } }>(
      `SELECT payload FROM engagement.outbox WHERE subject = 'engagement.comment_deleted' AND payload->>'postId' = $1`,
      [postId],
    );
    expect(events.map((e) => e.payload.commentId).sort()).toEqual(
      [c1.comment.id, r1.comment.id, r2.comment.id].sort(),
    );
    // Its author deletes their own; a second delete finds nothing.
    expect(
      (await stack.gql(DELETE, { id: c2.comment.id }, { token: commenter!.token })).errors,
    ).toBeUndefined();
    expect(code(await stack.gql(DELETE, { id: c2.comment.id }, { token: commenter!.token }))).toBe(
      'NOT_FOUND',
    );
  });
});

describe('a deleted post', () => {
  it('loses its likes and comments from every read at once and from storage afterwards', async () => {
    const [author, fan] = await people(2);
    const postId = await createPost(stack, author!);
    await like(fan!, postId);
    const top = await mustComment(fan!, postId, 'soon gone');
    const reply = await mustComment(author!, postId, 'reply', top.comment.id);
    const del = await stack.gql(
      `mutation($id: ID!) { deletePost(id: $id) { deletedPostId } }`,
      {
        id: postId,
      },
      { token: author!.token },
    );
    expect(del.errors).toBeUndefined();

    const c = await stack.gql<{ comment: unknown }>(
      COMMENT,
      { id: top.comment.id },
      {
        token: fan!.token,
      },
    );
    expect(c.data!.comment).toBeNull();
    expect(code(await like(fan!, postId))).toBe('NOT_FOUND');
    expect(code(await addComment(fan!, postId, 'late'))).toBe('NOT_FOUND');

    const left = await eventually(
      () =>
        rows(
          `SELECT ((SELECT count(*) FROM engagement.likes WHERE post_id = $1)
             + (SELECT count(*) FROM engagement.comments WHERE post_id = $1)
             + (SELECT count(*) FROM engagement.post_counters WHERE post_id = $1))::text AS n`,
          [postId],
        ),
      (n) => n === 0,
      15_000,
    );
    expect(left).toBe(0);
    expect(
      await rows(`SELECT count(*)::text AS n FROM engagement.deleted_posts WHERE post_id = $1`, [
        postId,
      ]),
    ).toBe(1);
    const events = await stack.iso.query<{ payload: { commentId: string } }>(
      `SELECT payload FROM engagement.outbox WHERE subject = 'engagement.comment_deleted' AND payload->>'postId' = $1`,
      [postId],
    );
    expect(events.map((e) => e.payload.commentId).sort()).toEqual(
      [top.comment.id, reply.comment.id].sort(),
    );
    // A redelivered post.deleted finds nothing left and emits nothing.
    const pool = createPool({ DATABASE_URL: stack.iso.databaseUrl, DATABASE_POOL_SIZE: 1 });
    try {
      const outboxBefore = await rows(`SELECT count(*)::text AS n FROM engagement.outbox`);
      expect(await purgePost(pool, postId, new Date())).toEqual({ comments: 0, likes: 0 });
      expect(await rows(`SELECT count(*)::text AS n FROM engagement.outbox`)).toBe(outboxBefore);
    } finally {
      await pool.end();
    }
  });
});

describe('a page of posts', () => {
  it('answers every post of a profile page with its own counts, like state, previews and likers', async () => {
    const [author, fan, other] = await people(3);
    const posts: string[] = [];
    for (let i = 0; i < 4; i++) posts.push(await createPost(stack, author!, `p${i}`));
    // post i gets i likes (fan first) and i comments
    for (let i = 1; i < 4; i++) {
      expect((await like(fan!, posts[i]!)).errors).toBeUndefined();
      if (i > 1) expect((await like(other!, posts[i]!)).errors).toBeUndefined();
      if (i > 2) expect((await like(author!, posts[i]!)).errors).toBeUndefined();
      for (let c = 0; c < i; c++) await mustComment(other!, posts[i]!, `c${i}.${c}`);
    }
    const PAGE = `query($u: String!) { user(username: $u) { posts(first: 10) { edges { cursor node {
      id likeCount viewerHasLiked commentCount
      comments(last: 2) { nodes { text } pageInfo { hasPreviousPage } }
      likedBy(first: 1) { nodes { id } pageInfo { hasNextPage } } } } } } }`;
    const r = await stack.gql<{
      user: {
        posts: {
          edges: {
            node: {
              id: string;
              likeCount: number;
              viewerHasLiked: boolean;
              commentCount: number;
              comments: { nodes: { text: string }[]; pageInfo: { hasPreviousPage: boolean } };
              likedBy: { nodes: { id: string }[]; pageInfo: { hasNextPage: boolean } };
            };
          }[];
        };
      };
    }>(PAGE, { u: author!.username }, { token: fan!.token });
    expect(r.errors).toBeUndefined();
    const byId = new Map(r.data!.user.posts.edges.map((e) => [e.node.id, e.node]));
    for (let i = 0; i < 4; i++) {
      const p = byId.get(posts[i]!)!;
      expect(p.likeCount).toBe(i);
      expect(p.viewerHasLiked).toBe(i > 0);
      expect(p.commentCount).toBe(i);
      expect(p.comments.nodes.map((n) => n.text)).toEqual(
        Array.from({ length: i }, (_, c) => `c${i}.${c}`).slice(-2),
      );
      expect(p.comments.pageInfo.hasPreviousPage).toBe(i > 2);
      const newest = [undefined, fan, other, author][i];
      expect(p.likedBy.nodes.map((n) => n.id)).toEqual(newest ? [newest.id] : []);
      expect(p.likedBy.pageInfo.hasNextPage).toBe(i > 1);
    }
  });

  it('loads counts, like states, comment previews and likers of a page in one query each', async () => {
    const [author, fan] = await people(2);
    const posts: string[] = [];
    for (let i = 0; i < 5; i++) posts.push(await createPost(stack, author!, `q${i}`));
    for (const p of posts) {
      await like(fan!, p);
      await mustComment(fan!, p, 'hi');
    }
    const pool = createPool({ DATABASE_URL: stack.iso.databaseUrl, DATABASE_POOL_SIZE: 2 });
    let queries = 0;
    const counting = new Proxy(pool, {
      get(target, prop, receiver) {
        if (prop === 'query')
          return (...a: Parameters<typeof pool.query>) => {
            queries++;
            return (target.query as (...x: unknown[]) => unknown)(...a);
          };
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    try {
      const notUsed = () => {
        throw new Error('not used by these loaders');
      };
      const app = {
        pool: counting,
        posts: { lookup: notUsed, livePosts: notUsed },
        graph: { visibility: notUsed },
      } as unknown as AppContext;
      const loaders = createLoaders(app, fan!.id);
      const [counts, liked, previews, likers] = await Promise.all([
        loaders.counts.loadMany(posts),
        loaders.liked.loadMany(posts),
        loaders.commentPage.loadMany(
          posts.map((p) => ({
            kind: 'post' as const,
            parentId: p,
            forward: false,
            cursor: null,
            limit: 3,
          })),
        ),
        loaders.likePage.loadMany(posts.map((p) => ({ postId: p, cursor: null, limit: 2 }))),
      ]);
      expect(queries).toBe(4);
      expect(counts).toEqual(posts.map(() => ({ likes: 1, comments: 1 })));
      expect(liked).toEqual(posts.map(() => true));
      expect(previews.map((p) => (p as { text: string }[]).map((c) => c.text))).toEqual(
        posts.map(() => ['hi']),
      );
      expect(likers.map((l) => (l as { userId: string }[]).map((x) => x.userId))).toEqual(
        posts.map(() => [fan!.id]),
      );
    } finally {
      await pool.end();
    }
  });
});

describe('calls to other subgraphs', () => {
  /** Internal calls answered so far, by route (the whole stack runs in this process). */
  async function calls(): Promise<{ lookup: number; visibility: number }> {
    const { values } = await httpDuration.get();
    const count = (route: string) =>
      values
        .filter(
          (v) =>
            v.metricName === 'mosaic_http_request_duration_seconds_count' &&
            v.labels.route === route,
        )
        .reduce((n, v) => n + v.value, 0);
    return {
      lookup: count('/internal/v1/posts/lookup'),
      visibility: count('/internal/v1/visibility'),
    };
  }
  async function delta(run: () => Promise<unknown>) {
    const before = await calls();
    await run();
    const after = await calls();
    return {
      lookup: after.lookup - before.lookup,
      visibility: after.visibility - before.visibility,
    };
  }

  it('comment(id), a reply and deleteComment each make one post lookup and one visibility call', async () => {
    const [author, replier] = await people(2);
    const postId = await createPost(stack, author!);
    const top = await mustComment(author!, postId, 'top');
    let reply = '';
    expect(
      await delta(() => stack.gql(COMMENT, { id: top.comment.id }, { token: replier!.token })),
    ).toEqual({ lookup: 1, visibility: 1 });
    expect(
      await delta(async () => {
        reply = (await mustComment(replier!, postId, 'reply', top.comment.id)).comment.id;
      }),
    ).toEqual({ lookup: 1, visibility: 1 });
    expect(await delta(() => stack.gql(DELETE, { id: reply }, { token: replier!.token }))).toEqual({
      lookup: 1,
      visibility: 1,
    });
  });
});

describe('events', () => {
  it('every engagement event on the ENGAGEMENT stream parses against the contract', async () => {
    const [author, fan] = await people(2);
    const postId = await createPost(stack, author!);
    await like(fan!, postId);
    await like(fan!, postId, UNLIKE);
    const top = await mustComment(fan!, postId, 'hello @someone');
    await mustComment(author!, postId, 'thanks', top.comment.id);
    await stack.gql(DELETE, { id: top.comment.id }, { token: fan!.token });
    const pending = await eventually(
      () => rows(`SELECT count(*)::text AS n FROM engagement.outbox WHERE published_at IS NULL`),
      (n) => n === 0,
    );
    expect(pending).toBe(0);

    const nc = await connectNats(stack.cfg, 'test');
    try {
      const jsm = await jetstreamManager(nc);
      const stream = streamNames(stack.cfg.NATS_PREFIX).ENGAGEMENT;
      const { state } = await jsm.streams.info(stream);
      expect(state.messages).toBe(await rows(`SELECT count(*)::text AS n FROM engagement.outbox`));
      const bad: string[] = [];
      const subjects = new Set<string>();
      for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
        const msg = await jsm.streams.getMessage(stream, { seq });
        if (!msg) continue;
        const subject = unprefixSubject(stack.cfg.NATS_PREFIX, msg.subject);
        subjects.add(subject);
        const check = parseEvent(subject, msg.json());
        if (!check.ok) bad.push(`${subject}: ${check.error}`);
      }
      expect(bad).toEqual([]);
      expect([...subjects].sort()).toEqual([
        'engagement.comment_deleted',
        'engagement.commented',
        'engagement.liked',
        'engagement.unliked',
      ]);
    } finally {
      await nc.close();
    }
  });
});
