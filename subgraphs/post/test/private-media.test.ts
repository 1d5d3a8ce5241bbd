// A private account's media through the gateway: its posts hand out URLs that expire, its
// old public URLs stop at once when it turns private, a removed follower's URLs die with
// their expiry, and avatars stay public. Real uploads (POST /v1/media), real files.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approve, requestFollow, setPrivate, type Account } from '../../../test/support/content.js';
import {
  PRIVATE_MEDIA_URL_TTL_SECONDS,
  SIGNED_URL_WINDOW_SECONDS,
  signMediaKey,
} from '../src/storage/media-url-signature.js';
import { jpeg } from './media-fixtures.js';
import { startPostStack, type PostStack } from './support/post-stack.js';

let stack: PostStack;

beforeAll(async () => {
  stack = await startPostStack({
    RATE_LIMIT_AUTH_PER_MINUTE: '0',
    RATE_LIMIT_USER_PER_MINUTE: '0',
    RATE_LIMIT_IP_PER_MINUTE: '0',
    RATE_LIMIT_UPLOADS_PER_MINUTE: '0',
  });
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

interface MediaUrls {
  id: string;
  url: string;
  variants: { url: string }[];
}

async function upload(owner: Account): Promise<MediaUrls> {
  const form = new FormData();
  form.append('file', new Blob([await jpeg(400, 300)], { type: 'image/jpeg' }), 'a.jpg');
  const res = await fetch(`${stack.gatewayUrl}/v1/media`, {
    method: 'POST',
    body: form,
    headers: { authorization: `Bearer ${owner.token}` },
  });
  expect(res.status).toBe(201);
  return (await res.json()) as MediaUrls;
}

async function post(owner: Account): Promise<string> {
  const media = await upload(owner);
  const r = await stack.gql<{ createPost: { id: string } }>(
    `mutation($i: CreatePostInput!) { createPost(input: $i) { id } }`,
    { i: { caption: 'mine', mediaIds: [media.id] } },
    { token: owner.token },
  );
  if (!r.data) throw new Error(JSON.stringify(r.errors));
  return r.data.createPost.id;
}

/** The media URLs `viewer` is handed for post `id` (null: the post is hidden from them). */
async function urlsOf(viewer: Account, id: string): Promise<string[] | null> {
  const r = await stack.gql<{ post: { media: MediaUrls[] } | null }>(
    `query($id: ID!) { post(id: $id) { media { id url variants { url } } } }`,
    { id },
    { token: viewer.token },
  );
  expect(r.errors).toBeUndefined();
  const m = r.data!.post?.media;
  return m ? m.flatMap((x) => [x.url, ...x.variants.map((v) => v.url)]) : null;
}

async function removeFollower(owner: Account, follower: Account): Promise<void> {
  const r = await stack.gql(
    `mutation($id: ID!) { removeFollower(userId: $id) { user { id } } }`,
    { id: follower.id },
    { token: owner.token },
  );
  expect(r.errors).toBeUndefined();
}

/** Media URLs name PUBLIC_URL; this stack's gateway listens on its own port. */
const local = (url: string) => {
  const u = new URL(url);
  return `${stack.gatewayUrl}${u.pathname}${u.search}`;
};

const status = async (url: string) => {
  const res = await fetch(local(url));
  await res.arrayBuffer();
  return res.status;
};
const unsigned = (url: string) => url.split('?')[0]!;

describe("a private account's media", () => {
  it('is handed out with expiring URLs that work, and never unsigned', async () => {
    const owner = await stack.signUp('pm_owner');
    const follower = await stack.signUp('pm_follower');
    const id = await post(owner);
    await setPrivate(stack, owner, true);
    await requestFollow(stack, follower, owner);
    await approve(stack, owner, follower);

    for (const viewer of [owner, follower]) {
      const urls = (await urlsOf(viewer, id))!;
      expect(urls.length).toBeGreaterThan(1);
      const now = Math.floor(Date.now() / 1000);
      for (const url of urls) {
        const u = new URL(url);
        const exp = Number(u.searchParams.get('exp'));
        expect(exp).toBeGreaterThanOrEqual(now + PRIVATE_MEDIA_URL_TTL_SECONDS - 5);
        expect(exp).toBeLessThanOrEqual(
          now + PRIVATE_MEDIA_URL_TTL_SECONDS + SIGNED_URL_WINDOW_SECONDS,
        );
        const res = await fetch(local(url));
        expect(res.status, url).toBe(200);
        expect(res.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/);
        await res.arrayBuffer();
        // The same object without its signature does not exist.
        expect(await status(unsigned(url))).toBe(404);
      }
    }
  });

  it("stops an account's old public URLs the moment it turns private", async () => {
    const owner = await stack.signUp('pm_turns');
    const viewer = await stack.signUp('pm_viewer');
    const id = await post(owner);
    const publicUrls = (await urlsOf(viewer, id))!;
    for (const url of publicUrls) {
      expect(url).not.toContain('?');
      expect(await status(url)).toBe(200);
    }
    await setPrivate(stack, owner, true);
    for (const url of publicUrls) expect(await status(url)).toBe(404);
    // Public again: the immutable URLs work again.
    await setPrivate(stack, owner, false);
    for (const url of publicUrls) expect(await status(url)).toBe(200);
  });

  it('leaves a removed follower nothing that outlives the expiry', async () => {
    const owner = await stack.signUp('pm_owner2');
    const follower = await stack.signUp('pm_former');
    const id = await post(owner);
    await setPrivate(stack, owner, true);
    await requestFollow(stack, follower, owner);
    await approve(stack, owner, follower);
    const urls = (await urlsOf(follower, id))!;

    await removeFollower(owner, follower);
    expect(await urlsOf(follower, id)).toBeNull();
    // What they kept works until its expiry at most; the same link once expired is refused,
    // and moving its expiry forward breaks the signature.
    const kept = new URL(urls[0]!);
    const key = kept.pathname.replace(/^\/media\//, '');
    const past = Math.floor(Date.now() / 1000) - 1;
    const expired = `${kept.origin}${kept.pathname}?exp=${past}&sig=${signMediaKey(
      stack.cfg.INTERNAL_SIGNING_SECRET,
      key,
      past,
    )}`;
    expect(await status(expired)).toBe(403);
    const later = Number(kept.searchParams.get('exp')) + 3600;
    expect(
      await status(
        `${kept.origin}${kept.pathname}?exp=${later}&sig=${kept.searchParams.get('sig')}`,
      ),
    ).toBe(404);
  });

  it('keeps avatars public, and the owner sees their own uploads signed', async () => {
    const owner = await stack.signUp('pm_avatar');
    await setPrivate(stack, owner, true);
    const media = await upload(owner);
    // Upload answers go to the owner only: signed, and working.
    expect(media.url).toContain('?exp=');
    expect(await status(media.url)).toBe(200);

    const r = await stack.gql<{ setAvatar: { avatar: MediaUrls } }>(
      `mutation($m: ID) { setAvatar(mediaId: $m) { avatar { id url variants { url } } } }`,
      { m: media.id },
      { token: owner.token },
    );
    const avatar = r.data!.setAvatar.avatar;
    for (const url of [avatar.url, ...avatar.variants.map((v) => v.url)]) {
      expect(url).not.toContain('?');
      expect(await status(url)).toBe(200);
    }
  });
});
