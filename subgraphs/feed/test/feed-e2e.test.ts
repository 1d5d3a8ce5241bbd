// The whole path: upload, createPost, fan-out, and a follower's feed page with posts,
// authors and media resolved by their own subgraphs; the REST feed; delete.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually } from '../../../test/support/events.js';
import { startStack, type Stack } from '../../../test/support/stack.js';

let stack: Stack;
let storageDir: string;
let n = 0;

async function person() {
  const username = `e2e_${Date.now().toString(36)}_${n++}`;
  const r = await stack.gql<{ signUp: { accessToken: string; user: { id: string } } }>(
    `mutation($input: SignUpInput!) { signUp(input: $input) { accessToken user { id } } }`,
    { input: { username, email: `${username}@example.com`, password: 'long enough pw' } },
  );
  return { id: r.data!.signUp.user.id, token: r.data!.signUp.accessToken, username };
}

async function uploadImage(token: string): Promise<string> {
  const png = await sharp({ create: { width: 400, height: 300, channels: 3, background: '#3a7' } })
    .png()
    .toBuffer();
  const form = new FormData();
  form.append('file', new Blob([png], { type: 'image/png' }), 'photo.png');
  const res = await fetch(`${stack.gatewayUrl}/v1/media`, {
    method: 'POST',
    body: form,
    headers: { authorization: `Bearer ${token}` },
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

const FEED = `query($after: String) {
  feed(first: 20, after: $after) {
    nodes { id caption hashtags author { id username } media { type mimeType width variants { width } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

beforeAll(async () => {
  storageDir = await mkdtemp(path.join(os.tmpdir(), 'mosaic-feed-e2e-'));
  stack = await startStack({
    subgraphs: ['user', 'post', 'graph', 'feed'],
    env: {
      STORAGE_DIR: storageDir,
      MEDIA_JANITOR_INTERVAL_SECONDS: '0',
      RATE_LIMIT_AUTH_PER_MINUTE: '0',
    },
  });
});
afterAll(async () => {
  await stack?.close();
  await rm(storageDir, { recursive: true, force: true });
});

it('a new post reaches a follower’s feed with author and media, over GraphQL and REST, and leaves on delete', async () => {
  const [author, reader] = [await person(), await person()];
  await stack.gql(
    `mutation($id: ID!) { follow(userId: $id) { user { id } } }`,
    { id: author.id },
    { token: reader.token },
  );
  await stack.gql(FEED, {}, { token: reader.token }); // the reader's timeline exists

  const mediaId = await uploadImage(author.token);
  const created = await stack.gql<{ createPost: { id: string } }>(
    `mutation($input: CreatePostInput!) { createPost(input: $input) { id } }`,
    { input: { caption: 'Morning light #Café #日本', mediaIds: [mediaId] } },
    { token: author.token },
  );
  expect(created.errors).toBeUndefined();
  const postId = created.data!.createPost.id;

  type FeedData = {
    feed: {
      nodes: {
        id: string;
        caption: string;
        hashtags: string[];
        author: { id: string; username: string };
        media: { type: string; mimeType: string; width: number; variants: { width: number }[] }[];
      }[];
    };
  };
  const page = await eventually(
    () => stack.gql<FeedData>(FEED, {}, { token: reader.token }),
    (r) => (r.data?.feed.nodes.length ?? 0) > 0,
  );
  expect(page.errors).toBeUndefined();
  expect(page.data!.feed.nodes).toEqual([
    {
      id: postId,
      caption: 'Morning light #Café #日本',
      hashtags: ['café', '日本'],
      author: { id: author.id, username: author.username },
      media: [
        {
          type: 'IMAGE',
          mimeType: 'image/png',
          width: 400,
          variants: [{ width: 320 }, { width: 400 }],
        },
      ],
    },
  ]);

  const rest = await fetch(`${stack.gatewayUrl}/v1/feed?limit=5`, {
    headers: { authorization: `Bearer ${reader.token}` },
  });
  expect(rest.status).toBe(200);
  const body = (await rest.json()) as {
    items: { id: string; author: { username: string } }[];
    nextCursor: string | null;
  };
  expect(body.items.map((p) => p.id)).toEqual([postId]);
  expect(body.items[0]!.author.username).toBe(author.username);
  expect(body.nextCursor).toBeNull();
  expect((await fetch(`${stack.gatewayUrl}/v1/feed`)).status).toBe(401);
  expect(
    (
      await fetch(`${stack.gatewayUrl}/v1/feed?cursor=bad!`, {
        headers: { authorization: `Bearer ${reader.token}` },
      })
    ).status,
  ).toBe(400);

  const del = await stack.gql(
    `mutation($id: ID!) { deletePost(id: $id) { deletedPostId } }`,
    { id: postId },
    { token: author.token },
  );
  expect(del.errors).toBeUndefined();
  const after = await eventually(
    () => stack.gql<FeedData>(FEED, {}, { token: reader.token }),
    (r) => r.data?.feed.nodes.length === 0,
  );
  expect(after.data!.feed.nodes).toEqual([]);
});
