// Notifications from the engagement subgraph's own mutations (likePost, unlikePost, addComment,
// deleteComment), end to end: its outbox, the ENGAGEMENT stream, the notification consumers,
// and the gateway resolving the notification's post and comment from their subgraphs.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPost, signUp, type Account } from '../../../test/support/content.js';
import { eventually } from '../../../test/support/events.js';
import { startStack, type Stack } from '../../../test/support/stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    subgraphs: ['user', 'post', 'graph', 'engagement', 'notification'],
    env: {
      RATE_LIMIT_AUTH_PER_MINUTE: '0',
      RATE_LIMIT_USER_PER_MINUTE: '0',
      MEDIA_JANITOR_INTERVAL_SECONDS: '0',
      OUTBOX_POLL_MS: '200',
    },
  });
}, 60_000);

afterAll(async () => {
  await stack?.close();
});

interface Note {
  id: string;
  kind: string;
  actorCount: number;
  actors: { username: string }[];
  post: { id: string; caption: string } | null;
  comment: { id: string; text: string } | null;
}

const NOTES = `{ notifications(first: 20) { edges { cursor node {
  id kind actorCount actors { username } post { id caption } comment { id text } } } } }`;

async function notes(who: Account): Promise<Note[]> {
  const r = await stack.gql<{ notifications: { edges: { node: Note }[] } }>(
    NOTES,
    {},
    {
      token: who.token,
    },
  );
  if (r.errors || !r.data) throw new Error(JSON.stringify(r.errors));
  return r.data.notifications.edges.map((e) => e.node);
}

async function settle(who: Account, done: (n: Note[]) => boolean): Promise<Note[]> {
  const got = await eventually(() => notes(who), done, 15_000);
  expect(done(got), JSON.stringify(got)).toBe(true);
  return got;
}

async function mutate<T>(who: Account, query: string, variables: Record<string, unknown>) {
  const r = await stack.gql<T>(query, variables, { token: who.token });
  if (r.errors || !r.data) throw new Error(JSON.stringify(r.errors));
  return r.data;
}

const LIKE = `mutation($id: ID!) { likePost(postId: $id) { post { id likeCount } } }`;
const UNLIKE = `mutation($id: ID!) { unlikePost(postId: $id) { post { id likeCount } } }`;
const COMMENT = `mutation($i: AddCommentInput!) { addComment(input: $i) { comment { id } } }`;
const DELETE = `mutation($id: ID!) { deleteComment(id: $id) { deletedCommentId } }`;

it('likes group into one LIKED, comments and replies notify their authors with the post and comment resolved, and deletes withdraw them', async () => {
  const [author, ada, bo, cy] = [
    await signUp(stack, 'author'),
    await signUp(stack, 'ada'),
    await signUp(stack, 'bo'),
    await signUp(stack, 'cy'),
  ];
  const postId = await createPost(stack, author, 'sunset');
  for (const who of [ada, bo, cy]) await mutate(who, LIKE, { id: postId });
  await mutate(ada, LIKE, { id: postId }); // idempotent: no event, nothing changes
  const [liked] = await settle(author, (n) => n[0]?.actorCount === 3);
  expect(liked).toMatchObject({ kind: 'LIKED', post: { id: postId, caption: 'sunset' } });
  expect(liked!.actors.map((a) => a.username)).toEqual([cy.username, bo.username, ada.username]);

  await mutate(bo, UNLIKE, { id: postId });
  const [less] = await settle(author, (n) => n[0]?.actorCount === 2);
  expect(less!.id).toBe(liked!.id);

  const top = await mutate<{ addComment: { comment: { id: string } } }>(ada, COMMENT, {
    i: { postId, text: 'lovely' },
  });
  const topId = top.addComment.comment.id;
  const reply = await mutate<{ addComment: { comment: { id: string } } }>(bo, COMMENT, {
    i: { postId, text: `@${cy.username} look`, replyToId: topId },
  });
  const replyId = reply.addComment.comment.id;

  const forAuthor = await settle(
    author,
    (n) => n.filter((x) => x.kind === 'COMMENTED').length === 2,
  );
  expect(forAuthor.find((n) => n.comment?.id === topId)).toMatchObject({
    kind: 'COMMENTED',
    actors: [{ username: ada.username }],
    comment: { text: 'lovely' },
  });
  const [forAda] = await settle(ada, (n) => n.length === 1);
  expect(forAda).toMatchObject({
    kind: 'REPLIED',
    actors: [{ username: bo.username }],
    comment: { id: replyId },
  });
  const [forCy] = await settle(cy, (n) => n.length === 1);
  expect(forCy).toMatchObject({
    kind: 'MENTIONED',
    comment: { id: replyId },
    post: { id: postId },
  });

  // Deleting the top-level comment takes its reply along: every notification about either goes.
  await mutate(ada, DELETE, { id: topId });
  await settle(author, (n) => n.length === 1 && n[0]!.kind === 'LIKED');
  await settle(ada, (n) => n.length === 0);
  await settle(cy, (n) => n.length === 0);
});
