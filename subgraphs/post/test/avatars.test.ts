// Avatars and media(id) through the gateway: setAvatar's square crops (sizes and squareness
// read back from the stored files), replacing and removing (the old objects gone from
// storage, the old row retired), its rules, User.avatar's batching, and the janitor
// deleting what a request left queued.
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countingDb } from '../../../test/support/counting-db.js';
import { createLoaders } from '../src/loaders.js';
import { jpeg, png } from './media-fixtures.js';
import { startPostStack, type PostStack } from './support/post-stack.js';

let stack: PostStack;
let ada: { id: string; token: string; username: string };
let bob: { id: string; token: string; username: string };

beforeAll(async () => {
  stack = await startPostStack();
  ada = await stack.signUp('ada');
  bob = await stack.signUp('bob');
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

interface MediaView {
  id: string;
  type: string;
  mimeType: string;
  url: string;
  width: number | null;
  height: number | null;
  variants: { width: number; height: number; mimeType: string; url: string }[];
}

const MEDIA = 'id type mimeType url width height variants { width height mimeType url }';

/** POST /v1/media: a READY image with its variants stored. */
async function upload(token: string, bytes: Buffer, type = 'image/jpeg'): Promise<MediaView> {
  const form = new FormData();
  form.append('file', new Blob([bytes], { type }), type === 'image/png' ? 'a.png' : 'a.jpg');
  const res = await fetch(`${stack.gatewayUrl}/v1/media`, {
    method: 'POST',
    body: form,
    headers: { authorization: `Bearer ${token}` },
  });
  expect(res.status).toBe(201);
  return (await res.json()) as MediaView;
}

const setAvatar = (token: string, mediaId: string | null) =>
  stack.gql<{ setAvatar: { id: string; avatar: MediaView | null } }>(
    `mutation($m: ID) { setAvatar(mediaId: $m) { id avatar { ${MEDIA} } } }`,
    { m: mediaId },
    { token },
  );

const avatarOf = async (username: string) =>
  (
    await stack.gql<{ user: { avatar: MediaView | null } }>(
      `query($u: String!) { user(username: $u) { avatar { ${MEDIA} } } }`,
      { u: username },
    )
  ).data!.user.avatar;

/** The storage key behind a media URL (fs storage: PUBLIC_URL/media/<key>). */
const keyOf = (url: string) => new URL(url).pathname.replace(/^\/media\//, '');

async function storedSize(url: string) {
  const chunks: Buffer[] = [];
  for await (const c of await stack.app.storage.openRead(keyOf(url))) chunks.push(c as Buffer);
  const meta = await sharp(Buffer.concat(chunks)).metadata();
  return { width: meta.width, height: meta.height, format: meta.format };
}

const mediaRow = async (id: string) =>
  (await stack.iso.query(`SELECT id FROM posts.media WHERE id = $1`, [id])).length;

describe('setAvatar', () => {
  it('crops the image square at 150, 320 and 640, smallest first, url the largest', async () => {
    const m = await upload(ada.token, await jpeg(1600, 1000));
    const oldKeys = [m.url, ...m.variants.map((v) => v.url)].map(keyOf);
    const r = await setAvatar(ada.token, m.id);
    expect(r.errors).toBeUndefined();
    const avatar = r.data!.setAvatar.avatar!;
    expect(r.data!.setAvatar.id).toBe(ada.id);
    expect(avatar).toMatchObject({
      id: m.id,
      type: 'IMAGE',
      mimeType: 'image/jpeg',
      width: 640,
      height: 640,
    });
    expect(avatar.variants.map((v) => [v.width, v.height, v.mimeType])).toEqual([
      [150, 150, 'image/jpeg'],
      [320, 320, 'image/jpeg'],
      [640, 640, 'image/jpeg'],
    ]);
    expect(avatar.url).toBe(avatar.variants[2]!.url);
    // What is stored is what the API says: square files of those sizes, served publicly.
    for (const v of avatar.variants) {
      expect(await storedSize(v.url)).toEqual({ width: v.width, height: v.width, format: 'jpeg' });
      const res = await fetch(stack.localUrl(v.url));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/jpeg');
    }
    // The upload's own (non-square) variants are gone; the profile shows the avatar.
    const files = await stack.storedFiles();
    for (const k of oldKeys) expect(files).not.toContain(k);
    expect(await avatarOf(ada.username)).toEqual(avatar);
    const me = await stack.gql<{ me: { avatar: MediaView } }>(
      `{ me { avatar { id } } }`,
      {},
      {
        token: ada.token,
      },
    );
    expect(me.data!.me.avatar.id).toBe(m.id);
  });

  it('keeps an off-centre subject in the square (attention, not a centre crop)', async () => {
    const ivy = await stack.signUp('ivy');
    // A grey 1080×540 picture with a skin-toned square near its right edge: the centre square
    // (270-810) misses it entirely.
    const subject = await sharp({
      create: { width: 180, height: 180, channels: 3, background: { r: 200, g: 90, b: 60 } },
    })
      .png()
      .toBuffer();
    const picture = await sharp({
      create: { width: 1080, height: 540, channels: 3, background: { r: 235, g: 235, b: 235 } },
    })
      .composite([{ input: subject, left: 830, top: 180 }])
      .jpeg()
      .toBuffer();
    const m = await upload(ivy.token, picture);
    const avatar = (await setAvatar(ivy.token, m.id)).data!.setAvatar.avatar!;
    expect(avatar.variants.map((v) => v.width)).toEqual([150, 320, 540]);
    const chunks: Buffer[] = [];
    for await (const c of await stack.app.storage.openRead(keyOf(avatar.variants[0]!.url)))
      chunks.push(c as Buffer);
    const [, green, blue] = (await sharp(Buffer.concat(chunks)).stats()).channels;
    // Plain grey would be 235 in every channel; the subject pulls green and blue down.
    expect(green!.mean).toBeLessThan(228);
    expect(blue!.mean).toBeLessThan(228);
  });

  it("never upscales: a small image's crops stop at its short side (PNG stays PNG)", async () => {
    const cleo = await stack.signUp('cleo');
    const m = await upload(cleo.token, await png(300, 200), 'image/png');
    const avatar = (await setAvatar(cleo.token, m.id)).data!.setAvatar.avatar!;
    expect(avatar.variants.map((v) => [v.width, v.height, v.mimeType])).toEqual([
      [150, 150, 'image/png'],
      [200, 200, 'image/png'],
    ]);
    for (const v of avatar.variants)
      expect(await storedSize(v.url)).toEqual({ width: v.width, height: v.width, format: 'png' });
  });

  it("replaces the avatar: the previous one's files and row are gone", async () => {
    const dan = await stack.signUp('dan');
    const first = (await setAvatar(dan.token, (await upload(dan.token, await jpeg(800, 800))).id))
      .data!.setAvatar.avatar!;
    const firstKeys = first.variants.map((v) => keyOf(v.url));
    expect(await stack.storedFiles()).toEqual(expect.arrayContaining(firstKeys));

    const second = await upload(dan.token, await jpeg(900, 1200));
    const r = await setAvatar(dan.token, second.id);
    expect(r.data!.setAvatar.avatar!.id).toBe(second.id);
    const files = await stack.storedFiles();
    for (const k of firstKeys) expect(files).not.toContain(k);
    expect(await mediaRow(first.id)).toBe(0);
    const gone = await stack.gql<{ media: unknown }>(
      `query($id: ID!) { media(id: $id) { id } }`,
      {
        id: first.id,
      },
      { token: dan.token },
    );
    expect(gone.data!.media).toBeNull();
    expect((await fetch(stack.localUrl(first.url))).status).toBe(404);
    // Nothing is left queued for the janitor: it all went right away.
    expect(await stack.iso.query(`SELECT key FROM posts.object_trash`)).toEqual([]);

    // The current avatar again: nothing changes.
    const again = await setAvatar(dan.token, second.id);
    expect(again.data!.setAvatar.avatar).toEqual(r.data!.setAvatar.avatar);
  });

  it('settles concurrent changes on one avatar, leaving no other row or file behind', async () => {
    const hal = await stack.signUp('hal');
    const media = await Promise.all(
      [1, 2, 3].map(async (i) => upload(hal.token, await jpeg(300 + i * 100, 400))),
    );
    const results = await Promise.all(media.map((m) => setAvatar(hal.token, m.id)));
    for (const r of results) expect(r.errors).toBeUndefined();
    const final = (await avatarOf(hal.username))!;
    expect(media.map((m) => m.id)).toContain(final.id);
    const rows = await stack.iso.query<{ id: string }>(
      `SELECT id::text FROM posts.media WHERE owner_id = $1`,
      [hal.id],
    );
    expect(rows).toEqual([{ id: final.id }]);
    const ours = (await stack.storedFiles()).filter((f) =>
      media.some((m) => f.startsWith(`a/${m.id}/`) || f.startsWith(`m/${m.id}/`)),
    );
    expect(ours.sort()).toEqual(final.variants.map((v) => keyOf(v.url)).sort());
    expect(await stack.iso.query(`SELECT key FROM posts.object_trash`)).toEqual([]);
  });

  it('removes the avatar with null: its files and row are gone', async () => {
    const eve = await stack.signUp('eve');
    const avatar = (await setAvatar(eve.token, (await upload(eve.token, await jpeg(700, 500))).id))
      .data!.setAvatar.avatar!;
    const r = await setAvatar(eve.token, null);
    expect(r.errors).toBeUndefined();
    expect(r.data!.setAvatar).toEqual({ id: eve.id, avatar: null });
    expect(await avatarOf(eve.username)).toBeNull();
    const files = await stack.storedFiles();
    for (const v of avatar.variants) expect(files).not.toContain(keyOf(v.url));
    expect(await mediaRow(avatar.id)).toBe(0);
    // No avatar to remove: still fine.
    expect((await setAvatar(eve.token, null)).data!.setAvatar.avatar).toBeNull();
  });

  it('refuses media that is not an unattached READY image of the viewer', async () => {
    const inPost = await stack.readyMedia(ada.id);
    await stack.gql(
      `mutation($i: CreatePostInput!) { createPost(input: $i) { id } }`,
      { i: { mediaIds: [inPost] } },
      { token: ada.token },
    );
    const cases: [string, string | null, string][] = [
      ['', await stack.readyMedia(ada.id), 'UNAUTHENTICATED'],
      [ada.token, 'abc', 'BAD_USER_INPUT'],
      [ada.token, '987654321', 'NOT_FOUND'],
      [ada.token, await stack.readyMedia(bob.id), 'FORBIDDEN'],
      [ada.token, inPost, 'CONFLICT'],
      [ada.token, await stack.readyMedia(ada.id, { type: 'VIDEO' }), 'BAD_USER_INPUT'],
      [ada.token, await stack.readyMedia(ada.id, { status: 'PROCESSING' }), 'BAD_USER_INPUT'],
      [ada.token, await stack.readyMedia(ada.id, { status: 'FAILED' }), 'BAD_USER_INPUT'],
    ];
    const before = await avatarOf(ada.username);
    for (const [token, id, code] of cases) {
      const r = await setAvatar(token, id);
      expect(r.errors?.[0]?.extensions?.code, `${id}`).toBe(code);
    }
    expect(await avatarOf(ada.username)).toEqual(before);
  });

  it('takes the media out of createPost (CONFLICT) once it is the avatar', async () => {
    const fay = await stack.signUp('fay');
    const m = await upload(fay.token, await jpeg(400, 400));
    await setAvatar(fay.token, m.id);
    const r = await stack.gql(
      `mutation($i: CreatePostInput!) { createPost(input: $i) { id } }`,
      { i: { mediaIds: [m.id] } },
      { token: fay.token },
    );
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'mediaIds[0]' });
    expect(r.errors?.[0]?.message).toMatch(/avatar/);
  });
});

describe('User.avatar', () => {
  it('loads the avatars of a page of users with one query', async () => {
    const users = [ada, bob, await stack.signUp('gus')];
    const counting = countingDb(stack.iso.databaseUrl);
    try {
      const loaders = createLoaders(counting.db);
      const avatars = await Promise.all(users.map((u) => loaders.avatarByUser.load(BigInt(u.id))));
      expect(counting.queries()).toBe(1);
      expect(avatars[0]?.id.toString()).toBe((await avatarOf(ada.username))!.id);
      expect(avatars.slice(1)).toEqual([null, null]);
    } finally {
      await counting.end();
    }
  });
});

describe('media(id)', () => {
  it("answers the viewer's own READY media only", async () => {
    const m = await upload(bob.token, await jpeg(500, 300));
    const Q = `query($id: ID!) { media(id: $id) { ${MEDIA} } }`;
    const own = await stack.gql<{ media: MediaView | null }>(Q, { id: m.id }, { token: bob.token });
    expect(own.errors).toBeUndefined();
    expect(own.data!.media).toEqual({
      id: m.id,
      type: 'IMAGE',
      mimeType: m.mimeType,
      url: m.url,
      width: m.width,
      height: m.height,
      variants: m.variants,
    });
    const processing = await stack.readyMedia(bob.id, { status: 'PROCESSING' });
    for (const [id, token] of [
      [m.id, ada.token],
      [m.id, ''],
      ['987654321', bob.token],
      ['abc', bob.token],
      [processing, bob.token],
    ] as const) {
      const r = await stack.gql<{ media: unknown }>(Q, { id }, { token });
      expect(r.errors, `${id}`).toBeUndefined();
      expect(r.data!.media, `${id}`).toBeNull();
    }
  });
});

describe('the janitor', () => {
  it('deletes queued objects once due, and keeps those still being written', async () => {
    const m = await upload(ada.token, await jpeg(800, 600));
    const [due, later] = [keyOf(m.variants[0]!.url), keyOf(m.url)];
    await stack.iso.query(
      `INSERT INTO posts.object_trash (key, due_at) VALUES ($1, now()), ($2, now() + interval '1 hour')`,
      [due, later],
    );
    const pass = await stack.janitor();
    expect(pass.trashedObjects).toBe(1);
    const files = await stack.storedFiles();
    expect(files).not.toContain(due);
    expect(files).toContain(later);
    expect(await stack.iso.query<{ key: string }>(`SELECT key FROM posts.object_trash`)).toEqual([
      { key: later },
    ]);
  });
});
