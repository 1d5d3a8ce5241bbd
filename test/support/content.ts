// Accounts, follows (requests, approvals, blocks, private accounts) and posts through the
// gateway, for tests that need content quickly.
// Media rows are inserted READY directly (no upload): these tests are not about media.
import { eventually } from './events.js';
import type { Stack } from './stack.js';

export interface Account {
  id: string;
  username: string;
  token: string;
}

let n = 0;

export async function signUp(stack: Stack, prefix = 'u'): Promise<Account> {
  const username = `${prefix}_${Date.now().toString(36)}_${n++}`;
  const r = await stack.gql<{ signUp: { accessToken: string; user: { id: string } } }>(
    `mutation($input: SignUpInput!) { signUp(input: $input) { accessToken user { id } } }`,
    { input: { username, email: `${username}@example.com`, password: 'long enough pw' } },
  );
  if (!r.data) throw new Error(`signUp failed: ${JSON.stringify(r.errors)}`);
  return { id: r.data.signUp.user.id, username, token: r.data.signUp.accessToken };
}

/** The viewer's relation to a user (User.viewerFollowState). */
export type FollowState = 'NONE' | 'REQUESTED' | 'FOLLOWING';

/** A follow-type mutation by `viewer` about `other`; throws on any error. */
async function followMutation(
  stack: Stack,
  field: string,
  viewer: Account,
  other: Account,
): Promise<FollowState> {
  const r = await stack.gql<Record<string, { user: { viewerFollowState: FollowState } }>>(
    `mutation($id: ID!) { ${field}(userId: $id) { user { id viewerFollowState } viewer { id } } }`,
    { id: other.id },
    { token: viewer.token },
  );
  if (r.errors || !r.data) throw new Error(`${field} failed: ${JSON.stringify(r.errors)}`);
  return r.data[field]!.user.viewerFollowState;
}

/** `follower` follows `followee` (a request when `followee` is private). */
export async function follow(stack: Stack, follower: Account, followee: Account): Promise<void> {
  await followMutation(stack, 'follow', follower, followee);
}

/** The same as follow; returns the state afterwards (REQUESTED for a private account). */
export const requestFollow = (
  stack: Stack,
  follower: Account,
  followee: Account,
): Promise<FollowState> => followMutation(stack, 'follow', follower, followee);

/** `owner` approves `requester`'s pending follow request. */
export async function approve(stack: Stack, owner: Account, requester: Account): Promise<void> {
  await followMutation(stack, 'approveFollowRequest', owner, requester);
}

/** `blocker` blocks `blocked` (ends follows and requests both ways). */
export async function block(stack: Stack, blocker: Account, blocked: Account): Promise<void> {
  await followMutation(stack, 'block', blocker, blocked);
}

/** `blocker` lifts the block on `blocked`. */
export async function unblock(stack: Stack, blocker: Account, blocked: Account): Promise<void> {
  await followMutation(stack, 'unblock', blocker, blocked);
}

/** Makes the account private or public (public approves every pending request). */
export async function setPrivate(
  stack: Stack,
  account: Account,
  isPrivate: boolean,
): Promise<void> {
  const r = await stack.gql<{ setAccountPrivacy: { isPrivate: boolean } }>(
    `mutation($p: Boolean!) { setAccountPrivacy(isPrivate: $p) { id isPrivate } }`,
    { p: isPrivate },
    { token: account.token },
  );
  if (r.errors || r.data?.setAccountPrivacy.isPrivate !== isPrivate)
    throw new Error(`setAccountPrivacy failed: ${JSON.stringify(r.errors)}`);
}

export async function readyMedia(stack: Stack, ownerId: string): Promise<string> {
  const rows = await stack.iso.query<{ id: string }>(
    `INSERT INTO posts.media (owner_id, type, status, mime_type, bytes, width, height, storage_key, variants, object_keys)
     VALUES ($1, 'IMAGE', 'READY', 'image/jpeg', 1000, 640, 480, 'm/x/1080.jpg',
       '[{"width":640,"height":480,"mimeType":"image/jpeg","key":"m/x/640.jpg","bytes":900}]', '{}')
     RETURNING id::text`,
    [ownerId],
  );
  return rows[0]!.id;
}

export async function createPost(
  stack: Stack,
  author: Account,
  caption = 'hello',
  headers?: Record<string, string>,
): Promise<string> {
  const mediaId = await readyMedia(stack, author.id);
  const r = await stack.gql<{ createPost: { id: string } }>(
    `mutation($input: CreatePostInput!) { createPost(input: $input) { id } }`,
    { input: { caption, mediaIds: [mediaId] } },
    { token: author.token, ...(headers ? { headers } : {}) },
  );
  if (!r.data) throw new Error(`createPost failed: ${JSON.stringify(r.errors)}`);
  return r.data.createPost.id;
}

export async function feedIds(stack: Stack, reader: Account, first = 100): Promise<string[]> {
  const r = await stack.gql<{ feed: { nodes: { id: string }[] } }>(
    `query($first: Int) { feed(first: $first) { nodes { id } } }`,
    { first },
    { token: reader.token },
  );
  if (!r.data) throw new Error(`feed failed: ${JSON.stringify(r.errors)}`);
  return r.data.feed.nodes.map((p) => p.id);
}

/** The reader's feed once it holds at least `count` posts (or as it is after 30 s). */
export const feedHolding = (stack: Stack, reader: Account, count: number): Promise<string[]> =>
  eventually(
    () => feedIds(stack, reader),
    (ids) => ids.length >= count,
    30_000,
  );

/** Unpublished rows in a subgraph's outbox, once the relays have drained it (or after 10 s). */
export async function pendingOutbox(
  stack: Stack,
  schema: 'users' | 'posts' | 'graph',
): Promise<number> {
  const rows = await eventually(
    () =>
      stack.iso.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM ${schema}.outbox WHERE published_at IS NULL`,
      ),
    (r) => r[0]!.n === '0',
  );
  return Number(rows[0]!.n);
}
