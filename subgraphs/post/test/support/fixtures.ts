// Test media generated on the spot (sharp, ffmpeg), never downloaded.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { binaries } from '../../src/media/ffmpeg.js';

const run = promisify(execFile);

/** A JPEG with EXIF (camera, copyright and GPS position) and an orientation tag. */
export async function jpegWithGps(width = 1600, height = 1200, orientation = 1): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 80, b: 40 } } })
    .jpeg({ quality: 80 })
    .withExif({
      IFD0: { Make: 'TestCam', Copyright: 'secret owner' },
      IFD3: {
        GPSLatitudeRef: 'N',
        GPSLatitude: '51/1 30/1 2650/100',
        GPSLongitudeRef: 'W',
        GPSLongitude: '0/1 7/1 3960/100',
      },
    })
    .withMetadata({ orientation })
    .toBuffer();
}

export async function png(width = 500, height = 300): Promise<Buffer> {
  return sharp({
    create: { width, height, channels: 4, background: { r: 0, g: 90, b: 200, alpha: 1 } },
  })
    .png()
    .toBuffer();
}

/** Random pixels compress badly: a PNG of about width*height*3 bytes. */
export async function noisePng(width: number, height: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 2654435761) >>> 24;
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 0 })
    .toBuffer();
}

/** A short H.264 MP4 test pattern (with noise: hundreds of KB rather than a few). */
export async function mp4(seconds = 1, size = '320x240', noise = false): Promise<Buffer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mosaic-fixture-'));
  try {
    const out = path.join(dir, 'clip.mp4');
    await run(binaries().ffmpeg, [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      `testsrc=size=${size}:rate=15${noise ? ',noise=alls=40:allf=t' : ''}`,
      '-t',
      String(seconds),
      '-pix_fmt',
      'yuv420p',
      '-c:v',
      'libx264',
      '-movflags',
      '+faststart',
      out,
    ]);
    return await readFile(out);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** True when the bytes carry an EXIF block (APP1 "Exif\0\0" in JPEG, eXIf chunk in PNG). */
export function hasExifBytes(buf: Buffer): boolean {
  return buf.includes(Buffer.from('Exif\0\0', 'latin1')) || buf.includes(Buffer.from('eXIf'));
}
