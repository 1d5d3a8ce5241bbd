// The ObjectStorage contract, run against every backend: the filesystem, S3Storage on a
// real S3-protocol server started here (s3rver), and MinIO when MINIO_ENDPOINT is set.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { presignSignatureV4 } from 'minio/dist/esm/signing.mjs';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config.js';
import { FsStorage } from '../src/storage/fs-storage.js';
import { S3Storage } from '../src/storage/s3-storage.js';
import { createStorage, s3StorageOptions } from '../src/storage/create-storage.js';
import { registerMediaFileRoutes } from '../src/storage/file-route.js';
import { ObjectNotFound } from '../src/storage/keys.js';
import { expiryFor, signMediaKey } from '../src/storage/media-url-signature.js';
import type { ObjectStorage } from '../src/storage/object-storage.js';
import { registerFsUploadRoutes } from '../src/uploads/put-route.js';
import { signUploadToken } from '../src/uploads/upload-token.js';

const MB = 1024 * 1024;
const cfg = parseConfig({
  NODE_ENV: 'test',
  LOG_LEVEL: 'silent',
  MEDIA_MAX_VIDEO_BYTES: String(20 * MB),
  MEDIA_MAX_IMAGE_BYTES: String(10 * MB),
});
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A stream of `size` pseudo-random bytes, produced lazily (never one buffer). */
function streamOf(size: number, seed: number): { stream: Readable; hash: () => string } {
  const h = createHash('sha256');
  let left = size;
  let n = seed;
  const stream = new Readable({
    read() {
      if (left === 0) return void this.push(null);
      const len = Math.min(left, 256 * 1024);
      const b = Buffer.alloc(len, n++ & 0xff);
      b.writeUInt32LE(n, 0);
      left -= len;
      h.update(b);
      this.push(b);
    },
  });
  return { stream, hash: () => h.digest('hex') };
}

interface Backend {
  name: string;
  storage: ObjectStorage;
  close(): Promise<void>;
}

// The fs backend needs Mosaic's own routes listening: an app on an ephemeral port.
async function fsBackend(): Promise<
  Backend & { app: FastifyInstance; base: string; root: string }
> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'mosaic-fs-'));
  const app = Fastify();
  let base = '';
  const storage = new FsStorage({
    root,
    publicBaseUrl: 'http://placeholder',
    presign: (t, exp) =>
      `${base}/v1/uploads/${signUploadToken(cfg.INTERNAL_SIGNING_SECRET, t, exp)}`,
    signMedia: (key, exp) => signMediaKey(cfg.INTERNAL_SIGNING_SECRET, key, exp),
  });
  await storage.init();
  // The storage contract alone: no media rows behind these uploads, every token is open.
  registerFsUploadRoutes(app, storage, cfg, async () => null);
  registerMediaFileRoutes(app, storage);
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  (storage as unknown as { opts: { publicBaseUrl: string } }).opts.publicBaseUrl = base;
  return {
    name: 'fs',
    storage,
    app,
    base,
    root,
    async close() {
      await app.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

async function s3rverBackend(): Promise<Backend> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mosaic-s3rver-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', directory: dir, silent: true });
  const { port } = await server.run();
  // createStorage: the bucket does not exist yet and must be created.
  const storage = await createStorage(
    parseConfig({
      NODE_ENV: 'test',
      MINIO_ENDPOINT: `http://127.0.0.1:${port}`,
      MINIO_ACCESS_KEY: 'S3RVER',
      MINIO_SECRET_KEY: 'S3RVER',
      MINIO_BUCKET: `mosaic-test-${randomBytes(4).toString('hex')}`,
    }),
  );
  return {
    name: 's3rver',
    storage,
    async close() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function minioBackend(): Promise<Backend> {
  const storage = await createStorage(
    parseConfig({ ...process.env, MINIO_BUCKET: `mosaic-test-${randomBytes(4).toString('hex')}` }),
  );
  return { name: 'minio', storage, close: async () => {} };
}

const backends: [string, () => Promise<Backend>, boolean][] = [
  ['fs', fsBackend, true],
  ['s3rver', s3rverBackend, true],
  ['minio', minioBackend, Boolean(process.env.MINIO_ENDPOINT)],
];
if (!process.env.MINIO_ENDPOINT) {
  console.info('storage-contract: MinIO tests skipped (set MINIO_ENDPOINT to run them)');
}

describe.each(backends)('ObjectStorage contract: %s', (_name, start, enabled) => {
  let b: Backend;
  beforeAll(async () => {
    if (enabled) b = await start();
  });
  afterAll(async () => {
    await b?.close();
  });

  it.runIf(enabled)('puts, reads, checks and deletes objects', async () => {
    const s = b.storage;
    const body = randomBytes(1000);
    await s.put('a/b/one.png', body, { contentType: 'image/png', size: body.length });
    expect(await s.exists('a/b/one.png')).toBe(true);
    expect(sha(await readAll(await s.openRead('a/b/one.png')))).toBe(sha(body));
    await s.delete(['a/b/one.png', 'a/b/never-existed.png']);
    expect(await s.exists('a/b/one.png')).toBe(false);
    await expect(s.openRead('a/b/one.png')).rejects.toBeInstanceOf(ObjectNotFound);
    await s.delete([]);
  });

  it.runIf(enabled)('refuses keys that could escape the store', async () => {
    for (const key of ['../etc/passwd', '/abs.png', 'a//b.png', 'a/../b.png', '.tmp/x', '']) {
      await expect(
        b.storage.put(key, Buffer.from('x'), { contentType: 'text/plain' }),
      ).rejects.toThrow(/Invalid object key/);
    }
  });

  it.runIf(enabled)('streams a 12 MB object of unknown size (multipart on S3)', async () => {
    const src = streamOf(12 * MB, 7);
    await b.storage.put('big/stream.mp4', src.stream, { contentType: 'video/mp4' });
    const back = createHash('sha256');
    let n = 0;
    for await (const c of await b.storage.openRead('big/stream.mp4')) {
      back.update(c as Buffer);
      n += (c as Buffer).length;
    }
    expect(n).toBe(12 * MB);
    expect(back.digest('hex')).toBe(src.hash());
  });

  it.runIf(enabled)('accepts a PUT to a presigned URL', async () => {
    const body = randomBytes(4096);
    const url = await b.storage.presignPut(
      'direct/one.jpg',
      { contentType: 'image/jpeg', size: body.length },
      300,
    );
    const res = await fetch(url, {
      method: 'PUT',
      body,
      headers: { 'content-type': 'image/jpeg' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBeTruthy();
    expect(sha(await readAll(await b.storage.openRead('direct/one.jpg')))).toBe(sha(body));
    expect(await b.storage.size('direct/one.jpg')).toBe(4096);
    expect(await b.storage.size('direct/none.jpg')).toBeNull();
  });

  it.runIf(enabled)('assembles a multipart upload from PUTs to presigned part URLs', async () => {
    const s = b.storage;
    const parts = [randomBytes(5 * MB), randomBytes(MB + 17)];
    const uploadId = await s.startMultipart('multi/video.mp4', 'video/mp4');
    // Upload out of order: the part numbers, not the arrival order, decide.
    const etags: { partNumber: number; etag: string }[] = [];
    for (const i of [1, 0]) {
      const url = await s.presignPart('multi/video.mp4', uploadId, i + 1, parts[i]!.length, 300);
      const res = await fetch(url, { method: 'PUT', body: parts[i] });
      expect(res.status).toBe(200);
      etags[i] = { partNumber: i + 1, etag: res.headers.get('etag')! };
    }
    expect(await s.exists('multi/video.mp4')).toBe(false);
    // s3rver does not implement ListParts: null there, the sizes elsewhere.
    const sizes = await s.partSizes('multi/video.mp4', uploadId);
    if (sizes)
      expect([...sizes].sort()).toEqual([
        [1, 5 * MB],
        [2, MB + 17],
      ]);
    else expect(_name).toBe('s3rver');
    await s.completeMultipart('multi/video.mp4', uploadId, etags);
    const back = await readAll(await s.openRead('multi/video.mp4'));
    expect(sha(back)).toBe(sha(Buffer.concat(parts)));
  });

  // s3rver answers AbortMultipartUpload with 405 (not implemented there).
  it.runIf(enabled && _name !== 's3rver')('aborts a multipart upload', async () => {
    const s = b.storage;
    const uploadId = await s.startMultipart('multi/aborted.mp4', 'video/mp4');
    const url = await s.presignPart('multi/aborted.mp4', uploadId, 1, 1024, 300);
    expect((await fetch(url, { method: 'PUT', body: randomBytes(1024) })).status).toBe(200);
    await s.abortMultipart('multi/aborted.mp4', uploadId);
    await expect(
      s.completeMultipart('multi/aborted.mp4', uploadId, [{ partNumber: 1, etag: '"x"' }]),
    ).rejects.toThrow();
    expect(await s.exists('multi/aborted.mp4')).toBe(false);
  });

  it.runIf(enabled)('serves objects at their public URL', async () => {
    const body = randomBytes(2048);
    await b.storage.put('pub/x.webp', body, { contentType: 'image/webp' });
    const url = b.storage.publicUrl('pub/x.webp');
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(sha(Buffer.from(await res.arrayBuffer()))).toBe(sha(body));
    if (b.storage instanceof S3Storage) {
      // publicUrl must be synchronous, so S3Storage signs GETs itself (SigV4). s3rver does
      // not check V4 signatures, so compare with the minio client's own presigning.
      expect(url).toMatch(/X-Amz-Signature=[0-9a-f]{64}$/);
      const date = new Date('2026-03-04T05:06:07Z');
      const ours = new URL(b.storage.presignGet('pub/x.webp', 3600, date));
      const theirs = new URL(
        await b.storage.client.presignedGetObject(b.storage.bucket, 'pub/x.webp', 3600, {}, date),
      );
      expect(ours.origin + ours.pathname).toBe(theirs.origin + theirs.pathname);
      const params = (u: URL) => Object.fromEntries([...u.searchParams].sort());
      expect(params(ours)).toEqual(params(theirs));
    }
  });

  it.runIf(enabled && _name !== 'fs')(
    'signs Content-Length and Content-Type into presigned PUTs (parts: Content-Length)',
    async () => {
      const s = b.storage as S3Storage;
      const date = new Date('2026-03-04T05:06:07Z');
      const host = new URL(s.publicUrl('pub/x.webp')).host;
      // The minio client's presigner leaves content-length and content-type out of the
      // signed headers (by lower-case name); given them capitalised it signs them, which
      // makes it an independent check of ours.
      const minioSigned = (path: string, headers: Record<string, string>) =>
        presignSignatureV4(
          { method: 'PUT', protocol: 'http:', path, headers: { host, ...headers } },
          'S3RVER',
          'S3RVER',
          undefined,
          'us-east-1',
          date,
          600,
        );
      const params = (u: string) => Object.fromEntries([...new URL(u).searchParams].sort());
      const put = s.presign('PUT', 'u/9/original', 600, date, {
        headers: { 'content-length': '6345', 'content-type': 'image/png' },
      });
      expect(new URL(put).searchParams.get('X-Amz-SignedHeaders')).toBe(
        'content-length;content-type;host',
      );
      expect(params(put)).toEqual(
        params(
          minioSigned(`/${s.bucket}/u/9/original`, {
            'Content-Length': '6345',
            'Content-Type': 'image/png',
          }),
        ),
      );
      const part = s.presign('PUT', 'u/9/original', 600, date, {
        query: { partNumber: '2', uploadId: 'abc' },
        headers: { 'content-length': '1000' },
      });
      expect(params(part)).toEqual(
        params(
          minioSigned(`/${s.bucket}/u/9/original?partNumber=2&uploadId=abc`, {
            'Content-Length': '1000',
          }),
        ),
      );
      // What createUpload hands out carries them too.
      const url = await s.presignPut('u/9/original', { contentType: 'image/png', size: 10 }, 60);
      expect(new URL(url).searchParams.get('X-Amz-SignedHeaders')).toBe(
        'content-length;content-type;host',
      );
      const partUrl = await s.presignPart('u/9/original', 'abc', 1, 10, 60);
      expect(new URL(partUrl).searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;host');
    },
  );
});

describe('filesystem storage specifics', () => {
  let fsb: Awaited<ReturnType<typeof fsBackend>>;
  beforeAll(async () => {
    fsb = await fsBackend();
  });
  afterAll(async () => {
    await fsb.close();
  });
  const put = (token: string, body: Buffer | string) =>
    fetch(`${fsb.base}/v1/uploads/${token}`, { method: 'PUT', body });

  it('createStorage picks the filesystem by default and creates its directory', async () => {
    const dir = path.join(os.tmpdir(), `mosaic-create-${randomBytes(4).toString('hex')}`, 'media');
    const s = await createStorage(parseConfig({ NODE_ENV: 'test', STORAGE_DIR: dir }));
    expect(s.kind).toBe('fs');
    expect(s.publicUrl('m/1/w320.jpg')).toBe('http://127.0.0.1:4000/media/m/1/w320.jpg');
    // Upload originals never get a public URL.
    expect(() => s.publicUrl('u/1/original')).toThrow(/Invalid object key/);
    expect(await s.presignPut('u/1.jpg', { contentType: 'image/jpeg', size: 10 }, 60)).toMatch(
      /^http:\/\/127\.0\.0\.1:4000\/v1\/uploads\/[\w-]+\.[\w-]+$/,
    );
    expect((await readdir(dir)).sort()).toEqual(['.multipart', '.tmp']);
    await rm(path.dirname(dir), { recursive: true, force: true });
  });

  it('rejects a tampered upload token with 403 and an expired one with 401', async () => {
    const secret = cfg.INTERNAL_SIGNING_SECRET;
    const target = { key: 'tok/a.jpg', contentType: 'image/jpeg', size: 1 };
    const good = signUploadToken(secret, target, 60);
    const [body, sig] = good.split('.') as [string, string];
    const forged = Buffer.from(
      JSON.stringify({ k: 'tok/other.jpg', c: '', n: 1, e: 9e9 }),
    ).toString('base64url');
    // A signed token without a size (as minted before sizes were bound) takes nothing.
    const signingKey = createHmac('sha256', secret).update('mosaic:upload-token:v1').digest();
    const mac = (b: string) => createHmac('sha256', signingKey).update(b).digest('base64url');
    const sizeless = Buffer.from(JSON.stringify({ k: 'tok/a.jpg', c: '', e: 9e9 })).toString(
      'base64url',
    );
    const tampered = [
      `${forged}.${sig}`,
      `${body}.${sig.slice(0, -2)}AA`,
      'garbage',
      `${body}.`,
      `${sizeless}.${mac(sizeless)}`,
    ];
    for (const t of tampered) {
      const res = await put(t, 'x');
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ code: 'FORBIDDEN' });
    }
    const expired = signUploadToken(secret, target, 60, Date.now() - 120_000);
    const res = await put(expired, 'x');
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
    // Another deployment's secret does not work either.
    const foreign = signUploadToken('x'.repeat(40), target, 60);
    expect((await put(foreign, 'x')).status).toBe(403);
    expect(await fsb.storage.exists('tok/a.jpg')).toBe(false);
    expect(await fsb.storage.exists('tok/other.jpg')).toBe(false);
  });

  it('takes exactly the signed size and type: 413 past it, 400 short of it, 415 off type', async () => {
    const url = await fsb.storage.presignPut(
      'big/exact.mp4',
      { contentType: 'video/mp4', size: 1000 },
      60,
    );
    const send = (body: Buffer, type = 'video/mp4') =>
      fetch(url, { method: 'PUT', body, headers: { 'content-type': type } });
    const over = await send(Buffer.alloc(21 * MB));
    expect(over.status).toBe(413);
    expect(await over.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect((await send(Buffer.alloc(1001))).status).toBe(413);
    const short = await send(Buffer.alloc(999));
    expect(short.status).toBe(400);
    expect(await short.json()).toMatchObject({ code: 'BAD_USER_INPUT' });
    const offType = await send(Buffer.alloc(1000), 'text/html');
    expect(offType.status).toBe(415);
    expect(await offType.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
    // A body without a Content-Length (chunked) is cut off as soon as it passes the size.
    const chunked = await fetch(url, {
      method: 'PUT',
      body: Readable.toWeb(streamOf(21 * MB, 3).stream),
      headers: { 'content-type': 'video/mp4' },
      duplex: 'half',
    }).catch((e: unknown) => e);
    // Either the 413 arrives, or the server closed the connection before the client read it.
    if (chunked instanceof Response) expect(chunked.status).toBe(413);
    else expect(chunked).toBeInstanceOf(Error);
    // ...and one that ends short of it is refused whole.
    const shortChunked = await fetch(url, {
      method: 'PUT',
      body: Readable.toWeb(Readable.from([Buffer.alloc(600)])),
      headers: { 'content-type': 'video/mp4' },
      duplex: 'half',
    });
    expect(shortChunked.status).toBe(400);
    expect(await fsb.storage.exists('big/exact.mp4')).toBe(false);
    expect(await readdir(path.join(fsb.root, '.tmp'))).toEqual([]);
    expect((await send(Buffer.alloc(1000))).status).toBe(200);
    expect(await fsb.storage.size('big/exact.mp4')).toBe(1000);
  });

  it('takes exactly the signed size for a part', async () => {
    const s = fsb.storage;
    const uploadId = await s.startMultipart('multi/exact.mp4', 'video/mp4');
    const url = await s.presignPart('multi/exact.mp4', uploadId, 1, 2048, 60);
    const over = await fetch(url, { method: 'PUT', body: Buffer.alloc(2049) });
    expect(over.status).toBe(413);
    expect((await fetch(url, { method: 'PUT', body: Buffer.alloc(2047) })).status).toBe(400);
    expect(await s.partSizes('multi/exact.mp4', uploadId)).toEqual(new Map());
    expect((await fetch(url, { method: 'PUT', body: Buffer.alloc(2048) })).status).toBe(200);
    expect(await s.partSizes('multi/exact.mp4', uploadId)).toEqual(new Map([[1, 2048]]));
  });

  it('serves files with ETag, immutable caching and range requests', async () => {
    const body = randomBytes(10_000);
    await fsb.storage.put('media/r/clip.mp4', body, { contentType: 'video/mp4' });
    const url = fsb.storage.publicUrl('media/r/clip.mp4');

    const full = await fetch(url);
    expect(full.status).toBe(200);
    expect(full.headers.get('content-type')).toBe('video/mp4');
    expect(full.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(full.headers.get('accept-ranges')).toBe('bytes');
    expect(full.headers.get('content-length')).toBe('10000');
    const etag = full.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    expect(sha(Buffer.from(await full.arrayBuffer()))).toBe(sha(body));

    const notModified = await fetch(url, { headers: { 'if-none-match': etag } });
    expect(notModified.status).toBe(304);

    const part = await fetch(url, { headers: { range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 100-199/10000');
    expect(Buffer.from(await part.arrayBuffer()).equals(body.subarray(100, 200))).toBe(true);

    const open = await fetch(url, { headers: { range: 'bytes=9990-' } });
    expect(open.status).toBe(206);
    expect(Buffer.from(await open.arrayBuffer()).equals(body.subarray(9990))).toBe(true);

    const suffix = await fetch(url, { headers: { range: 'bytes=-10' } });
    expect(suffix.headers.get('content-range')).toBe('bytes 9990-9999/10000');
    expect(Buffer.from(await suffix.arrayBuffer()).equals(body.subarray(9990))).toBe(true);

    const bad = await fetch(url, { headers: { range: 'bytes=20000-' } });
    expect(bad.status).toBe(416);
    expect(bad.headers.get('content-range')).toBe('bytes */10000');

    // A stale If-Range means "send it all".
    const stale = await fetch(url, { headers: { range: 'bytes=0-9', 'if-range': '"old"' } });
    expect(stale.status).toBe(200);
    await stale.arrayBuffer();

    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('10000');
    expect(head.headers.get('etag')).toBe(etag);
  });

  it('never serves an upload original, even when the file exists', async () => {
    await fsb.storage.put('u/42/original', Buffer.from('raw client bytes'), {
      contentType: 'image/jpeg',
    });
    for (const p of ['/media/u/42/original', '/media/u%2F42%2Foriginal']) {
      const res = await fetch(`${fsb.base}${p}`);
      expect(res.status, p).toBe(404);
      expect(await res.json()).toMatchObject({ code: 'NOT_FOUND' });
    }
  });

  it('answers 404 for missing files, traversal attempts and internal directories', async () => {
    for (const p of [
      '/media/nope/x.jpg',
      '/media/..%2F..%2Fetc%2Fpasswd',
      '/media/.tmp/x',
      '/media/a/../b',
    ]) {
      const res = await fetch(`${fsb.base}${p}`);
      expect(res.status, p).toBe(404);
      await res.arrayBuffer();
    }
  });
});

// Private accounts' media: only expiring signed URLs serve it (the post service decides who
// is private by asking graph; here a fixed rule stands in for that answer).
describe('expiring media URLs', () => {
  let root: string;
  let app: FastifyInstance;
  let storage: FsStorage;
  const secret = cfg.INTERNAL_SIGNING_SECRET;
  const isPrivate = async (key: string) => key.startsWith('m/9/');
  const body = randomBytes(4096);

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'mosaic-signed-'));
    app = Fastify();
    storage = new FsStorage({
      root,
      publicBaseUrl: 'http://placeholder',
      presign: () => '',
      signMedia: (key, exp) => signMediaKey(secret, key, exp),
    });
    await storage.init();
    registerMediaFileRoutes(app, storage, { secret, isPrivate });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    (storage as unknown as { opts: { publicBaseUrl: string } }).opts.publicBaseUrl = base;
    await storage.put('m/9/w640.jpg', body, { contentType: 'image/jpeg' });
    await storage.put('m/8/w640.jpg', body, { contentType: 'image/jpeg' });
  });
  afterAll(async () => {
    await app.close();
    await rm(root, { recursive: true, force: true });
  });

  it('serves private media only with a valid, unexpired signature, privately cached', async () => {
    const unsigned = await fetch(storage.publicUrl('m/9/w640.jpg'));
    expect(unsigned.status).toBe(404);
    expect(await unsigned.json()).toMatchObject({ code: 'NOT_FOUND' });

    const exp = expiryFor(600);
    const url = storage.expiringUrl('m/9/w640.jpg', exp);
    expect(url).toMatch(/\/media\/m\/9\/w640\.jpg\?exp=\d+&sig=[A-Za-z0-9_-]{43}$/);
    // The same URL for the whole window: clients and caches can reuse it.
    expect(storage.expiringUrl('m/9/w640.jpg', expiryFor(600))).toBe(url);
    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(sha(Buffer.from(await ok.arrayBuffer()))).toBe(sha(body));
    const maxAge = Number(/^private, max-age=(\d+)$/.exec(ok.headers.get('cache-control')!)?.[1]);
    expect(maxAge).toBeGreaterThanOrEqual(600 - 5);
    expect(maxAge).toBeLessThanOrEqual(600 + 300);
  });

  it('refuses an expired link, a forged or moved signature and a missing half', async () => {
    const past = Math.floor(Date.now() / 1000) - 1;
    const expired = storage.expiringUrl('m/9/w640.jpg', past);
    const res = await fetch(expired);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: 'FORBIDDEN' });

    const good = new URL(storage.expiringUrl('m/9/w640.jpg', expiryFor(600)));
    const sig = good.searchParams.get('sig')!;
    const exp = good.searchParams.get('exp')!;
    const variants = [
      // a later expiry with the old signature
      `${good.origin}${good.pathname}?exp=${Number(exp) + 300}&sig=${sig}`,
      // the signature of one object on another object of the same account
      `${good.origin}/media/m/9/other.jpg?exp=${exp}&sig=${sig}`,
      // one flipped character
      `${good.origin}${good.pathname}?exp=${exp}&sig=${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`,
      `${good.origin}${good.pathname}?exp=${exp}`,
      `${good.origin}${good.pathname}?sig=${sig}`,
      `${good.origin}${good.pathname}?exp=1e12&sig=${sig}`,
    ];
    for (const u of variants) {
      const r = await fetch(u);
      expect(r.status, u).toBe(404);
      await r.arrayBuffer();
    }
  });

  it('keeps public media at its immutable URL, and a signed URL works for it too', async () => {
    const pub = await fetch(storage.publicUrl('m/8/w640.jpg'));
    expect(pub.status).toBe(200);
    expect(pub.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    await pub.arrayBuffer();
    const signed = await fetch(storage.expiringUrl('m/8/w640.jpg', expiryFor(600)));
    expect(signed.status).toBe(200);
    await signed.arrayBuffer();
  });
});

describe('expiring media URLs on S3', () => {
  it('presigns GETs that expire at the given time, identical within a window', async () => {
    const s3 = new S3Storage({
      endpoint: 'http://127.0.0.1:9',
      accessKey: 'AK',
      secretKey: 'SK',
      bucket: 'b',
      region: 'us-east-1',
      publicBaseUrl: 'https://cdn.example.com',
    });
    const exp = expiryFor(600);
    const url = new URL(s3.expiringUrl('m/9/w640.jpg', exp));
    // Never the public (CDN) base: a private object is only reachable presigned.
    expect(url.origin).toBe('http://127.0.0.1:9');
    const date = url.searchParams.get('X-Amz-Date')!;
    const signedAt = Date.parse(
      `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
    );
    expect(signedAt / 1000 + Number(url.searchParams.get('X-Amz-Expires'))).toBe(exp);
    expect(s3.expiringUrl('m/9/w640.jpg', expiryFor(600))).toBe(url.toString());
    expect(() => s3.expiringUrl('u/1/original', exp)).toThrow(/Invalid object key/);
  });
});

// MINIO_PRESIGN_BASE_URL (compose: lb's /objects/): presigned URLs signed for MinIO's own
// host and path, handed out under the proxy's base.
describe('presigned URLs under a proxy base (MINIO_PRESIGN_BASE_URL)', () => {
  const opts = {
    endpoint: 'http://minio:9000',
    accessKey: 'mosaic-app',
    secretKey: 'app-secret',
    bucket: 'mosaic-media',
    region: 'us-east-1',
  };
  const proxied = new S3Storage({ ...opts, presignBaseUrl: 'https://mosaic.example.com/objects/' });
  const direct = new S3Storage(opts);
  const date = new Date('2026-03-04T05:06:07Z');
  const params = (u: string | URL) => Object.fromEntries([...new URL(u).searchParams].sort());
  /** Where the proxy sends a request for `url`: MinIO's host and /<bucket>/<key>, same query. */
  const unproxied = (url: string) => {
    const u = new URL(url);
    expect(u.origin + u.pathname.slice(0, '/objects/'.length)).toBe(
      'https://mosaic.example.com/objects/',
    );
    return `http://minio:9000/mosaic-media/${u.pathname.slice('/objects/'.length)}${u.search}`;
  };

  it('hands out <base>/<key>?X-Amz-... for GETs, PUTs and parts', async () => {
    const shapes: [string, RegExp][] = [
      [proxied.presignGet('m/7/w1080.jpg', 600, date), /^\/objects\/m\/7\/w1080\.jpg$/],
      [proxied.publicUrl('m/7/w320.webp'), /^\/objects\/m\/7\/w320\.webp$/],
      [proxied.expiringUrl('m/7/video.mp4', expiryFor(600)), /^\/objects\/m\/7\/video\.mp4$/],
      [
        await proxied.presignPut('u/7/original', { contentType: 'image/png', size: 10 }, 60),
        /^\/objects\/u\/7\/original$/,
      ],
      [await proxied.presignPart('u/7/original', 'up-1', 3, 10, 60), /^\/objects\/u\/7\/original$/],
    ];
    for (const [url, path] of shapes) {
      const u = new URL(url);
      expect(u.origin, url).toBe('https://mosaic.example.com');
      expect(u.pathname, url).toMatch(path);
      expect(url, url).toMatch(/&X-Amz-Signature=[0-9a-f]{64}$/);
    }
    const part = new URL(shapes[4]![0]);
    expect(part.searchParams.get('partNumber')).toBe('3');
    expect(part.searchParams.get('uploadId')).toBe('up-1');
    // Upload originals never get a GET URL, proxied or not.
    expect(() => proxied.expiringUrl('u/7/original', expiryFor(600))).toThrow(/Invalid object key/);
    expect(() => proxied.publicUrl('u/7/original')).toThrow(/Invalid object key/);
    expect(() => new S3Storage({ ...opts, presignBaseUrl: 'https://x.example/o?a=1' })).toThrow(
      /no query/,
    );
  });

  it('signs for MinIO itself: the minio client presigns the unproxied URL identically', async () => {
    // GET, with the signed Cache-Control override the storage puts on media URLs.
    const response = { 'response-cache-control': 'private, max-age=900' };
    const get = proxied.presignGet('m/7/w1080.jpg', 3600, date, response);
    const theirs = await direct.client.presignedGetObject(
      'mosaic-media',
      'm/7/w1080.jpg',
      3600,
      response,
      date,
    );
    expect(unproxied(get)).toBe(
      `${new URL(theirs).origin}${new URL(theirs).pathname}${new URL(get).search}`,
    );
    expect(params(get)).toEqual(params(theirs));
    // The same signature as without the base: only where the URL points differs.
    expect(unproxied(get)).toBe(direct.presignGet('m/7/w1080.jpg', 3600, date, response));
    // PUT and part PUT (content-length and content-type signed, as for createUpload).
    const minioSigned = (path: string, headers: Record<string, string>) =>
      presignSignatureV4(
        { method: 'PUT', protocol: 'http:', path, headers: { host: 'minio:9000', ...headers } },
        opts.accessKey,
        opts.secretKey,
        undefined,
        opts.region,
        date,
        600,
      );
    const put = proxied.presign('PUT', 'u/7/original', 600, date, {
      headers: { 'content-length': '6345', 'content-type': 'image/png' },
    });
    expect(params(put)).toEqual(
      params(
        minioSigned('/mosaic-media/u/7/original', {
          'Content-Length': '6345',
          'Content-Type': 'image/png',
        }),
      ),
    );
    expect(unproxied(put)).toBe(
      direct.presign('PUT', 'u/7/original', 600, date, {
        headers: { 'content-length': '6345', 'content-type': 'image/png' },
      }),
    );
    const part = proxied.presign('PUT', 'u/7/original', 600, date, {
      query: { partNumber: '2', uploadId: 'abc' },
      headers: { 'content-length': '1000' },
    });
    expect(params(part)).toEqual(
      params(
        minioSigned('/mosaic-media/u/7/original?partNumber=2&uploadId=abc', {
          'Content-Length': '1000',
        }),
      ),
    );
  });

  it('public URLs are stable for the UTC day and cacheable for a day; expiring ones privately', () => {
    const day = new Date();
    day.setUTCHours(0, 0, 0, 0);
    const pub = new URL(proxied.publicUrl('m/7/w320.webp'));
    expect(proxied.publicUrl('m/7/w320.webp')).toBe(pub.toString());
    expect(pub.searchParams.get('X-Amz-Date')).toBe(
      day
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d{3}/, ''),
    );
    // Valid until the end of the next UTC day: at least 24 hours after it is handed out.
    expect(pub.searchParams.get('X-Amz-Expires')).toBe(String(2 * 24 * 3600));
    expect(pub.searchParams.get('response-cache-control')).toBe('public, max-age=86400');

    const windowEnd = () => (Math.floor(Date.now() / 1000 / 300) + 1) * 300;
    const before = windowEnd();
    const exp = expiryFor(600);
    const priv = new URL(proxied.expiringUrl('m/7/w320.webp', exp));
    const after = windowEnd();
    const maxAge = Number(
      /^private, max-age=(\d+)$/.exec(priv.searchParams.get('response-cache-control')!)?.[1],
    );
    // Never cached past the expiry, even when fetched at the end of the URL's window.
    expect([exp - before, exp - after]).toContain(maxAge);
    expect(maxAge).toBeGreaterThanOrEqual(600 - 300);
  });

  it('createStorage reads MINIO_PRESIGN_BASE_URL', () => {
    const c = parseConfig({
      NODE_ENV: 'test',
      MINIO_ENDPOINT: 'http://minio:9000',
      MINIO_PRESIGN_BASE_URL: 'https://mosaic.example.com/objects',
    });
    const s = new S3Storage(s3StorageOptions(c, c.MINIO_ENDPOINT!));
    expect(s.presignGet('m/1/w320.jpg', 60, date)).toMatch(
      /^https:\/\/mosaic\.example\.com\/objects\/m\/1\/w320\.jpg\?X-Amz-Algorithm=/,
    );
    const unset = parseConfig({ NODE_ENV: 'test', MINIO_ENDPOINT: 'http://minio:9000' });
    expect(
      new S3Storage(s3StorageOptions(unset, 'http://minio:9000')).presignGet(
        'm/1/w320.jpg',
        60,
        date,
      ),
    ).toMatch(/^http:\/\/minio:9000\/mosaic-media\/m\/1\/w320\.jpg\?/);
  });
});
