// The upload path through the gateway: POST /v1/media (streamed multipart), the direct
// createUpload/completeUpload flow, validation from the bytes, stripped metadata, carousel
// order, and cleanup of rejected, abandoned and deleted media.
import { readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasExifBytes, jpegWithGps, mp4, noisePng, png } from './support/fixtures.js';
import type { MediaView } from '../src/media-view.js';
import { mp4WithMetadata, probeVideo, SECRET_LOCATION } from './media-fixtures.js';
import type { FsStorage } from '../src/storage/fs-storage.js';
import { postSettings } from '../src/settings.js';
import { startPostStack, type PostStack } from './support/post-stack.js';

let stack: PostStack;
let ada: { id: string; token: string; username: string };
let bob: { id: string; token: string; username: string };

const MAX_IMAGE = 400_000;

beforeAll(async () => {
  stack = await startPostStack({
    MEDIA_MAX_IMAGE_BYTES: String(MAX_IMAGE),
    MEDIA_MAX_VIDEO_BYTES: '3000000',
    UPLOAD_PART_SIZE_BYTES: String(16 * 1024),
  });
  ada = await stack.signUp('ada');
  bob = await stack.signUp('bob');
});
afterAll(async () => {
  await stack?.close();
});

async function upload(
  token: string | null,
  bytes: Buffer,
  filename: string,
  opts: { declaredType?: string; altText?: string } = {},
): Promise<{ status: number; body: MediaView & { code?: string; error?: string } }> {
  const form = new FormData();
  if (opts.altText !== undefined) form.append('altText', opts.altText);
  form.append('file', new Blob([bytes], { type: opts.declaredType ?? 'image/jpeg' }), filename);
  const res = await fetch(`${stack.gatewayUrl}/v1/media`, {
    method: 'POST',
    body: form,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: res.status, body: (await res.json()) as MediaView & { code?: string } };
}

async function fetchBytes(url: string): Promise<Buffer> {
  const res = await fetch(stack.localUrl(url));
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

const mediaRows = (ownerId: string) =>
  stack.iso.query<{ id: string; status: string }>(
    `SELECT id::text, status FROM posts.media WHERE owner_id = $1`,
    [ownerId],
  );

describe('POST /v1/media', () => {
  it('stores a JPEG in 1080/640/320 variants without EXIF or GPS, orientation applied', async () => {
    const input = await jpegWithGps(1600, 1200, 6); // rotated 90°: displays 1200 x 1600
    expect((await sharp(input).metadata()).exif).toBeDefined();
    const r = await upload(ada.token, input, 'holiday.jpg', { altText: ' A red square ' });
    expect(r.status).toBe(201);
    const m = r.body;
    expect(m).toMatchObject({ type: 'IMAGE', mimeType: 'image/jpeg', altText: 'A red square' });
    expect([m.width, m.height]).toEqual([1080, 1440]);
    expect(m.blurhash).toEqual(expect.any(String));
    expect(m.variants.map((v) => v.width)).toEqual([320, 640, 1080]);
    for (const v of m.variants) {
      const bytes = await fetchBytes(v.url);
      const meta = await sharp(bytes).metadata();
      expect(meta.width).toBe(v.width);
      expect(meta.height).toBe(Math.round((v.width * 1600) / 1200));
      expect(meta.exif).toBeUndefined();
      expect(meta.orientation ?? 1).toBe(1);
      expect(hasExifBytes(bytes)).toBe(false);
      expect(bytes.includes(Buffer.from('secret owner'))).toBe(false);
    }
  });

  it('judges the type from the bytes: a PNG named .jpg is stored as PNG', async () => {
    const r = await upload(ada.token, await png(500, 300), 'not-really.jpg');
    expect(r.status).toBe(201);
    expect(r.body.mimeType).toBe('image/png');
    // Never upscaled: a 500 px image has only the 320 variant and itself.
    expect(r.body.variants.map((v) => [v.width, v.mimeType])).toEqual([
      [320, 'image/png'],
      [500, 'image/png'],
    ]);
    const stored = await sharp(await fetchBytes(r.body.url)).metadata();
    expect(stored.format).toBe('png');
  });

  it('refuses a text file named .jpg with 415 and keeps nothing', async () => {
    const before = await stack.storedFiles();
    const rowsBefore = (await mediaRows(bob.id)).length;
    const r = await upload(
      bob.token,
      Buffer.from('just some text, not a photo\n'.repeat(50)),
      'cat.jpg',
    );
    expect(r.status).toBe(415);
    expect(r.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(r.body.error).toEqual(expect.any(String));
    expect(await stack.storedFiles()).toEqual(before);
    expect(await mediaRows(bob.id)).toHaveLength(rowsBefore);
  });

  it('refuses an oversize image with 413 and leaves no object behind', async () => {
    const big = await noisePng(600, 600); // ~1 MB > 400 KB image limit, < the gateway cap
    expect(big.length).toBeGreaterThan(MAX_IMAGE);
    const before = await stack.storedFiles();
    const rowsBefore = (await mediaRows(bob.id)).length;
    const r = await upload(bob.token, big, 'big.png', { declaredType: 'image/png' });
    expect(r.status).toBe(413);
    expect(r.body.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await stack.storedFiles()).toEqual(before);
    expect(await mediaRows(bob.id)).toHaveLength(rowsBefore);
  });

  it('refuses a body over the gateway cap from its Content-Length (413)', async () => {
    const r = await upload(bob.token, Buffer.alloc(5_000_000, 7), 'huge.mp4', {
      declaredType: 'video/mp4',
    });
    expect(r.status).toBe(413);
    expect(r.body.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('stores a video without its location, title or dates (remuxed, not byte-identical)', async () => {
    const src = await mp4WithMetadata();
    expect(src.includes(SECRET_LOCATION)).toBe(true);
    const r = await upload(ada.token, src, 'IMG_0001.mp4', { declaredType: 'video/mp4' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ type: 'VIDEO', mimeType: 'video/mp4', width: 320, height: 240 });
    const stored = await fetchBytes(r.body.url);
    expect(stored.equals(src)).toBe(false);
    expect(stored.includes(SECRET_LOCATION)).toBe(false);
    expect(stored.includes('Secret title')).toBe(false);
    const probed = await probeVideo(stored);
    const tags = { ...probed.format.tags };
    for (const st of probed.streams) Object.assign(tags, st.tags);
    expect(Object.keys(tags).filter((t) => /location|title|creation_time|make/i.test(t))).toEqual(
      [],
    );
    expect(probed.streams.map((st) => st.codec_type)).toEqual(['video', 'audio']);
  });

  it('answers 401 without a signed-in user and 400 without a file', async () => {
    const anon = await upload(null, await png(), 'a.png');
    expect(anon.status).toBe(401);
    expect(anon.body.code).toBe('UNAUTHENTICATED');

    const form = new FormData();
    form.append('altText', 'no file');
    const res = await fetch(`${stack.gatewayUrl}/v1/media`, {
      method: 'POST',
      body: form,
      headers: { authorization: `Bearer ${ada.token}` },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'BAD_USER_INPUT' });

    const json = await fetch(`${stack.gatewayUrl}/v1/media`, {
      method: 'POST',
      body: '{}',
      headers: { authorization: `Bearer ${ada.token}`, 'content-type': 'application/json' },
    });
    expect(json.status).toBe(400);
  });
});

describe('carousel posts from uploads', () => {
  it('keeps the order image, video, image; the video has a poster and a duration', async () => {
    const a = await upload(ada.token, await png(400, 400), 'a.png');
    const v = await upload(ada.token, await mp4(1), 'clip.mp4', { declaredType: 'video/mp4' });
    const b = await upload(ada.token, await jpegWithGps(800, 600), 'b.jpg');
    expect([a.status, v.status, b.status]).toEqual([201, 201, 201]);
    expect(v.body).toMatchObject({ type: 'VIDEO', mimeType: 'video/mp4', width: 320, height: 240 });
    expect(v.body.durationSeconds).toBeGreaterThan(0.5);
    expect(v.body.posterUrl).toEqual(expect.any(String));
    const poster = await sharp(await fetchBytes(v.body.posterUrl!)).metadata();
    expect(poster.format).toBe('jpeg');

    const ids = [a.body.id, v.body.id, b.body.id];
    const r = await stack.gql<{
      createPost: { id: string; media: { id: string; type: string; url: string }[] };
    }>(
      `mutation($input: CreatePostInput!) { createPost(input: $input) { id media { id type url } } }`,
      { input: { caption: 'Carousel #mix', mediaIds: ids } },
      { token: ada.token },
    );
    expect(r.errors).toBeUndefined();
    expect(r.data!.createPost.media.map((m) => m.id)).toEqual(ids);
    expect(r.data!.createPost.media.map((m) => m.type)).toEqual(['IMAGE', 'VIDEO', 'IMAGE']);

    const rest = await fetch(`${stack.gatewayUrl}/v1/posts/${r.data!.createPost.id}`);
    const body = (await rest.json()) as { media: { id: string }[] };
    expect(body.media.map((m) => m.id)).toEqual(ids);

    // The video streams with range requests and immutable caching at its public URL (the
    // post's; the upload answer went to the owner alone, with a signed URL).
    const videoUrl = r.data!.createPost.media[1]!.url;
    expect(videoUrl).not.toContain('?');
    const ranged = await fetch(stack.localUrl(videoUrl), { headers: { range: 'bytes=0-99' } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer())).toHaveLength(100);
    expect(ranged.headers.get('cache-control')).toContain('immutable');
  });

  it("refuses someone else's uploaded media (FORBIDDEN)", async () => {
    const theirs = await upload(bob.token, await png(), 'bob.png');
    const r = await stack.gql(
      `mutation($input: CreatePostInput!) { createPost(input: $input) { id } }`,
      { input: { mediaIds: [theirs.body.id] } },
      { token: ada.token },
    );
    expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('removes the objects of a deleted post', async () => {
    const m = await upload(ada.token, await png(), 'gone.png');
    const key = new URL(m.body.url).pathname.replace(/^\/media\//, '');
    expect(await stack.storedFiles()).toContain(key);
    const created = await stack.gql<{ createPost: { id: string } }>(
      `mutation($input: CreatePostInput!) { createPost(input: $input) { id } }`,
      { input: { mediaIds: [m.body.id] } },
      { token: ada.token },
    );
    const del = await stack.gql(
      `mutation($id: ID!) { deletePost(id: $id) { deletedPostId } }`,
      { id: created.data!.createPost.id },
      { token: ada.token },
    );
    expect(del.errors).toBeUndefined();
    await stack.janitor(); // whatever the background purge has not done yet
    expect(await stack.storedFiles()).not.toContain(key);
    expect((await fetch(stack.localUrl(m.body.url))).status).toBe(404);
  });
});

describe('direct uploads (createUpload / completeUpload)', () => {
  const CREATE = `mutation($input: CreateUploadInput!) {
    createUpload(input: $input) { uploadId expiresAt url partSize parts { partNumber url } }
  }`;
  const COMPLETE = `mutation($id: ID!, $parts: [CompletedPartInput!]) {
    completeUpload(uploadId: $id, parts: $parts) { id type mimeType width height variants { width } }
  }`;

  it('uploads with one presigned PUT, then processes from the bytes', async () => {
    const bytes = await png(700, 350);
    const t = await stack.gql<{
      createUpload: { uploadId: string; url: string | null; parts: unknown[] };
    }>(
      CREATE,
      { input: { filename: 'x.jpg', contentType: 'image/jpeg', byteSize: bytes.length } },
      { token: ada.token },
    );
    expect(t.errors).toBeUndefined();
    const ticket = t.data!.createUpload;
    expect(ticket.url).toEqual(expect.any(String));
    expect(ticket.parts).toEqual([]);
    const put = await fetch(stack.localUrl(ticket.url!), {
      method: 'PUT',
      body: bytes,
      headers: { 'content-type': 'image/jpeg' },
    });
    expect(put.status).toBeLessThan(300);

    const done = await stack.gql<{ completeUpload: MediaView }>(
      COMPLETE,
      { id: ticket.uploadId },
      { token: ada.token },
    );
    expect(done.errors).toBeUndefined();
    expect(done.data!.completeUpload).toMatchObject({
      id: ticket.uploadId,
      type: 'IMAGE',
      mimeType: 'image/png',
      width: 700,
      height: 350,
    });
    // The original is not kept; only processed variants are.
    expect((await stack.storedFiles()).some((f) => f.startsWith(`u/${ticket.uploadId}`))).toBe(
      false,
    );
    const again = await stack.gql(COMPLETE, { id: ticket.uploadId }, { token: ada.token });
    expect(again.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  });

  it('uses multipart above one part, and checks owners, types and sizes', async () => {
    const bytes = await mp4(1, '640x360', true);
    const partSize = postSettings(stack.cfg).UPLOAD_PART_SIZE_BYTES;
    const t = await stack.gql<{
      createUpload: {
        uploadId: string;
        url: string | null;
        partSize: number;
        parts: { partNumber: number; url: string }[];
      };
    }>(
      CREATE,
      { input: { filename: 'clip.mp4', contentType: 'video/mp4', byteSize: bytes.length } },
      { token: ada.token },
    );
    expect(t.errors).toBeUndefined();
    const ticket = t.data!.createUpload;
    expect(ticket.url).toBeNull();
    expect(ticket.partSize).toBe(partSize);
    const count = Math.ceil(bytes.length / partSize);
    expect(count).toBeGreaterThan(1);
    expect(ticket.parts.map((p) => p.partNumber)).toEqual(
      Array.from({ length: count }, (_, i) => i + 1),
    );

    const forbidden = await stack.gql(COMPLETE, { id: ticket.uploadId }, { token: bob.token });
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const parts = [];
    for (const p of ticket.parts) {
      const chunk = bytes.subarray((p.partNumber - 1) * partSize, p.partNumber * partSize);
      const res = await fetch(stack.localUrl(p.url), { method: 'PUT', body: chunk });
      expect(res.status).toBeLessThan(300);
      parts.push({ partNumber: p.partNumber, etag: res.headers.get('etag')! });
    }
    const missing = await stack.gql(
      COMPLETE,
      { id: ticket.uploadId, parts: [parts[0]] },
      {
        token: ada.token,
      },
    );
    expect(missing.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const done = await stack.gql<{ completeUpload: MediaView }>(
      COMPLETE,
      { id: ticket.uploadId, parts },
      { token: ada.token },
    );
    expect(done.errors).toBeUndefined();
    expect(done.data!.completeUpload).toMatchObject({ type: 'VIDEO', width: 640, height: 360 });

    const wrongType = await stack.gql(
      CREATE,
      { input: { filename: 'a.txt', contentType: 'text/plain', byteSize: 10 } },
      { token: ada.token },
    );
    expect(wrongType.errors?.[0]?.extensions?.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const tooBig = await stack.gql(
      CREATE,
      { input: { filename: 'a.jpg', contentType: 'image/jpeg', byteSize: MAX_IMAGE + 1 } },
      { token: ada.token },
    );
    expect(tooBig.errors?.[0]?.extensions?.code).toBe('PAYLOAD_TOO_LARGE');
  });
});

describe('an upload URL is single-use and dies with its upload', () => {
  const CREATE = `mutation($input: CreateUploadInput!) {
    createUpload(input: $input) { uploadId url partSize parts { partNumber url } }
  }`;
  const COMPLETE = `mutation($id: ID!, $parts: [CompletedPartInput!]) {
    completeUpload(uploadId: $id, parts: $parts) { id }
  }`;
  interface Ticket {
    uploadId: string;
    url: string | null;
    partSize: number | null;
    parts: { partNumber: number; url: string }[];
  }
  const ticket = async (contentType: string, byteSize: number): Promise<Ticket> => {
    const t = await stack.gql<{ createUpload: Ticket }>(
      CREATE,
      { input: { filename: 'f', contentType, byteSize } },
      { token: ada.token },
    );
    expect(t.errors).toBeUndefined();
    return t.data!.createUpload;
  };
  const put = (url: string, body: Buffer, contentType?: string) =>
    fetch(stack.localUrl(url), {
      method: 'PUT',
      body,
      headers: contentType ? { 'content-type': contentType } : {},
    });
  const uploadFiles = async (id: string) =>
    (await stack.storedFiles()).filter((f) => f.startsWith(`u/${id}/`));

  it('refuses a second PUT after completeUpload (409) and stores nothing', async () => {
    const bytes = await png(300, 200);
    const t = await ticket('image/png', bytes.length);
    expect((await put(t.url!, bytes, 'image/png')).status).toBe(200);
    // The original is never served, not even before it is processed.
    const early = await fetch(`${stack.gatewayUrl}/media/u/${t.uploadId}/original`);
    expect(early.status).toBe(404);
    expect(await early.json()).toMatchObject({ code: 'NOT_FOUND' });

    const done = await stack.gql(COMPLETE, { id: t.uploadId }, { token: ada.token });
    expect(done.errors).toBeUndefined();
    const again = await put(t.url!, bytes, 'image/png');
    expect(again.status).toBe(409);
    const body = (await again.json()) as { code: string; error: string; requestId: string };
    expect(body.code).toBe('CONFLICT');
    expect(body.error).toMatch(/already completed/);
    expect(body.requestId).toEqual(expect.any(String));
    expect(await uploadFiles(t.uploadId)).toEqual([]);
    const late = await fetch(`${stack.gatewayUrl}/media/u/${t.uploadId}/original`);
    expect(late.status).toBe(404);
  });

  it('refuses a PUT after the upload failed', async () => {
    const text = Buffer.from('not an image at all, just text\n'.repeat(20));
    const t = await ticket('image/png', text.length);
    expect((await put(t.url!, text, 'image/png')).status).toBe(200);
    const done = await stack.gql(COMPLETE, { id: t.uploadId }, { token: ada.token });
    expect(done.errors?.[0]?.extensions?.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const again = await put(t.url!, text, 'image/png');
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ code: 'CONFLICT' });
    expect(await uploadFiles(t.uploadId)).toEqual([]);
  });

  it('lets a part be re-sent before completion, and nothing after', async () => {
    const bytes = await mp4(1, '320x240', true);
    const t = await ticket('video/mp4', bytes.length);
    const size = t.partSize!;
    const chunk = (n: number) => bytes.subarray((n - 1) * size, n * size);
    const parts: { partNumber: number; etag: string }[] = [];
    for (const p of t.parts) {
      const res = await put(p.url, chunk(p.partNumber));
      expect(res.status).toBe(200);
      parts.push({ partNumber: p.partNumber, etag: res.headers.get('etag')! });
    }
    const resent = await put(t.parts[0]!.url, chunk(1));
    expect(resent.status).toBe(200);
    expect(resent.headers.get('etag')).toBe(parts[0]!.etag);
    const done = await stack.gql(COMPLETE, { id: t.uploadId, parts }, { token: ada.token });
    expect(done.errors).toBeUndefined();
    for (const p of [t.parts[0]!, t.parts.at(-1)!]) {
      const late = await put(p.url, chunk(p.partNumber));
      expect(late.status).toBe(409);
      expect(await late.json()).toMatchObject({ code: 'CONFLICT' });
    }
    expect(await uploadFiles(t.uploadId)).toEqual([]);
  });

  it('the janitor removes upload objects whose upload is over, and keeps open ones', async () => {
    const open = await ticket('image/png', 100);
    const done = await ticket('image/png', 100);
    await stack.iso.query(
      `UPDATE posts.media SET status = 'READY', type = 'IMAGE', mime_type = 'image/png',
         storage_key = 'm/' || id || '/w100.png', upload_key = NULL, upload_expires_at = NULL
       WHERE id = $1`,
      [done.uploadId],
    );
    // As a late PUT to a presigned S3 URL would leave them: nothing can refuse those.
    const put = (key: string) =>
      stack.app.storage.put(key, Buffer.from('stray'), { contentType: 'image/png' });
    await put(`u/${open.uploadId}/original`);
    await put(`u/${done.uploadId}/original`);
    await put('u/987654321/original'); // no row at all
    const pass = await stack.janitor();
    expect(pass.strayUploads).toBe(2);
    const left = (await stack.storedFiles()).filter((f) => f.startsWith('u/'));
    expect(left).toEqual([`u/${open.uploadId}/original`]);
  });
});

describe('the declared byteSize and contentType bind every PUT', () => {
  const CREATE = `mutation($input: CreateUploadInput!) {
    createUpload(input: $input) { uploadId url partSize parts { partNumber url } }
  }`;
  const COMPLETE = `mutation($id: ID!, $parts: [CompletedPartInput!]) {
    completeUpload(uploadId: $id, parts: $parts) { id }
  }`;
  interface Ticket {
    uploadId: string;
    url: string | null;
    partSize: number | null;
    parts: { partNumber: number; url: string }[];
  }
  const ticket = async (contentType: string, byteSize: number): Promise<Ticket> => {
    const t = await stack.gql<{ createUpload: Ticket }>(
      CREATE,
      { input: { filename: 'f', contentType, byteSize } },
      { token: ada.token },
    );
    expect(t.errors).toBeUndefined();
    return t.data!.createUpload;
  };
  const put = (url: string, body: Buffer | ReadableStream, contentType = 'image/png') =>
    fetch(stack.localUrl(url), {
      method: 'PUT',
      body,
      headers: { 'content-type': contentType },
      duplex: 'half',
    });
  const leftovers = async (id: string) =>
    (await stack.storedFiles()).filter((f) => f.startsWith(`u/${id}/`));
  const mediaRow = async (id: string) =>
    (
      await stack.iso.query<{ status: string; failure_code: string | null }>(
        `SELECT status, failure_code FROM posts.media WHERE id = $1`,
        [id],
      )
    )[0];

  /** A PUT written by hand: the Content-Length says one thing, the body another. */
  function lyingPut(url: string, length: number, body: Buffer): Promise<number> {
    const u = new URL(stack.localUrl(url));
    return new Promise((resolve, reject) => {
      const sock = connect(Number(u.port), u.hostname, () => {
        sock.write(
          `PUT ${u.pathname} HTTP/1.1\r\nhost: ${u.host}\r\ncontent-type: image/png\r\n` +
            `content-length: ${length}\r\nconnection: close\r\n\r\n`,
        );
        sock.write(body);
      });
      let head = '';
      sock.on('data', (d: Buffer) => (head += d.toString('latin1')));
      sock.on('error', () => {}); // the server may close before reading the rest
      sock.on('close', () => {
        const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
        if (m) resolve(Number(m[1]));
        else reject(new Error(`no response: ${JSON.stringify(head.slice(0, 80))}`));
      });
    });
  }

  it('refuses more bytes than declared with 413 and stores nothing (6,345 against 10)', async () => {
    const bytes = await png(40, 40);
    expect(bytes.length).toBeGreaterThan(10);
    const t = await ticket('image/png', 10);
    const res = await put(t.url!, bytes);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    // No Content-Length at all (chunked): cut off as soon as the stream passes 10 bytes.
    const chunked = await put(t.url!, Readable.toWeb(Readable.from([bytes])) as ReadableStream)
      .then((r) => r.status)
      .catch(() => 'closed');
    expect([413, 'closed']).toContain(chunked);
    expect(await leftovers(t.uploadId)).toEqual([]);
  });

  it('refuses a Content-Length that disagrees with the declared size', async () => {
    const bytes = await png(40, 40);
    const t = await ticket('image/png', bytes.length);
    // Declares 10 bytes while the ticket (and the body sent) is the real size.
    expect(await lyingPut(t.url!, 10, bytes)).toBe(400);
    // Declares the real size plus one: 413 before a byte is read.
    expect(await lyingPut(t.url!, bytes.length + 1, bytes)).toBe(413);
    expect(await leftovers(t.uploadId)).toEqual([]);
    // The other type than the one declared: 415.
    const typed = await put(t.url!, bytes, 'image/jpeg');
    expect(typed.status).toBe(415);
    expect(await typed.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
    expect((await put(t.url!, bytes)).status).toBe(200);
    const done = await stack.gql(COMPLETE, { id: t.uploadId }, { token: ada.token });
    expect(done.errors).toBeUndefined();
  });

  it('refuses a part larger than partSize, and a last part larger than the remainder', async () => {
    const bytes = await mp4(1, '320x240', true);
    const t = await ticket('video/mp4', bytes.length);
    const size = t.partSize!;
    const first = await put(t.parts[0]!.url, bytes.subarray(0, size + 1), 'video/mp4');
    expect(first.status).toBe(413);
    expect(await first.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    const short = await put(t.parts[0]!.url, bytes.subarray(0, size - 1), 'video/mp4');
    expect(short.status).toBe(400);
    const last = t.parts.at(-1)!;
    const tail = bytes.subarray((last.partNumber - 1) * size);
    const over = await put(last.url, Buffer.concat([tail, Buffer.alloc(1)]), 'video/mp4');
    expect(over.status).toBe(413);
    const multipartId = (
      await stack.iso.query<{ m: string }>(
        `SELECT upload_multipart_id AS m FROM posts.media WHERE id = $1`,
        [t.uploadId],
      )
    )[0]!.m;
    expect(await stack.app.storage.partSizes(`u/${t.uploadId}/original`, multipartId)).toEqual(
      new Map(),
    );
  });

  it('fails completeUpload when the stored object is not the declared size', async () => {
    const bytes = await png(60, 40);
    const t = await ticket('image/png', bytes.length + 5);
    // As an S3 server that checks no signature would let it through.
    await stack.app.storage.put(`u/${t.uploadId}/original`, bytes, { contentType: 'image/png' });
    const done = await stack.gql(COMPLETE, { id: t.uploadId }, { token: ada.token });
    expect(done.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(done.errors?.[0]?.message).toMatch(/declared/);
    expect(await mediaRow(t.uploadId)).toEqual({
      status: 'FAILED',
      failure_code: 'BAD_USER_INPUT',
    });
    expect(await leftovers(t.uploadId)).toEqual([]);
  });

  it('checks the part sizes before joining them (total ≠ byteSize: FAILED, parts gone)', async () => {
    const bytes = await mp4(1, '320x240', true);
    const t = await ticket('video/mp4', bytes.length - 100);
    const size = t.partSize!;
    const key = `u/${t.uploadId}/original`;
    const multipartId = (
      await stack.iso.query<{ m: string }>(
        `SELECT upload_multipart_id AS m FROM posts.media WHERE id = $1`,
        [t.uploadId],
      )
    )[0]!.m;
    const fs = stack.app.storage as FsStorage;
    const parts = [];
    for (const p of t.parts) {
      // Straight into storage, past the route's checks: the last part 100 bytes too long.
      const chunk = bytes.subarray((p.partNumber - 1) * size, p.partNumber * size);
      const r = await fs.putPart(key, multipartId, p.partNumber, Readable.from([chunk]));
      parts.push({ partNumber: p.partNumber, etag: r.etag });
    }
    const done = await stack.gql(COMPLETE, { id: t.uploadId, parts }, { token: ada.token });
    expect(done.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await mediaRow(t.uploadId)).toEqual({
      status: 'FAILED',
      failure_code: 'BAD_USER_INPUT',
    });
    expect(await leftovers(t.uploadId)).toEqual([]);
    expect(await readdir(path.join(stack.storageDir, '.multipart'))).not.toContain(multipartId);
  });
});

describe('a failure between storing media and creating the post', () => {
  // Last in the file: the janitor runs with no grace period.
  it('leaves no visible post, and the janitor removes the objects', async () => {
    const eve = await stack.signUp('eve');
    const m = await upload(eve.token, await jpegWithGps(640, 480), 'lost.jpg');
    expect(m.status).toBe(201);
    const keys = m.body.variants.map((v) => new URL(v.url).pathname.replace(/^\/media\//, ''));
    expect(await stack.storedFiles()).toEqual(expect.arrayContaining(keys));

    const r = await stack.gql(
      `mutation($input: CreatePostInput!) { createPost(input: $input) { id } }`,
      { input: { caption: 'x'.repeat(2201), mediaIds: [m.body.id] } },
      { token: eve.token },
    );
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const profile = await stack.gql<{
      user: { postCount: number; posts: { nodes: unknown[] } };
    }>(`query($u: String!) { user(username: $u) { postCount posts { nodes { id } } } }`, {
      u: eve.username,
    });
    expect(profile.data!.user).toEqual({ postCount: 0, posts: { nodes: [] } });

    // Within the grace period nothing is collected.
    expect((await stack.janitor()).orphanedMedia).toBe(0);
    const pass = await stack.janitor({ graceHours: 0 });
    expect(pass.orphanedMedia).toBeGreaterThanOrEqual(1);
    const left = await stack.storedFiles();
    for (const k of keys) expect(left).not.toContain(k);
    expect(await mediaRows(eve.id)).toEqual([]);
    const late = await stack.gql(
      `mutation($input: CreatePostInput!) { createPost(input: $input) { id } }`,
      { input: { mediaIds: [m.body.id] } },
      { token: eve.token },
    );
    expect(late.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});
