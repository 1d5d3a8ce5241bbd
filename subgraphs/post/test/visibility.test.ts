// The visibility rule on posts, through the gateway: post(id), User.posts (postCount stays),
// GET /v1/posts/:id, updatePost/deletePost of a hidden post, for a private account's
// stranger, requester, follower and owner, blocks both ways and signed-out readers; avatars
// stay public; and one batched visibility call per request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraphClient, type GraphClient } from '../../../lib/clients/graph-client.js';
import { baseOf } from '../../../lib/clients/internal-http.js';
import {
  approve,
  block,
  follow,
  requestFollow,
  setPrivate,
  unblock,
  type Account,
} from '../../../test/support/content.js';
import { createVisibilityLoader } from '../src/visibility.js';
import { jpeg } from './media-fixtures.js';
import { startPostStack, type PostStack } from './support/post-stack.js';

let stack: PostStack;

beforeAll(async () => {
  stack = await startPostStack({
    RATE_LIMIT_AUTH_PER_MINUTE: '0',
    RATE_LIMIT_USER_PER_MINUTE: '0',
    RATE_LIMIT_IP_PER_MINUTE: '0',
  });
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

const account = async (name: string): Promise<Account> => stack.signUp(name);

/** Several accounts at once, typed as a tuple. */
async function accounts<const T extends readonly string[]>(
  ...names: T
): Promise<{ [K in keyof T]: Account }> {
  return (await Promise.all(names.map(account))) as { [K in keyof T]: Account };
}

async function createPost(author: Account, caption: string): Promise<string> {
  const r = await stack.gql<{ createPost: { id: string } }>(
    `mutation($i: CreatePostInput!) { createPost(input: $i) { id } }`,
    { i: { caption, mediaIds: [await stack.readyMedia(author.id)] } },
    { token: author.token },
  );
  if (!r.data) throw new Error(JSON.stringify(r.errors));
  return r.data.createPost.id;
}

interface Seen {
  post: boolean;
  posts: string[];
  postCount: number;
  rest: number;
}

/** What `viewer` (null: signed out) sees of `author`'s post `id`, every way there is. */
async function seen(viewer: Account | null, author: Account, id: string): Promise<Seen> {
  const token = viewer?.token;
  const r = await stack.gql<{
    post: { id: string } | null;
    user: { postCount: number; posts: { edges: { node: { id: string } }[] } } | null;
  }>(
    `query($id: ID!, $u: String!) {
      post(id: $id) { id }
      user(username: $u) { postCount posts { edges { cursor node { id } } } }
    }`,
    { id, u: author.username },
    { token },
  );
  expect(r.errors).toBeUndefined();
  const rest = await fetch(`${stack.gatewayUrl}/v1/posts/${id}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return {
    post: r.data!.post?.id === id,
    posts: r.data!.user?.posts.edges.map((e) => e.node.id) ?? [],
    postCount: r.data!.user?.postCount ?? -1,
    rest: rest.status,
  };
}

const visible = (id: string): Seen => ({ post: true, posts: [id], postCount: 1, rest: 200 });
const hidden: Seen = { post: false, posts: [], postCount: 1, rest: 404 };

describe('a private account', () => {
  it('shows its posts to itself and approved followers only; postCount to everyone', async () => {
    const [owner, stranger, requester, follower] = await accounts(
      'owner',
      'stranger',
      'requester',
      'follower',
    );
    const id = await createPost(owner, 'private #moments');
    await setPrivate(stack, owner, true);
    expect(await requestFollow(stack, requester, owner)).toBe('REQUESTED');
    expect(await requestFollow(stack, follower, owner)).toBe('REQUESTED');
    await approve(stack, owner, follower);

    expect(await seen(owner, owner, id)).toEqual(visible(id));
    expect(await seen(follower, owner, id)).toEqual(visible(id));
    expect(await seen(stranger, owner, id)).toEqual(hidden);
    expect(await seen(requester, owner, id)).toEqual(hidden);
    expect(await seen(null, owner, id)).toEqual(hidden);
    // The REST 404 says nothing more than an unknown id would.
    const rest = await fetch(`${stack.gatewayUrl}/v1/posts/${id}`);
    expect(await rest.json()).toMatchObject({ code: 'NOT_FOUND' });

    // Editing or deleting it: as if it did not exist (not FORBIDDEN, which would confirm it).
    const edit = await stack.gql(
      `mutation($i: UpdatePostInput!) { updatePost(input: $i) { id } }`,
      { i: { id, caption: 'x' } },
      { token: stranger.token },
    );
    expect(edit.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const del = await stack.gql(
      `mutation($id: ID!) { deletePost(id: $id) { deletedPostId } }`,
      { id },
      { token: requester.token },
    );
    expect(del.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    // A follower sees it, so for them it is someone else's post.
    const followerEdit = await stack.gql(
      `mutation($i: UpdatePostInput!) { updatePost(input: $i) { id } }`,
      { i: { id, caption: 'x' } },
      { token: follower.token },
    );
    expect(followerEdit.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    // Public again: everyone sees it on the next read (nothing cached beyond a request).
    await setPrivate(stack, owner, false);
    expect(await seen(stranger, owner, id)).toEqual(visible(id));
    expect(await seen(null, owner, id)).toEqual(visible(id));
  });

  it('keeps its avatar public', async () => {
    const owner = await account('pic');
    const stranger = await account('looker');
    const form = new FormData();
    form.append('file', new Blob([await jpeg(400, 300)], { type: 'image/jpeg' }), 'a.jpg');
    const up = await fetch(`${stack.gatewayUrl}/v1/media`, {
      method: 'POST',
      body: form,
      headers: { authorization: `Bearer ${owner.token}` },
    });
    const media = (await up.json()) as { id: string };
    const set = await stack.gql(
      `mutation($m: ID) { setAvatar(mediaId: $m) { id } }`,
      { m: media.id },
      { token: owner.token },
    );
    expect(set.errors).toBeUndefined();
    await setPrivate(stack, owner, true);
    for (const viewer of [stranger, null]) {
      const r = await stack.gql<{ user: { avatar: { id: string; url: string } | null } }>(
        `query($u: String!) { user(username: $u) { avatar { id url } } }`,
        { u: owner.username },
        { token: viewer?.token },
      );
      expect(r.data!.user.avatar?.id).toBe(media.id);
      expect((await fetch(stack.localUrl(r.data!.user.avatar!.url))).status).toBe(200);
    }
  });
});

describe('blocks', () => {
  it("hide each side's posts from the other, and end with unblock", async () => {
    const [blocker, blocked, bystander] = await accounts('blk', 'bkd', 'by');
    const mine = await createPost(blocker, 'blocker post');
    const theirs = await createPost(blocked, 'blocked post');
    await follow(stack, blocked, blocker);
    await block(stack, blocker, blocked);

    // The blocked user: the blocker's posts (and profile) are gone.
    const fromBlocked = await seen(blocked, blocker, mine);
    expect(fromBlocked).toMatchObject({ post: false, posts: [], rest: 404 });
    // The blocker still sees the blocked user's profile (to unblock) but none of their posts.
    expect(await seen(blocker, blocked, theirs)).toEqual(hidden);
    // Nobody else is affected.
    expect(await seen(bystander, blocker, mine)).toEqual(visible(mine));
    expect(await seen(bystander, blocked, theirs)).toEqual(visible(theirs));

    await unblock(stack, blocker, blocked);
    expect(await seen(blocked, blocker, mine)).toEqual(visible(mine));
    expect(await seen(blocker, blocked, theirs)).toEqual(visible(theirs));
  });
});

describe('the visibility call', () => {
  it('is one call for every author asked about in a tick, with their privacy', async () => {
    const real = createGraphClient({
      baseUrl: baseOf(stack.subgraphUrls.graph!),
      caller: 'post-test',
      secret: stack.cfg.INTERNAL_SIGNING_SECRET,
    });
    const calls: string[][] = [];
    const counted: GraphClient = {
      ...real,
      visibility: (viewerId, ids) => {
        calls.push([...ids]);
        return real.visibility(viewerId, ids);
      },
    };
    const [viewer, a, b, c] = await accounts('vw', 'va', 'vb', 'vc');
    await setPrivate(stack, b, true);
    await block(stack, c, viewer);

    const loader = createVisibilityLoader(counted, viewer.id);
    const answers = await Promise.all([a, b, c, viewer, a].map((u) => loader.load(u.id)));
    expect(answers.map((v) => v.hidden)).toEqual([false, true, true, false, false]);
    expect(answers.map((v) => v.private)).toEqual([false, true, false, false, false]);
    expect(calls).toHaveLength(1);
    // The viewer is asked about too: a private viewer's own media needs expiring URLs.
    expect(calls[0]!.sort()).toEqual([a.id, b.id, c.id, viewer.id].sort());
  });
});
