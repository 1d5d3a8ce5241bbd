// ingestMedia / ingestStoredObject on filesystem storage (and once on S3 via s3rver):
// type from the bytes, limits, decompression-bomb guard, metadata stripping, variants,
// HEIC conversion, video probing and posters — and nothing kept from a rejected upload.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import S3rver from 's3rver';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config.js';
import { variantWidths } from '../src/media/image.js';
import { ingestMedia, ingestStoredObject } from '../src/media/ingest.js';
import type { IngestedMedia } from '../src/media/processed.js';
import { mediaLimits, MediaRejected, type MediaLimits } from '../src/media/spool.js';
import { FsStorage } from '../src/storage/fs-storage.js';
import { createStorage } from '../src/storage/create-storage.js';
import type { ObjectStorage } from '../src/storage/object-storage.js';
import {
  animatedGif,
  clip,
  heic,
  jpeg,
  jpegWithExif,
  mp4WithMetadata,
  noisePng,
  png,
  pngClaiming,
  probeVideo,
  SECRET_LOCATION,
} from './media-fixtures.js';

const limits: MediaLimits = mediaLimits(parseConfig({ NODE_ENV: 'test' }));
let root: string;
let tmp: string;
let storage: FsStorage;
let n = 0;
const prefix = () => `media/test/${++n}`;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'mosaic-media-'));
  // A private TMPDIR: the test can see that ingest leaves no temp files behind.
  tmp = path.join(root, 'tmp');
  await import('node:fs/promises').then((f) => f.mkdir(tmp));
  process.env.TMPDIR = tmp;
  storage = new FsStorage({
    root: path.join(root, 'store'),
    publicBaseUrl: 'http://127.0.0.1:4000',
    presign: () => 'unused',
    signMedia: () => '',
  });
  await storage.init();
});
afterAll(async () => {
  delete process.env.TMPDIR;
  await rm(root, { recursive: true, force: true });
});

/** Every object file in the store (internal dirs excluded). */
async function storedFiles(): Promise<string[]> {
  const all = await readdir(storage.root, { recursive: true, withFileTypes: true });
  return all
    .filter((e) => e.isFile())
    .map((e) => path.relative(storage.root, path.join(e.parentPath, e.name)))
    .filter((p) => !p.startsWith('.'));
}

async function readObject(s: ObjectStorage, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await s.openRead(key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Feeds a buffer in 64 KB chunks, like a network stream. */
function streamOf(b: Buffer): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < b.length; i += 65536) yield b.subarray(i, i + 65536);
    })(),
  );
}

const ingest = (b: Buffer, l: MediaLimits = limits, declaredBytes?: number) =>
  ingestMedia(storage, streamOf(b), {
    keyPrefix: prefix(),
    limits: l,
    ...(declaredBytes === undefined ? {} : { declaredBytes }),
  });

async function rejection(p: Promise<unknown>): Promise<MediaRejected> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MediaRejected);
  return err as MediaRejected;
}

describe('rejections leave nothing behind', () => {
  let before: string[];
  beforeEach(async () => {
    before = await storedFiles();
  });
  const nothingLeft = async () => {
    expect(await storedFiles()).toEqual(before);
    // mosaic-bin-* is ffmpeg.ts's one-time executable copy of a non-executable binary, not a leftover.
    expect((await readdir(tmp)).filter((f) => !f.startsWith('mosaic-bin-'))).toEqual([]);
    expect(await readdir(path.join(storage.root, '.tmp'))).toEqual([]);
  };

  it('refuses a text file (whatever its name) as UNSUPPORTED_MEDIA_TYPE', async () => {
    for (const text of [
      Buffer.from('hello, not a photo\n'),
      Buffer.alloc(50_000, 'lorem ipsum '),
    ]) {
      const err = await rejection(ingest(text));
      expect(err.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect(err.message).toMatch(/JPEG, PNG, WebP, GIF or HEIC\/HEIF/);
    }
    expect((await rejection(ingest(Buffer.alloc(0)))).code).toBe('BAD_USER_INPUT');
    await nothingLeft();
  });

  it('refuses an oversize image as PAYLOAD_TOO_LARGE while streaming, and drains the source', async () => {
    const big = await noisePng(300, 300); // ~270 KB of incompressible pixels
    const small: MediaLimits = { ...limits, maxImageBytes: 100_000 };
    const source = streamOf(big);
    const err = await rejection(
      ingestMedia(storage, source, { keyPrefix: prefix(), limits: small }),
    );
    expect(err.code).toBe('PAYLOAD_TOO_LARGE');
    expect(err.message).toBe('Images are limited to 0.1 MB');
    // The rest of the source was consumed, not destroyed: an HTTP request can still be answered.
    await new Promise((r) => (source.readableEnded ? r(null) : source.once('end', r)));
    expect(source.destroyed && !source.readableEnded).toBe(false);
    // A declared size over the limit is refused before anything is written.
    const declared = await rejection(ingest(big, small, big.length));
    expect(declared.code).toBe('PAYLOAD_TOO_LARGE');
    await nothingLeft();
  });

  it('refuses an oversize video by the video limit', async () => {
    const mp4 = await clip('mp4', { seconds: 1 });
    const err = await rejection(ingest(mp4, { ...limits, maxVideoBytes: 10_000 }));
    expect(err.code).toBe('PAYLOAD_TOO_LARGE');
    expect(err.message).toMatch(/^Videos are limited to/);
    await nothingLeft();
  });

  it('refuses a pixel bomb from its header, before decoding', async () => {
    const bomb = await pngClaiming(20_000, 20_000);
    expect(bomb.length).toBeLessThan(20_000);
    const err = await rejection(ingest(bomb));
    expect(err.code).toBe('PAYLOAD_TOO_LARGE');
    expect(err.message).toMatch(/20000×20000; at most 50 megapixels/);
    // A real image over a (lowered) pixel limit, too.
    const real = await png(1200, 1000);
    expect((await rejection(ingest(real, { ...limits, maxPixels: 1_000_000 }))).code).toBe(
      'PAYLOAD_TOO_LARGE',
    );
    await nothingLeft();
  });

  it('refuses a truncated JPEG and a corrupt video as BAD_USER_INPUT', async () => {
    const full = await jpeg(800, 600);
    const err = await rejection(ingest(full.subarray(0, Math.floor(full.length * 0.6))));
    expect(err.code).toBe('BAD_USER_INPUT');
    expect(err.message).toMatch(/corrupt or truncated/);
    const mp4 = await clip('mp4', { seconds: 1 });
    const broken = Buffer.concat([mp4.subarray(0, 64), Buffer.alloc(5000, 7)]);
    expect((await rejection(ingest(broken))).code).toBe('BAD_USER_INPUT');
    await nothingLeft();
  });
});

describe('images', () => {
  it('applies the EXIF orientation and strips EXIF and GPS from every variant', async () => {
    // Stored 1600×800 (red left, blue right), orientation 6 = display rotated 90° clockwise.
    const src = await jpegWithExif(1600, 800, 6);
    const before = await sharp(src).metadata();
    expect(before.orientation).toBe(6);
    expect(before.exif?.includes(Buffer.from('MosaicCam'))).toBe(true);

    const m = await ingest(src);
    expect(m).toMatchObject({ type: 'IMAGE', mimeType: 'image/jpeg', width: 800, height: 1600 });
    expect(m.variants.map((v) => [v.width, v.height])).toEqual([
      [320, 640],
      [640, 1280],
      [800, 1600],
    ]);
    for (const v of m.variants) {
      const bytes = await readObject(storage, v.key);
      const meta = await sharp(bytes).metadata();
      expect(meta.format).toBe('jpeg');
      expect(meta.exif).toBeUndefined();
      expect(meta.xmp).toBeUndefined();
      expect(meta.orientation).toBeUndefined();
      for (const marker of ['Exif\0\0', 'MosaicCam', 'GPS']) {
        expect(bytes.includes(Buffer.from(marker, 'latin1')), marker).toBe(false);
      }
      // Rotated: the stored left (red) half is now on top.
      const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
      const px = (x: number, y: number) => [
        ...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3),
      ];
      expect(px(info.width / 2, 5)[0]).toBeGreaterThan(150); // red on top
      expect(px(info.width / 2, info.height - 5)[2]).toBeGreaterThan(150); // blue below
    }
    expect(m.blurhash).toMatch(/^[0-9A-Za-z#$%*+,-.:;=?@[\]^_{|}~]{20,}$/);
  });

  it('keeps a PNG a PNG (the bytes decide, not the name)', async () => {
    const m = await ingest(await png(1200, 900));
    expect(m.mimeType).toBe('image/png');
    expect(m.variants.map((v) => v.width)).toEqual([320, 640, 1080]);
    for (const v of m.variants) {
      expect(v.key).toMatch(/\.png$/);
      expect(v.mimeType).toBe('image/png');
      const bytes = await readObject(storage, v.key);
      expect(bytes.subarray(0, 8).equals(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]))).toBe(
        true,
      );
      expect(v.bytes).toBe(bytes.length);
    }
    expect(m.keys.sort()).toEqual(m.variants.map((v) => v.key).sort());
    expect(m.key).toBe(m.variants[2]!.key);
  });

  it('never upscales: a narrow image keeps its own width', async () => {
    expect(variantWidths(4000)).toEqual([1080, 640, 320]);
    expect(variantWidths(500)).toEqual([500, 320]);
    expect(variantWidths(200)).toEqual([200]);
    const mid = await ingest(await jpeg(500, 250));
    expect(mid.variants.map((v) => [v.width, v.height])).toEqual([
      [320, 160],
      [500, 250],
    ]);
    const tiny = await ingest(await jpeg(200, 100));
    expect(tiny.variants.map((v) => [v.width, v.height])).toEqual([[200, 100]]);
  });

  it('converts a HEIC photo to JPEG', async () => {
    const src = await heic(1280, 960);
    expect(src.toString('latin1', 4, 12)).toBe('ftypheic');
    const m = await ingest(src);
    expect(m).toMatchObject({ type: 'IMAGE', mimeType: 'image/jpeg', width: 1080, height: 810 });
    for (const v of m.variants) {
      expect(v.key).toMatch(/\.jpg$/);
      const bytes = await readObject(storage, v.key);
      const meta = await sharp(bytes).metadata();
      expect(meta.format).toBe('jpeg');
      const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
      const left = data.subarray((10 * info.width + 10) * 3);
      expect(left[0]).toBeGreaterThan(150); // the red half decoded as red
    }
  });

  it('keeps WebP as WebP and animated GIFs animated', async () => {
    const webp = await ingest(
      await sharp(await png(700, 400))
        .webp()
        .toBuffer(),
    );
    expect(webp.mimeType).toBe('image/webp');
    expect(webp.variants.map((v) => v.width)).toEqual([320, 640, 700]);
    const gif = await ingest(await animatedGif(400, 300, 5));
    expect(gif.mimeType).toBe('image/gif');
    expect(gif.variants.map((v) => [v.width, v.height])).toEqual([
      [320, 240],
      [400, 300],
    ]);
    const meta = await sharp(await readObject(storage, gif.variants[0]!.key)).metadata();
    expect(meta.format).toBe('gif');
    expect(meta.pages).toBe(5);
  });
});

describe('videos', () => {
  const expectVideo = async (m: IngestedMedia, mime: string, w: number, h: number) => {
    expect(m).toMatchObject({ type: 'VIDEO', mimeType: mime, width: w, height: h, variants: [] });
    expect(m.durationSeconds).toBeGreaterThan(1.5);
    expect(m.durationSeconds).toBeLessThan(2.5);
    expect(m.blurhash).toBeTruthy();
    expect(m.keys.sort()).toEqual([m.key, m.posterKey].sort());
    const poster = await sharp(await readObject(storage, m.posterKey!)).metadata();
    expect([poster.format, poster.width, poster.height]).toEqual(['jpeg', w, h]);
  };

  it('probes an MP4: duration, dimensions, poster; the streams are stored as they came', async () => {
    const src = await clip('mp4', { width: 320, height: 240 });
    const m = await ingest(src);
    await expectVideo(m, 'video/mp4', 320, 240);
    expect(m.key).toMatch(/\/video\.mp4$/);
    expect(m.bytes).toBe(src.length);
    // A remux, not the upload: same streams (copied, not re-encoded), no container tags.
    const stored = await probeVideo(await readObject(storage, m.key));
    expect(stored.streams.map((st) => st.codec_type)).toEqual(['video', 'audio']);
    expect(stored.format.tags?.encoder).toBeUndefined();
  });

  it('strips container and stream metadata from a video (location, title, dates, tracks)', async () => {
    const src = await mp4WithMetadata();
    const before = await probeVideo(src);
    // The fixture does carry what a phone writes.
    expect(before.format.tags).toMatchObject({
      location: `${SECRET_LOCATION}/`,
      'com.apple.quicktime.location.ISO6709': `${SECRET_LOCATION}+035.000/`,
      title: 'Secret title',
    });
    expect(before.streams.map((st) => st.codec_type)).toEqual(['video', 'audio', 'subtitle']);
    expect(src.includes(SECRET_LOCATION)).toBe(true);

    const m = await ingest(src);
    const bytes = await readObject(storage, m.key);
    const after = await probeVideo(bytes);
    const formatTags = Object.keys(after.format.tags ?? {});
    for (const tag of formatTags) expect(tag).not.toMatch(/location|title|creation_time|make|©/i);
    expect(after.streams.map((st) => st.codec_type)).toEqual(['video', 'audio']);
    for (const st of after.streams) {
      expect(st.tags?.title).toBeUndefined();
      expect(st.tags?.creation_time).toBeUndefined();
    }
    for (const secret of [
      SECRET_LOCATION,
      'Secret title',
      'Secret stream',
      'SecretPhone',
      'Secret subtitle',
    ])
      expect(bytes.includes(secret), secret).toBe(false);
    await expectVideo(m, 'video/mp4', 320, 240);
  });

  it('probes a WebM and a MOV', async () => {
    await expectVideo(
      await ingest(await clip('webm', { width: 352, height: 288 })),
      'video/webm',
      352,
      288,
    );
    await expectVideo(
      await ingest(await clip('mov', { width: 320, height: 240 })),
      'video/quicktime',
      320,
      240,
    );
  });

  it('honours rotation metadata (a portrait phone video), and keeps it when stripping', async () => {
    const m = await ingest(await clip('mp4', { width: 320, height: 240, rotate: 90 }));
    await expectVideo(m, 'video/mp4', 240, 320);
    const stored = await probeVideo(await readObject(storage, m.key));
    const video = stored.streams.find((st) => st.codec_type === 'video')!;
    const rotation = video.side_data_list?.find((d) => d.rotation !== undefined)?.rotation;
    expect(Math.abs(rotation ?? Number(video.tags?.rotate ?? 0))).toBe(90);
  });
});

describe('direct uploads (ingestStoredObject)', () => {
  it('ingests an uploaded object and removes the raw upload', async () => {
    await storage.put('uploads/u1', await png(400, 300), {
      contentType: 'application/octet-stream',
    });
    const m = await ingestStoredObject(storage, 'uploads/u1', { keyPrefix: prefix(), limits });
    expect(m.mimeType).toBe('image/png');
    expect(await storage.exists('uploads/u1')).toBe(false);
    for (const k of m.keys) expect(await storage.exists(k)).toBe(true);
  });

  it('rejects a missing or unacceptable upload and removes what was uploaded', async () => {
    const missing = await rejection(
      ingestStoredObject(storage, 'uploads/none', { keyPrefix: prefix(), limits }),
    );
    expect(missing.code).toBe('BAD_USER_INPUT');
    await storage.put('uploads/u2', Buffer.from('#!/bin/sh\necho pwned\n'), {
      contentType: 'image/jpeg',
    });
    const bad = await rejection(
      ingestStoredObject(storage, 'uploads/u2', { keyPrefix: prefix(), limits }),
    );
    expect(bad.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(await storage.exists('uploads/u2')).toBe(false);
  });
});

describe('on S3 storage (s3rver)', () => {
  let server: { close(): Promise<void> };
  let s3: ObjectStorage;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mosaic-s3rver-'));
    const srv = new S3rver({ port: 0, address: '127.0.0.1', directory: dir, silent: true });
    const { port } = await srv.run();
    server = srv;
    s3 = await createStorage(
      parseConfig({
        NODE_ENV: 'test',
        MINIO_ENDPOINT: `http://127.0.0.1:${port}`,
        MINIO_ACCESS_KEY: 'S3RVER',
        MINIO_SECRET_KEY: 'S3RVER',
      }),
    );
  });
  afterAll(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('stores variants and deletes them all on rejection', async () => {
    const m = await ingestMedia(s3, streamOf(await jpeg(900, 600)), {
      keyPrefix: 'media/s3/1',
      limits,
    });
    expect(m.variants.map((v) => v.width)).toEqual([320, 640, 900]);
    for (const k of m.keys) expect(await s3.exists(k)).toBe(true);
    const err = await rejection(
      ingestMedia(s3, streamOf(Buffer.from('nope')), { keyPrefix: 'media/s3/2', limits }),
    );
    expect(err.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(await s3.exists('media/s3/2/w320.jpg')).toBe(false);
  });
});
