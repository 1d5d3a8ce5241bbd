// GET /internal/v1/posts: live posts in id order for rebuilding derived indexes (search
// reindex), service token required, batch bounds checked. POST /internal/v1/posts/lookup:
// the live posts among some ids and their authors (engagement).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signServiceToken, SERVICE_HEADER } from '../../../lib/auth/service-auth.js';
import { baseOf } from '../../../lib/clients/internal-http.js';
import { createPostClient } from '../../../lib/clients/post-client.js';
import { startPostStack, type PostStack } from './support/post-stack.js';

let stack: PostStack;
let base: string;

beforeAll(async () => {
  stack = await startPostStack();
  base = baseOf(stack.subgraphUrls.post!);
});
afterAll(async () => {
  await stack?.close();
});

async function createPost(user: { id: string; token: string }, caption: string) {
  const media = await stack.readyMedia(user.id);
  const r = await stack.gql<{ createPost: { id: string } }>(
    `mutation($input: CreatePostInput!) { createPost(input: $input) { id } }`,
    { input: { caption, mediaIds: [media] } },
    { token: user.token },
  );
  return r.data!.createPost.id;
}

it('pages live posts in id order with their captions and hashtags', async () => {
  const ada = await stack.signUp('ada');
  const ids = [];
  for (const c of ['one #A', 'two', 'three #Café #日本']) ids.push(await createPost(ada, c));
  await stack.gql(
    `mutation($id: ID!) { deletePost(id: $id) { deletedPostId } }`,
    { id: ids[1] },
    ada,
  );
  const client = createPostClient({
    baseUrl: base,
    caller: 'search',
    secret: stack.cfg.INTERNAL_SIGNING_SECRET,
  });
  const first = await client.livePosts({ limit: 1 });
  expect(first.posts).toHaveLength(1);
  expect(first.posts[0]).toMatchObject({
    id: ids[0],
    authorId: ada.id,
    caption: 'one #A',
    hashtags: ['a'],
  });
  expect(Number.isNaN(Date.parse(first.posts[0]!.createdAt))).toBe(false);
  const rest = await client.livePosts({ after: first.next, limit: 10 });
  expect(rest.posts.map((p) => [p.id, p.hashtags])).toEqual([[ids[2], ['café', '日本']]]);
  expect(rest.next).toBeNull();
});

it('refuses callers without a service token and bad parameters', async () => {
  expect((await fetch(`${base}/internal/v1/posts`)).status).toBe(401);
  const forged = { [SERVICE_HEADER]: signServiceToken('x'.repeat(40), 'search') };
  expect((await fetch(`${base}/internal/v1/posts`, { headers: forged })).status).toBe(401);
  const headers = {
    [SERVICE_HEADER]: signServiceToken(stack.cfg.INTERNAL_SIGNING_SECRET, 'search'),
  };
  for (const q of ['limit=0', 'limit=5001', 'limit=abc', 'after=-1', 'after=1;drop']) {
    const res = await fetch(`${base}/internal/v1/posts?${q}`, { headers });
    expect(res.status, q).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('BAD_USER_INPUT');
  }
});

it('looks up the live posts among some ids, with their authors, in one call', async () => {
  const [ada, bo] = [await stack.signUp('ada'), await stack.signUp('bo')];
  const a = await createPost(ada, 'a');
  const b = await createPost(bo, 'b');
  const gone = await createPost(ada, 'gone');
  await stack.gql(
    `mutation($id: ID!) { deletePost(id: $id) { deletedPostId } }`,
    { id: gone },
    ada,
  );
  const client = createPostClient({
    baseUrl: base,
    caller: 'engagement',
    secret: stack.cfg.INTERNAL_SIGNING_SECRET,
  });
  const found = await client.lookup([a, b, gone, '987654321', a]);
  expect(found.sort((x, y) => x.id.localeCompare(y.id))).toEqual(
    [
      { id: a, authorId: ada.id },
      { id: b, authorId: bo.id },
    ].sort((x, y) => x.id.localeCompare(y.id)),
  );
  expect(await client.lookup([])).toEqual([]);

  const url = `${base}/internal/v1/posts/lookup`;
  const post = (body: unknown, headers: Record<string, string>) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  expect((await post({ ids: [a] }, {})).status).toBe(401);
  const headers = {
    [SERVICE_HEADER]: signServiceToken(stack.cfg.INTERNAL_SIGNING_SECRET, 'engagement'),
  };
  for (const body of [
    {},
    { ids: 'x' },
    { ids: ['abc'] },
    { ids: [-1] },
    { ids: Array(1001).fill(a) },
  ]) {
    const res = await post(body, headers);
    expect(res.status, JSON.stringify(body).slice(0, 40)).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('BAD_USER_INPUT');
  }
});
