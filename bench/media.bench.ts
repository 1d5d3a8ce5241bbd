// npm run bench media — image processing throughput of ingestMedia (filesystem storage in
// a temp dir) as a ratio to raw sharp doing the same resize work on the same images, in
// the same run: decode + orientation, the 1080/640/320 variants in the same output format
// and quality, and the blurhash's small raw resize. What the ratio prices is ingest's own
// overhead: streaming to a temp file, sniffing the type, the header check, storing.
// Rounds alternate (raw sharp, then ingest) so drift in machine speed hits both alike.
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { encode as encodeBlurhash } from 'blurhash';
import sharp from 'sharp';
import { parseConfig } from '../lib/config.js';
import { variantWidths } from '../subgraphs/post/src/media/image.js';
import { ingestMedia } from '../subgraphs/post/src/media/ingest.js';
import { mediaLimits } from '../subgraphs/post/src/media/spool.js';
import { FsStorage } from '../subgraphs/post/src/storage/fs-storage.js';
import { summarize, writeResults } from './support.js';

const ROUNDS = Number(process.env.BENCH_MEDIA_ROUNDS ?? 8);

interface Sample {
  name: string;
  file: string;
  format: 'jpeg' | 'png';
  width: number;
  bytes: number;
}

/** Photo-like content: smoothed noise (compresses like a photo, unlike pure noise). */
async function makeImages(dir: string): Promise<Sample[]> {
  const specs: { name: string; width: number; height: number; format: 'jpeg' | 'png' }[] = [
    { name: 'phone-12mp-a.jpg', width: 4032, height: 3024, format: 'jpeg' },
    { name: 'phone-12mp-b.jpg', width: 3024, height: 4032, format: 'jpeg' },
    { name: 'camera-8mp.jpg', width: 3264, height: 2448, format: 'jpeg' },
    { name: 'web-2mp.jpg', width: 1920, height: 1080, format: 'jpeg' },
    { name: 'screenshot.png', width: 1170, height: 2532, format: 'png' },
    { name: 'graphic.png', width: 1600, height: 1200, format: 'png' },
  ];
  const out: Sample[] = [];
  for (const [i, s] of specs.entries()) {
    const base = sharp({
      create: {
        width: s.width,
        height: s.height,
        channels: 3,
        background: '#000000',
        noise: { type: 'gaussian', mean: 110 + i * 10, sigma: 40 },
      },
    }).blur(1.2);
    const buf =
      s.format === 'jpeg'
        ? await base.jpeg({ quality: 90 }).toBuffer()
        : await base.png().toBuffer();
    const file = path.join(dir, s.name);
    await writeFile(file, buf);
    out.push({ name: s.name, file, format: s.format, width: s.width, bytes: buf.length });
  }
  return out;
}

/** The same image work ingestMedia does, with sharp alone. */
async function rawSharp(s: Sample): Promise<void> {
  const base = sharp(s.file, { failOn: 'warning' }).rotate();
  const outputs = await Promise.all(
    variantWidths(s.width).map((width) => {
      const p = base.clone().resize({ width, withoutEnlargement: true }).toColourspace('srgb');
      return (
        s.format === 'jpeg'
          ? p.flatten({ background: '#ffffff' }).jpeg({ quality: 82, progressive: true })
          : p.png()
      ).toBuffer();
    }),
  );
  const smallest = outputs.at(-1)!;
  const { data, info } = await sharp(smallest, { pages: 1 })
    .resize(32, 32, { fit: 'inside' })
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  encodeBlurhash(new Uint8ClampedArray(data), info.width, info.height, 4, 3);
}

export async function run(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mosaic-bench-media-'));
  try {
    const images = await makeImages(dir);
    const storage = new FsStorage({
      root: path.join(dir, 'store'),
      publicBaseUrl: 'http://127.0.0.1:4000',
      presign: () => '',
      signMedia: () => '',
    });
    await storage.init();
    const limits = mediaLimits(parseConfig({ NODE_ENV: 'test' }));

    // Warm-up (libvips caches, JIT) outside the measurement.
    for (const img of images) {
      await rawSharp(img);
      await ingestMedia(storage, createReadStream(img.file), {
        keyPrefix: 'warm/' + img.name.replace('.', '-'),
        limits,
      });
    }

    const rawMs: number[] = [];
    const ingestMs: number[] = [];
    let rawTotal = 0;
    let ingestTotal = 0;
    let n = 0;
    for (let r = 0; r < ROUNDS; r++) {
      for (const img of images) {
        let t = performance.now();
        await rawSharp(img);
        const a = performance.now() - t;
        rawMs.push(a);
        rawTotal += a;

        t = performance.now();
        const m = await ingestMedia(storage, createReadStream(img.file), {
          keyPrefix: `bench/${r}/${++n}`,
          limits,
        });
        const b = performance.now() - t;
        ingestMs.push(b);
        ingestTotal += b;
        await storage.delete(m.keys);
      }
    }

    const count = ROUNDS * images.length;
    const rawPerSec = count / (rawTotal / 1000);
    const ingestPerSec = count / (ingestTotal / 1000);
    const results = {
      images: images.map((i) => ({ name: i.name, width: i.width, bytes: i.bytes })),
      rounds: ROUNDS,
      processed: count,
      rawSharp: { imagesPerSecond: Math.round(rawPerSec * 100) / 100, latencyMs: summarize(rawMs) },
      ingestMedia: {
        imagesPerSecond: Math.round(ingestPerSec * 100) / 100,
        latencyMs: summarize(ingestMs),
      },
      /** ingestMedia throughput ÷ raw sharp throughput (1 = no overhead). */
      throughputRatio: Math.round((ingestPerSec / rawPerSec) * 1000) / 1000,
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    const file = await writeResults('media', results);
    console.log(
      `raw sharp ${results.rawSharp.imagesPerSecond} img/s, ingestMedia ${results.ingestMedia.imagesPerSecond} img/s, ratio ${results.throughputRatio} → ${file}`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
