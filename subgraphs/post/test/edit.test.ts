// updatePost and deletePost's payload through the gateway: the caption and its hashtags,
// editedAt, the post.updated event (the whole post after the edit), who may edit, and
// search following an edit (the search indexer consumes post.updated).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats } from '../../../lib/platform/nats.js';
import type { PostUpdatedV1 } from '../../../lib/contracts/events.js';
import { eventually } from '../../../test/support/events.js';
import { startPostStack, type PostStack } from './support/post-stack.js';

let stack: PostStack;
let ada: { id: string; token: string; username: string };
let bob: { id: string; token: string; username: string };

beforeAll(async () => {
  stack = await startPostStack({}, ['user', 'graph', 'post', 'search']);
  ada = await stack.signUp('ada');
  bob = await stack.signUp('bob');
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

interface PostView {
  id: string;
  caption: string | null;
  hashtags: string[];
  createdAt: string;
  editedAt: string | null;
  media: { id: string }[];
}

const FIELDS = 'id caption hashtags createdAt editedAt media { id }';
const UPDATE = `mutation($input: UpdatePostInput!) { updatePost(input: $input) { ${FIELDS} } }`;

async function createPost(
  user: { token: string },
  caption: string | null,
  media: string[],
): Promise<PostView> {
  const r = await stack.gql<{ createPost: PostView }>(
    `mutation($input: CreatePostInput!) { createPost(input: $input) { ${FIELDS} } }`,
    { input: { caption, mediaIds: media } },
    { token: user.token },
  );
  if (!r.data) throw new Error(JSON.stringify(r.errors));
  return r.data.createPost;
}

const update = (token: string, input: Record<string, unknown>) =>
  stack.gql<{ updatePost: PostView }>(UPDATE, { input }, { token });

const readPost = async (id: string) =>
  (
    await stack.gql<{ post: PostView | null }>(`query($id: ID!) { post(id: $id) { ${FIELDS} } }`, {
      id,
    })
  ).data!.post;

const outboxRows = async () =>
  Number(
    (await stack.iso.query<{ n: string }>(`SELECT count(*)::text AS n FROM posts.outbox`))[0]!.n,
  );

describe('updatePost', () => {
  it('replaces the caption and hashtags, sets editedAt and publishes post.updated', async () => {
    const media = [
      await stack.readyMedia(ada.id),
      await stack.readyMedia(ada.id, { type: 'VIDEO' }),
    ];
    const created = await createPost(ada, 'Dawn #Old #shared', media);
    expect(created.editedAt).toBeNull();

    const nc = await connectNats(stack.cfg, 'post-edit-test');
    try {
      const sub = nc.subscribe(`${stack.cfg.NATS_PREFIX}.post.updated`);
      const r = await update(ada.token, { id: created.id, caption: '  Dusk #Shared #New  ' });
      expect(r.errors).toBeUndefined();
      const edited = r.data!.updatePost;
      expect(edited).toMatchObject({
        id: created.id,
        caption: 'Dusk #Shared #New',
        hashtags: ['shared', 'new'],
        createdAt: created.createdAt,
        media: media.map((id) => ({ id })),
      });
      expect(Date.parse(edited.editedAt!)).toBeGreaterThan(Date.parse(created.createdAt));
      expect(await readPost(created.id)).toEqual(edited);
      const rest = await fetch(`${stack.gatewayUrl}/v1/posts/${created.id}`);
      expect(await rest.json()).toMatchObject({
        caption: edited.caption,
        editedAt: edited.editedAt,
      });

      let payload: PostUpdatedV1 | undefined;
      const deadline = Date.now() + 10_000;
      for await (const msg of sub) {
        const p = msg.json<PostUpdatedV1>();
        if (p.postId === created.id) {
          payload = p;
          break;
        }
        if (Date.now() > deadline) break;
      }
      expect(payload).toEqual({
        v: 1,
        postId: created.id,
        authorId: ada.id,
        createdAt: created.createdAt,
        caption: 'Dusk #Shared #New',
        hashtags: ['shared', 'new'],
        media: [
          { id: media[0], type: 'image', width: 640, height: 480 },
          { id: media[1], type: 'video', width: 640, height: 480 },
        ],
        updatedAt: edited.editedAt,
      });
    } finally {
      await nc.close();
    }
  });

  it('clears the caption with null or "", and an unchanged caption changes nothing', async () => {
    const post = await createPost(ada, 'to be cleared #gone', [await stack.readyMedia(ada.id)]);
    const cleared = (await update(ada.token, { id: post.id, caption: null })).data!.updatePost;
    expect(cleared).toMatchObject({ caption: null, hashtags: [] });
    expect(cleared.editedAt).not.toBeNull();

    const again = (await update(ada.token, { id: post.id, caption: '   ' })).data!.updatePost;
    expect(again).toEqual(cleared); // "" is no caption: nothing changed, no new editedAt

    const before = await outboxRows();
    const same = await update(ada.token, { id: post.id });
    expect(same.data!.updatePost).toEqual(cleared);
    expect(await outboxRows()).toBe(before);

    // Every edit is a later version than the one before (consumers keep the newest).
    const [a, b] = [
      (await update(ada.token, { id: post.id, caption: 'one' })).data!.updatePost,
      (await update(ada.token, { id: post.id, caption: 'two' })).data!.updatePost,
    ];
    expect(Date.parse(b.editedAt!)).toBeGreaterThan(Date.parse(a.editedAt!));
    expect(Date.parse(a.editedAt!)).toBeGreaterThan(Date.parse(cleared.editedAt!));
  });

  it("refuses someone else's post, unknown and deleted posts and bad captions, writing nothing", async () => {
    const post = await createPost(ada, 'mine #only', [await stack.readyMedia(ada.id)]);
    const gone = await createPost(ada, 'deleted', [await stack.readyMedia(ada.id)]);
    await stack.gql(
      `mutation($id: ID!) { deletePost(id: $id) { deletedPostId } }`,
      { id: gone.id },
      { token: ada.token },
    );
    const before = await outboxRows();
    const cases: [string, Record<string, unknown>, string, string?][] = [
      [bob.token, { id: post.id, caption: 'stolen' }, 'FORBIDDEN'],
      [ada.token, { id: '987654321', caption: 'x' }, 'NOT_FOUND'],
      [ada.token, { id: gone.id, caption: 'x' }, 'NOT_FOUND'],
      [ada.token, { id: 'abc', caption: 'x' }, 'BAD_USER_INPUT', 'id'],
      [ada.token, { id: post.id, caption: 'c'.repeat(2201) }, 'BAD_USER_INPUT', 'caption'],
      [ada.token, { id: post.id, caption: 'a\u0000b' }, 'BAD_USER_INPUT', 'caption'],
      ['', { id: post.id, caption: 'x' }, 'UNAUTHENTICATED'],
    ];
    for (const [token, input, code, field] of cases) {
      const r = await update(token, input);
      expect(r.errors?.[0]?.extensions?.code, JSON.stringify(input).slice(0, 80)).toBe(code);
      if (field) expect(r.errors?.[0]?.extensions?.field).toBe(field);
    }
    expect(await readPost(post.id)).toEqual(post);
    expect(await outboxRows()).toBe(before);
    // 2,200 characters (code points) is the limit, as for createPost.
    const max = await update(ada.token, { id: post.id, caption: '😀'.repeat(2200) });
    expect(max.errors).toBeUndefined();
  });

  it('search follows the edit: captions and hashtags (eventually)', async () => {
    const tag = `t${Date.now().toString(36)}`;
    const post = await createPost(ada, `sunrise over the bay #${tag}old`, [
      await stack.readyMedia(ada.id),
    ]);
    const search = async (q: string) =>
      (
        await stack.gql<{ searchPosts: { nodes: { id: string; caption: string | null }[] } }>(
          `query($q: String!) { searchPosts(query: $q) { nodes { id caption } } }`,
          { q },
          { token: ada.token },
        )
      ).data?.searchPosts.nodes.map((n) => n.id) ?? [];
    const hashtagCount = async (name: string) =>
      (
        await stack.gql<{ hashtag: { postCount: number } | null }>(
          `query($n: String!) { hashtag(name: $n) { postCount } }`,
          { n: name },
        )
      ).data?.hashtag?.postCount ?? 0;

    expect(
      await eventually(
        () => search(`#${tag}old`),
        (ids) => ids.includes(post.id),
        20_000,
      ),
    ).toContain(post.id);
    await update(ada.token, { id: post.id, caption: `sunset in the hills #${tag}new` });

    expect(
      await eventually(
        () => search(`#${tag}new`),
        (ids) => ids.includes(post.id),
        20_000,
      ),
    ).toContain(post.id);
    expect(
      await eventually(
        () => search(`#${tag}old`),
        (ids) => ids.length === 0,
      ),
    ).toEqual([]);
    expect(await search('sunset hills')).toContain(post.id);
    expect(await search('sunrise')).not.toContain(post.id);
    expect(await hashtagCount(`${tag}new`)).toBe(1);
    expect(await hashtagCount(`${tag}old`)).toBe(0);
  });
});

describe('deletePost payload', () => {
  it('answers with the deleted id and the viewer with a fresh postCount', async () => {
    const cleo = await stack.signUp('cleo');
    const a = await createPost(cleo, 'a', [await stack.readyMedia(cleo.id)]);
    await createPost(cleo, 'b', [await stack.readyMedia(cleo.id)]);
    const r = await stack.gql<{
      deletePost: {
        deletedPostId: string;
        viewer: { id: string; username: string; postCount: number };
      };
    }>(
      `mutation($id: ID!) {
        deletePost(id: $id) { deletedPostId viewer { id username postCount } }
      }`,
      { id: a.id },
      { token: cleo.token },
    );
    expect(r.errors).toBeUndefined();
    expect(r.data!.deletePost).toEqual({
      deletedPostId: a.id,
      viewer: { id: cleo.id, username: cleo.username, postCount: 1 },
    });
    const other = await stack.gql(
      `mutation($id: ID!) { deletePost(id: $id) { deletedPostId } }`,
      { id: a.id },
      { token: bob.token },
    );
    expect(other.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});
