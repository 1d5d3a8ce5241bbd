// The post flow on S3-compatible storage (a real S3-protocol server, s3rver, started here):
// uploads through the gateway land in the bucket, media URLs are presigned GETs, direct
// uploads PUT straight to the bucket, and deleted posts' objects leave it.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasExifBytes, jpegWithGps, png } from './support/fixtures.js';
import { startPostStack, type PostStack } from './support/post-stack.js';

let s3: S3rver;
let s3Dir: string;
let stack: PostStack;
let ada: { id: string; token: string; username: string };

beforeAll(async () => {
  s3Dir = await mkdtemp(path.join(os.tmpdir(), 'mosaic-post-s3-'));
  s3 = new S3rver({ port: 0, address: '127.0.0.1', directory: s3Dir, silent: true });
  const { port } = await s3.run();
  stack = await startPostStack({
    MINIO_ENDPOINT: `http://127.0.0.1:${port}`,
    MINIO_ACCESS_KEY: 'S3RVER',
    MINIO_SECRET_KEY: 'S3RVER',
    MINIO_BUCKET: 'mosaic-post-test',
    UPLOAD_PART_SIZE_BYTES: String(5 * 1024 * 1024), // S3's smallest part
  });
  ada = await stack.signUp('ada');
});
afterAll(async () => {
  await stack?.close();
  await s3?.close();
  await rm(s3Dir, { recursive: true, force: true });
});

const keyOf = (url: string) =>
  decodeURIComponent(new URL(url).pathname).replace(/^\/mosaic-post-test\//, '');

describe('posts on S3 storage', () => {
  it('uploads through the gateway into the bucket, then deletes the objects with the post', async () => {
    expect(stack.app.storage.kind).toBe('s3');
    const form = new FormData();
    form.append('file', new Blob([await jpegWithGps(900, 600)]), 'photo.jpg');
    const res = await fetch(`${stack.gatewayUrl}/v1/media`, {
      method: 'POST',
      body: form,
      headers: { authorization: `Bearer ${ada.token}` },
    });
    expect(res.status).toBe(201);
    const media = (await res.json()) as { id: string; url: string; variants: { url: string }[] };
    expect(media.url).toMatch(/X-Amz-Signature=/);
    const keys = media.variants.map((v) => keyOf(v.url));
    for (const v of media.variants) {
      const bytes = Buffer.from(await (await fetch(v.url)).arrayBuffer());
      expect((await sharp(bytes).metadata()).exif).toBeUndefined();
      expect(hasExifBytes(bytes)).toBe(false);
    }

    const created = await stack.gql<{ createPost: { id: string } }>(
      `mutation($input: CreatePostInput!) { createPost(input: $input) { id } }`,
      { input: { caption: 'S3 #bucket', mediaIds: [media.id] } },
      { token: ada.token },
    );
    expect(created.errors).toBeUndefined();
    await stack.gql(
      `mutation($id: ID!) { deletePost(id: $id) { deletedPostId } }`,
      { id: created.data!.createPost.id },
      { token: ada.token },
    );
    await stack.janitor();
    for (const k of keys) expect(await stack.app.storage.exists(k)).toBe(false);
  });

  it('takes a direct upload with a presigned PUT to the bucket', async () => {
    const bytes = await png(640, 480);
    const t = await stack.gql<{ createUpload: { uploadId: string; url: string } }>(
      `mutation($input: CreateUploadInput!) { createUpload(input: $input) { uploadId url } }`,
      { input: { filename: 'p.png', contentType: 'image/png', byteSize: bytes.length } },
      { token: ada.token },
    );
    expect(t.errors).toBeUndefined();
    const put = await fetch(t.data!.createUpload.url, {
      method: 'PUT',
      body: bytes,
      headers: { 'content-type': 'image/png' },
    });
    expect(put.status).toBe(200);
    const done = await stack.gql<{ completeUpload: { mimeType: string; width: number } }>(
      `mutation($id: ID!) { completeUpload(uploadId: $id) { mimeType width } }`,
      { id: t.data!.createUpload.uploadId },
      { token: ada.token },
    );
    expect(done.errors).toBeUndefined();
    expect(done.data!.completeUpload).toEqual({ mimeType: 'image/png', width: 640 });
    expect(await stack.app.storage.exists(`u/${t.data!.createUpload.uploadId}/original`)).toBe(
      false,
    );
  });

  it('signs the declared size into the URL; an object of another size fails completeUpload', async () => {
    const bytes = await png(320, 240);
    const t = await stack.gql<{ createUpload: { uploadId: string; url: string } }>(
      `mutation($input: CreateUploadInput!) { createUpload(input: $input) { uploadId url } }`,
      { input: { filename: 'p.png', contentType: 'image/png', byteSize: 10 } },
      { token: ada.token },
    );
    const { uploadId, url } = t.data!.createUpload;
    expect(new URL(url).searchParams.get('X-Amz-SignedHeaders')).toBe(
      'content-length;content-type;host',
    );
    // S3 and MinIO refuse this PUT (signature mismatch); s3rver checks no signature and
    // stores it, so completeUpload is what refuses it here.
    await fetch(url, { method: 'PUT', body: bytes, headers: { 'content-type': 'image/png' } });
    const done = await stack.gql(
      `mutation($id: ID!) { completeUpload(uploadId: $id) { id } }`,
      { id: uploadId },
      { token: ada.token },
    );
    expect(done.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const rows = await stack.iso.query<{ status: string }>(
      `SELECT status FROM posts.media WHERE id = $1`,
      [uploadId],
    );
    expect(rows).toEqual([{ status: 'FAILED' }]);
    expect(await stack.app.storage.exists(`u/${uploadId}/original`)).toBe(false);
  });

  it('compares a multipart upload with the declared size before processing it', async () => {
    const MB = 1024 * 1024;
    const declared = 5 * MB + 100;
    const t = await stack.gql<{
      createUpload: { uploadId: string; parts: { partNumber: number; url: string }[] };
    }>(
      `mutation($input: CreateUploadInput!) {
        createUpload(input: $input) { uploadId parts { partNumber url } }
      }`,
      { input: { filename: 'v.mp4', contentType: 'video/mp4', byteSize: declared } },
      { token: ada.token },
    );
    const { uploadId, parts } = t.data!.createUpload;
    expect(parts).toHaveLength(2);
    for (const p of parts)
      expect(new URL(p.url).searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;host');
    // The last part is 4,900 bytes longer than its share (s3rver does not check).
    const bodies = [Buffer.alloc(5 * MB, 1), Buffer.alloc(5000, 2)];
    const etags = [];
    for (const p of parts) {
      const res = await fetch(p.url, { method: 'PUT', body: bodies[p.partNumber - 1] });
      expect(res.status).toBe(200);
      etags.push({ partNumber: p.partNumber, etag: res.headers.get('etag')! });
    }
    const done = await stack.gql(
      `mutation($id: ID!, $parts: [CompletedPartInput!]) {
        completeUpload(uploadId: $id, parts: $parts) { id }
      }`,
      { id: uploadId, parts: etags },
      { token: ada.token },
    );
    expect(done.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const rows = await stack.iso.query<{ status: string }>(
      `SELECT status FROM posts.media WHERE id = $1`,
      [uploadId],
    );
    expect(rows).toEqual([{ status: 'FAILED' }]);
    expect(await stack.app.storage.exists(`u/${uploadId}/original`)).toBe(false);
  });

  it('sweeps a late PUT to a completed upload and never makes an upload key public', async () => {
    const bytes = await png(320, 240);
    const t = await stack.gql<{ createUpload: { uploadId: string; url: string } }>(
      `mutation($input: CreateUploadInput!) { createUpload(input: $input) { uploadId url } }`,
      { input: { filename: 'p.png', contentType: 'image/png', byteSize: bytes.length } },
      { token: ada.token },
    );
    const { uploadId, url } = t.data!.createUpload;
    const send = () =>
      fetch(url, { method: 'PUT', body: bytes, headers: { 'content-type': 'image/png' } });
    expect((await send()).status).toBe(200);
    const done = await stack.gql(
      `mutation($id: ID!) { completeUpload(uploadId: $id) { id } }`,
      { id: uploadId },
      { token: ada.token },
    );
    expect(done.errors).toBeUndefined();
    // A presigned S3 PUT cannot be revoked: the late copy lands, and the janitor removes it.
    expect((await send()).status).toBe(200);
    const key = `u/${uploadId}/original`;
    expect(await stack.app.storage.exists(key)).toBe(true);
    expect(() => stack.app.storage.publicUrl(key)).toThrow(/Invalid object key/);
    const pass = await stack.janitor();
    expect(pass.strayUploads).toBe(1);
    expect(await stack.app.storage.exists(key)).toBe(false);
  });
});
