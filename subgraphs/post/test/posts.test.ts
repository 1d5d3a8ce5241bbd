// Posts through the gateway: createPost's rules, deletePost, User.posts paging and
// postCount, the post.created event, entity batching and GET /v1/posts/:id. Media rows
// are inserted READY directly here; the upload path has its own tests (uploads.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signViewerContext, VIEWER_CONTEXT_HEADER } from '../../../lib/auth/viewer-context.js';
import { countingDb } from '../../../test/support/counting-db.js';
import { connectNats } from '../../../lib/platform/nats.js';
import type { PostCreatedV1, PostDeletedV1 } from '../../../lib/contracts/events.js';
import { postGraphql } from '../../../test/support/stack.js';
import { createLoaders } from '../src/loaders.js';
import { startPostStack, type PostStack } from './support/post-stack.js';

let stack: PostStack;
let ada: { id: string; token: string; username: string };
let bob: { id: string; token: string; username: string };

beforeAll(async () => {
  stack = await startPostStack();
  ada = await stack.signUp('ada');
  bob = await stack.signUp('bob');
});
afterAll(async () => {
  await stack?.close();
});

const CREATE = `mutation($input: CreatePostInput!) {
  createPost(input: $input) {
    id caption hashtags createdAt
    author { id username }
    media { id type mimeType url width height variants { width url } }
  }
}`;

interface CreatedPost {
  id: string;
  caption: string | null;
  hashtags: string[];
  author: { id: string; username: string };
  media: { id: string; type: string }[];
}

async function create(token: string, input: Record<string, unknown>) {
  return stack.gql<{ createPost: CreatedPost }>(CREATE, { input }, { token });
}

const postCount = async (userId: string) =>
  (
    await stack.iso.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM posts.posts WHERE author_id = $1`,
      [userId],
    )
  )[0]!.n;

describe('createPost', () => {
  it('creates a carousel in the given order, with hashtags and the author', async () => {
    const media = [
      await stack.readyMedia(ada.id),
      await stack.readyMedia(ada.id, { type: 'VIDEO' }),
      await stack.readyMedia(ada.id),
    ];
    const r = await create(ada.token, {
      caption: 'Morning #Café run #日本 #café',
      mediaIds: media,
    });
    expect(r.errors).toBeUndefined();
    const post = r.data!.createPost;
    expect(post.media.map((m) => m.id)).toEqual(media);
    expect(post.media.map((m) => m.type)).toEqual(['IMAGE', 'VIDEO', 'IMAGE']);
    expect(post.hashtags).toEqual(['café', '日本']);
    expect(post.author).toEqual({ id: ada.id, username: ada.username });

    const again = await stack.gql<{ post: CreatedPost }>(
      `query($id: ID!) { post(id: $id) { id media { id } author { username } } }`,
      { id: post.id },
    );
    expect(again.data!.post.media.map((m) => m.id)).toEqual(media);
  });

  it('rejects bad input with BAD_USER_INPUT and writes nothing', async () => {
    const m1 = await stack.readyMedia(ada.id);
    const before = await postCount(ada.id);
    const cases: [Record<string, unknown>, string][] = [
      [{ caption: 'x'.repeat(2201), mediaIds: [m1] }, 'caption'],
      [{ caption: 'dup', mediaIds: [m1, m1] }, 'mediaIds[1]'],
      [{ caption: 'none', mediaIds: [] }, 'mediaIds'],
      [{ caption: 'too many', mediaIds: Array.from({ length: 11 }, () => m1) }, 'mediaIds'],
      [{ caption: 'bad id', mediaIds: ['abc'] }, 'mediaIds[0]'],
    ];
    for (const [input, field] of cases) {
      const r = await create(ada.token, input);
      expect(r.errors?.[0]?.extensions?.code, field).toBe('BAD_USER_INPUT');
      expect(r.errors?.[0]?.extensions?.field).toBe(field);
    }
    // 2,200 characters (code points, emoji included) is fine.
    const ok = await create(ada.token, { caption: '😀'.repeat(2200), mediaIds: [m1] });
    expect(ok.errors).toBeUndefined();
    expect(await postCount(ada.id)).toBe(before + 1);
  });

  it("refuses someone else's media with FORBIDDEN", async () => {
    const mine = await stack.readyMedia(ada.id);
    const theirs = await stack.readyMedia(bob.id);
    const r = await create(ada.token, { caption: 'stolen', mediaIds: [mine, theirs] });
    expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const attached = await stack.iso.query(
      `SELECT 1 FROM posts.media WHERE id = ANY($1::bigint[]) AND attached_at IS NOT NULL`,
      [[mine, theirs]],
    );
    expect(attached).toHaveLength(0);
  });

  it('refuses media already in a post (CONFLICT), still processing, or unknown', async () => {
    const m = await stack.readyMedia(ada.id);
    expect((await create(ada.token, { mediaIds: [m] })).errors).toBeUndefined();
    const reused = await create(ada.token, { mediaIds: [m] });
    expect(reused.errors?.[0]?.extensions?.code).toBe('CONFLICT');

    const processing = await stack.readyMedia(ada.id, { status: 'PROCESSING' });
    const p = await create(ada.token, { mediaIds: [processing] });
    expect(p.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

    const unknown = await create(ada.token, { mediaIds: ['123456789'] });
    expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('requires a signed-in viewer', async () => {
    const m = await stack.readyMedia(ada.id);
    const r = await create('', { mediaIds: [m] });
    expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('publishes post.created with the denormalized payload', async () => {
    const nc = await connectNats(stack.cfg, 'post-test');
    try {
      const sub = nc.subscribe(`${stack.cfg.NATS_PREFIX}.post.created`);
      const m = await stack.readyMedia(ada.id);
      const r = await create(ada.token, { caption: 'Event #Test', mediaIds: [m] });
      const id = r.data!.createPost.id;
      let payload: PostCreatedV1 | undefined;
      const deadline = Date.now() + 10_000;
      for await (const msg of sub) {
        const p = msg.json<PostCreatedV1>();
        if (p.postId === id) {
          payload = p;
          break;
        }
        if (Date.now() > deadline) break;
      }
      expect(payload).toMatchObject({
        v: 1,
        postId: id,
        authorId: ada.id,
        caption: 'Event #Test',
        hashtags: ['test'],
        media: [{ id: m, type: 'image', width: 640, height: 480 }],
      });
      expect(new Date(payload!.createdAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
    } finally {
      await nc.close();
    }
  });
});

describe('deletePost', () => {
  it("refuses someone else's post (FORBIDDEN) and unknown ones (NOT_FOUND)", async () => {
    const m = await stack.readyMedia(ada.id);
    const id = (await create(ada.token, { mediaIds: [m] })).data!.createPost.id;
    const DELETE = `mutation($id: ID!) { deletePost(id: $id) { deletedPostId } }`;
    const r = await stack.gql(DELETE, { id }, { token: bob.token });
    expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const unknown = await stack.gql(DELETE, { id: '987654321' }, { token: ada.token });
    expect(unknown.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const post = await stack.gql<{ post: { id: string } | null }>(
      `query($id: ID!) { post(id: $id) { id } }`,
      { id },
    );
    expect(post.data!.post).toEqual({ id });
  });

  it('hides the post at once, answers with the fresh postCount and publishes post.deleted', async () => {
    const carol = await stack.signUp('carol');
    const nc = await connectNats(stack.cfg, 'post-test-del');
    try {
      const sub = nc.subscribe(`${stack.cfg.NATS_PREFIX}.post.deleted`);
      const m = await stack.readyMedia(carol.id);
      const id = (await create(carol.token, { mediaIds: [m] })).data!.createPost.id;
      const count = `query($u: String!) { user(username: $u) { postCount } }`;
      expect(
        (await stack.gql<{ user: { postCount: number } }>(count, { u: carol.username })).data!.user
          .postCount,
      ).toBe(1);

      const del = await stack.gql<{
        deletePost: { deletedPostId: string; viewer: { id: string; postCount: number } };
      }>(
        `mutation($id: ID!) {
          deletePost(id: $id) { deletedPostId viewer { id postCount } }
        }`,
        { id },
        { token: carol.token },
      );
      expect(del.errors).toBeUndefined();
      expect(del.data).toEqual({
        deletePost: { deletedPostId: id, viewer: { id: carol.id, postCount: 0 } },
      });
      const gone = await stack.gql<{ post: unknown }>(`query($id: ID!) { post(id: $id) { id } }`, {
        id,
      });
      expect(gone.data!.post).toBeNull();
      expect((await fetch(`${stack.gatewayUrl}/v1/posts/${id}`)).status).toBe(404);
      expect(
        (await stack.gql<{ user: { postCount: number } }>(count, { u: carol.username })).data!.user
          .postCount,
      ).toBe(0);
      const again = await stack.gql(
        `mutation($id: ID!) { deletePost(id: $id) { deletedPostId } }`,
        { id },
        { token: carol.token },
      );
      expect(again.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

      let payload: PostDeletedV1 | undefined;
      for await (const msg of sub) {
        const p = msg.json<PostDeletedV1>();
        if (p.postId === id) {
          payload = p;
          break;
        }
      }
      expect(payload).toMatchObject({ v: 1, postId: id, authorId: carol.id });
      expect(payload!.deletedAt >= payload!.createdAt).toBe(true);
    } finally {
      await nc.close();
    }
  });
});

describe('User.posts and postCount', () => {
  it('pages newest first with cursors and counts exactly', async () => {
    const dan = await stack.signUp('dan');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const m = await stack.readyMedia(dan.id);
      ids.push((await create(dan.token, { caption: `#${i}`, mediaIds: [m] })).data!.createPost.id);
    }
    const Q = `query($u: String!, $after: String) {
      user(username: $u) {
        postCount
        posts(first: 2, after: $after) {
          edges { cursor node { id caption } }
          nodes { id }
          pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        }
      }
    }`;
    type Page = {
      user: {
        postCount: number;
        posts: {
          edges: { cursor: string; node: { id: string } }[];
          nodes: { id: string }[];
          pageInfo: {
            hasNextPage: boolean;
            hasPreviousPage: boolean;
            startCursor: string | null;
            endCursor: string | null;
          };
        };
      };
    };
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 3; page++) {
      const r: Awaited<ReturnType<typeof stack.gql<Page>>> = await stack.gql<Page>(Q, {
        u: dan.username,
        after,
      });
      expect(r.errors).toBeUndefined();
      const posts = r.data!.user.posts;
      expect(r.data!.user.postCount).toBe(5);
      seen.push(...posts.nodes.map((n) => n.id));
      expect(posts.pageInfo.hasNextPage).toBe(page < 2);
      // Forward pagination: a page asked for with `after` continues an earlier one.
      expect(posts.pageInfo.hasPreviousPage).toBe(page > 0);
      expect(posts.pageInfo.startCursor).toBe(posts.edges[0]!.cursor);
      expect(posts.pageInfo.endCursor).toBe(posts.edges.at(-1)!.cursor);
      after = posts.pageInfo.endCursor;
    }
    expect(seen).toEqual([...ids].reverse());

    const bad = await stack.gql(Q, { u: dan.username, after: 'not-a-cursor!' });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('Post entities', () => {
  it('resolves representations in order, null for unknown, malformed or deleted', async () => {
    const m1 = await stack.readyMedia(ada.id);
    const m2 = await stack.readyMedia(ada.id);
    const a = (await create(ada.token, { caption: 'a', mediaIds: [m1] })).data!.createPost.id;
    const b = (await create(ada.token, { caption: 'b', mediaIds: [m2] })).data!.createPost.id;
    const header = signViewerContext(stack.cfg.INTERNAL_SIGNING_SECRET, {
      userId: null,
      sessionId: null,
      ip: '127.0.0.1',
      requestId: 'post-entities',
    });
    const r = await postGraphql<{ _entities: ({ id: string; caption: string } | null)[] }>(
      stack.subgraphUrls.post!,
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Post { id caption } } }`,
      { r: [b, '424242', a, 'x'].map((id) => ({ __typename: 'Post', id })) },
      { [VIEWER_CONTEXT_HEADER]: header },
    );
    expect(r.errors).toBeUndefined();
    expect(r.data!._entities).toEqual([
      { id: b, caption: 'b' },
      null,
      { id: a, caption: 'a' },
      null,
    ]);
  });

  it('loads posts with their carousels, and counts, with one query each, however many', async () => {
    const ids: string[] = [];
    const media: string[][] = [];
    for (let i = 0; i < 4; i++) {
      const m = [await stack.readyMedia(bob.id), await stack.readyMedia(bob.id)];
      media.push(m);
      ids.push((await create(bob.token, { mediaIds: m })).data!.createPost.id);
    }
    const counting = countingDb(stack.iso.databaseUrl);
    try {
      const loaders = createLoaders(counting.db);
      const posts = await Promise.all(
        [...ids, '999', ids[0]!].map((id) => loaders.postById.load(id)),
      );
      expect(counting.queries()).toBe(1);
      expect(posts.map((p) => p?.id.toString() ?? null)).toEqual([...ids, null, ids[0]]);
      // The posts' carousels came in the same query.
      const carousels = await Promise.all(ids.map((id) => loaders.mediaByPostId.load(BigInt(id))));
      expect(counting.queries()).toBe(1);
      expect(carousels.map((c) => c.map((m) => m.id.toString()))).toEqual(media);
      // Carousels asked for on their own are one query too.
      const fresh = createLoaders(counting.db);
      const alone = await Promise.all(ids.map((id) => fresh.mediaByPostId.load(BigInt(id))));
      expect(counting.queries()).toBe(2);
      expect(alone).toEqual(carousels);
      const counts = await Promise.all(
        [bob.id, ada.id, '5'].map((id) => loaders.postCountByAuthor.load(BigInt(id))),
      );
      expect(counting.queries()).toBe(3);
      expect(counts[0]).toBeGreaterThanOrEqual(4);
      expect(counts[2]).toBe(0);
    } finally {
      await counting.end();
    }
  });

  it('refuses requests that did not come through the gateway', async () => {
    const r = await postGraphql(stack.subgraphUrls.post!, `{ post(id: "1") { id } }`);
    expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('GET /v1/posts/:id', () => {
  it('returns the post with author and media, 404 otherwise', async () => {
    const m = await stack.readyMedia(ada.id);
    const id = (await create(ada.token, { caption: 'REST #rest', mediaIds: [m] })).data!.createPost
      .id;
    const res = await fetch(`${stack.gatewayUrl}/v1/posts/${id}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      id,
      caption: 'REST #rest',
      hashtags: ['rest'],
      author: { id: ada.id, username: ada.username },
      media: [{ id: m, type: 'IMAGE', mimeType: 'image/jpeg', width: 640, height: 480 }],
    });
    for (const missing of ['999999999', 'nope']) {
      const r = await fetch(`${stack.gatewayUrl}/v1/posts/${missing}`);
      expect(r.status).toBe(404);
      expect(await r.json()).toMatchObject({ code: 'NOT_FOUND' });
    }
    const badToken = await fetch(`${stack.gatewayUrl}/v1/posts/${id}`, {
      headers: { authorization: 'Bearer nope' },
    });
    expect(badToken.status).toBe(401);
  });
});
