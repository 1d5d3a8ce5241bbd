// Test media made on the spot with sharp and ffmpeg (nothing is downloaded): JPEGs with
// hand-written EXIF (orientation + GPS), pixel-bomb PNG headers, real HEIC files (an x265
// frame wrapped in a HEIF container) and short MP4/MOV/WebM clips.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { binaries, run } from '../src/media/ffmpeg.js';

/** A width×height image: left half red, right half blue, with a little noise so it compresses like a photo. */
export function twoToneRaw(width: number, height: number): Sharp {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const n = (x * 31 + y * 17) % 23;
      if (x < width / 2) data.set([220 + n, 20 + n, 20], i);
      else data.set([20, 20 + n, 220 + n], i);
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } });
}

export async function jpeg(width: number, height: number): Promise<Buffer> {
  return twoToneRaw(width, height).jpeg({ quality: 90 }).toBuffer();
}

export async function png(width: number, height: number): Promise<Buffer> {
  return twoToneRaw(width, height).png().toBuffer();
}

/** Random noise: incompressible, so the byte size is predictable. */
export async function noisePng(width: number, height: number): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (Math.random() * 256) | 0;
  return sharp(data, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

// ---- EXIF --------------------------------------------------------------------------------

/** A little-endian TIFF/EXIF block: IFD0 (Make, Orientation, GPS pointer) + a GPS IFD. */
function exifBlock(orientation: number): Buffer {
  const entries0 = 3;
  const ifd0Size = 2 + entries0 * 12 + 4;
  const makeOffset = 8 + ifd0Size; // "MosaicCam\0"
  const make = Buffer.from('MosaicCam\0', 'latin1');
  const gpsOffset = makeOffset + make.length;
  const gpsEntries = 4;
  const gpsIfdSize = 2 + gpsEntries * 12 + 4;
  const latOffset = gpsOffset + gpsIfdSize;
  const lonOffset = latOffset + 24;
  const total = lonOffset + 24;
  const b = Buffer.alloc(total);
  b.write('II', 0, 'latin1');
  b.writeUInt16LE(42, 2);
  b.writeUInt32LE(8, 4);
  let p = 8;
  b.writeUInt16LE(entries0, p);
  p += 2;
  const entry = (tag: number, type: number, count: number, value: (at: number) => void) => {
    b.writeUInt16LE(tag, p);
    b.writeUInt16LE(type, p + 2);
    b.writeUInt32LE(count, p + 4);
    value(p + 8);
    p += 12;
  };
  entry(0x010f, 2, make.length, (at) => b.writeUInt32LE(makeOffset, at)); // Make
  entry(0x0112, 3, 1, (at) => b.writeUInt16LE(orientation, at)); // Orientation
  entry(0x8825, 4, 1, (at) => b.writeUInt32LE(gpsOffset, at)); // GPS IFD pointer
  b.writeUInt32LE(0, p); // no next IFD
  make.copy(b, makeOffset);
  p = gpsOffset;
  b.writeUInt16LE(gpsEntries, p);
  p += 2;
  entry(0x0001, 2, 2, (at) => b.write('N\0', at, 'latin1')); // GPSLatitudeRef
  entry(0x0002, 5, 3, (at) => b.writeUInt32LE(latOffset, at)); // GPSLatitude
  entry(0x0003, 2, 2, (at) => b.write('E\0', at, 'latin1')); // GPSLongitudeRef
  entry(0x0004, 5, 3, (at) => b.writeUInt32LE(lonOffset, at)); // GPSLongitude
  b.writeUInt32LE(0, p);
  const rationals = (at: number, v: number[]) =>
    v.forEach((n, i) => {
      b.writeUInt32LE(n, at + i * 8);
      b.writeUInt32LE(1, at + i * 8 + 4);
    });
  rationals(latOffset, [48, 51, 24]); // Paris
  rationals(lonOffset, [2, 21, 3]);
  return b;
}

/** A JPEG carrying an APP1 EXIF segment with the given orientation and a GPS position. */
export async function jpegWithExif(
  width: number,
  height: number,
  orientation: number,
): Promise<Buffer> {
  const plain = await jpeg(width, height);
  const payload = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), exifBlock(orientation)]);
  const app1 = Buffer.alloc(4);
  app1.writeUInt16BE(0xffe1, 0);
  app1.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([plain.subarray(0, 2), app1, payload, plain.subarray(2)]);
}

// ---- PNG header tricks -----------------------------------------------------------------------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A small real PNG whose IHDR claims width×height (a decompression bomb's header). */
export async function pngClaiming(width: number, height: number): Promise<Buffer> {
  const b = Buffer.from(await png(64, 64));
  // Signature (8) + IHDR length (4) + "IHDR" (4) → width at 16, height at 20, CRC at 29.
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  b.writeUInt32BE(crc32(b.subarray(12, 29)), 29);
  return b;
}

// ---- ffmpeg-made fixtures ------------------------------------------------------------------

async function withTmp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mosaic-fixture-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A short test-pattern clip (with a sine tone) in the given container. */
export async function clip(
  format: 'mp4' | 'mov' | 'webm',
  opts: { width?: number; height?: number; seconds?: number; rotate?: number } = {},
): Promise<Buffer> {
  const { width = 320, height = 240, seconds = 2 } = opts;
  return withTmp(async (dir) => {
    const out = path.join(dir, `clip.${format}`);
    const codec =
      format === 'webm'
        ? ['-c:v', 'libvpx', '-b:v', '300k', '-c:a', 'libvorbis']
        : ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac'];
    await run(
      binaries().ffmpeg,
      ['-v', 'error', '-nostdin', '-y']
        .concat([
          '-f',
          'lavfi',
          '-i',
          `testsrc=duration=${seconds}:size=${width}x${height}:rate=15`,
        ])
        .concat(['-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`])
        .concat(codec, ['-shortest', out]),
      60_000,
    );
    if (!opts.rotate) return readFile(out);
    // Rotation is container metadata (a display matrix): added by a remux, as a phone writes it.
    const rotated = path.join(dir, `rotated.${format}`);
    await run(
      binaries().ffmpeg,
      ['-v', 'error', '-nostdin', '-y', '-i', out, '-c', 'copy'].concat([
        '-metadata:s:v:0',
        `rotate=${opts.rotate}`,
        rotated,
      ]),
      60_000,
    );
    return readFile(rotated);
  });
}

/** Where the fixture below says it was shot (the Eiffel Tower), as ISO 6709. */
export const SECRET_LOCATION = '+48.8582+002.2945';

/**
 * An MP4 as a phone writes it, plus some: the location as `©xyz` and as the mdta key
 * com.apple.quicktime.location.ISO6709, a title, a creation time, stream titles and a
 * subtitle track (standing in for data tracks such as GPS telemetry).
 */
export async function mp4WithMetadata(): Promise<Buffer> {
  return withTmp(async (dir) => {
    const subs = path.join(dir, 'subs.srt');
    await writeFile(subs, '1\n00:00:00,000 --> 00:00:02,000\nSecret subtitle at home\n');
    const out = path.join(dir, 'tagged.mp4');
    await run(
      binaries().ffmpeg,
      ['-v', 'error', '-nostdin', '-y']
        .concat(['-f', 'lavfi', '-i', 'testsrc=duration=2:size=320x240:rate=15'])
        .concat(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', '-i', subs])
        .concat(['-map', '0', '-map', '1', '-map', '2'])
        .concat(['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'])
        .concat(['-c:a', 'aac', '-c:s', 'mov_text', '-t', '2'])
        .concat(['-metadata', `location=${SECRET_LOCATION}/`])
        .concat(['-metadata', `com.apple.quicktime.location.ISO6709=${SECRET_LOCATION}+035.000/`])
        .concat(['-metadata', 'com.apple.quicktime.make=SecretPhone'])
        .concat([
          '-metadata',
          'title=Secret title',
          '-metadata',
          'creation_time=2021-06-05T04:03:02Z',
        ])
        .concat(['-metadata:s:v:0', 'title=Secret stream title'])
        .concat(['-movflags', 'use_metadata_tags', out]),
      60_000,
    );
    return readFile(out);
  });
}

export interface Probed {
  format: { tags?: Record<string, string> };
  streams: {
    codec_type: string;
    tags?: Record<string, string>;
    side_data_list?: { rotation?: number }[];
  }[];
}

/** ffprobe's view of a video: container and stream tags, streams, side data. */
export async function probeVideo(video: Buffer): Promise<Probed> {
  return withTmp(async (dir) => {
    const file = path.join(dir, 'probe');
    await writeFile(file, video);
    const out = await run(
      binaries().ffprobe,
      ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file],
      60_000,
    );
    return JSON.parse(out) as Probed;
  });
}

/** An animated GIF of `frames` frames. */
export async function animatedGif(width: number, height: number, frames: number): Promise<Buffer> {
  return withTmp(async (dir) => {
    const out = path.join(dir, 'anim.gif');
    await run(
      binaries().ffmpeg,
      ['-v', 'error', '-nostdin', '-y', '-f', 'lavfi'].concat([
        '-i',
        `testsrc=size=${width}x${height}:rate=10`,
        '-frames:v',
        String(frames),
        out,
      ]),
      60_000,
    );
    return readFile(out);
  });
}

// ---- HEIC --------------------------------------------------------------------------------

function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length + 8, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
}
function fullBox(type: string, version: number, flags: number, ...payload: Buffer[]): Buffer {
  const vf = Buffer.alloc(4);
  vf.writeUInt32BE(((version & 0xff) << 24) | (flags & 0xffffff), 0);
  return box(type, vf, ...payload);
}
const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n, 0);
  return b;
};
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
};

/** Top-level (or nested, via `path`) ISO-BMFF box payload lookup. */
function findBox(buf: Buffer, pathTypes: string[]): Buffer {
  let cur = buf;
  for (const type of pathTypes) {
    let p = 0;
    let found: Buffer | undefined;
    while (p + 8 <= cur.length) {
      const size = cur.readUInt32BE(p);
      const t = cur.toString('latin1', p + 4, p + 8);
      if (size < 8) break;
      if (t === type) {
        found = cur.subarray(p + 8, p + size);
        break;
      }
      p += size;
    }
    if (!found) throw new Error(`box ${type} not found`);
    cur = found;
  }
  return cur;
}

/**
 * A real HEIC: one HEVC (x265) intra frame, taken from a one-frame MP4 that ffmpeg wrote
 * (its hvcC configuration and its length-prefixed sample), wrapped in a HEIF container
 * (ftyp heic, meta with hdlr/pitm/iloc/iinf/iprp, mdat) as a phone would write it.
 */
export async function heic(width: number, height: number): Promise<Buffer> {
  const mp4 = await withTmp(async (dir) => {
    const src = path.join(dir, 'src.png');
    await twoToneRaw(width, height).png().toFile(src);
    const out = path.join(dir, 'frame.mp4');
    await run(
      binaries().ffmpeg,
      ['-v', 'error', '-nostdin', '-y', '-i', src, '-frames:v', '1', '-c:v', 'libx265'].concat([
        '-x265-params',
        'log-level=error',
        '-pix_fmt',
        'yuv420p',
        '-tag:v',
        'hvc1',
        out,
      ]),
      60_000,
    );
    return readFile(out);
  });
  const stsd = findBox(mp4, ['moov', 'trak', 'mdia', 'minf', 'stbl', 'stsd']);
  // stsd: version/flags (4) + entry count (4), then the hvc1 sample entry (78 bytes of
  // VisualSampleEntry fields after its 8-byte header) followed by its child boxes.
  const hvc1 = findBox(stsd.subarray(8), ['hvc1']);
  const hvcC = box('hvcC', findBox(hvc1.subarray(78), ['hvcC']));
  const sample = findBox(mp4, ['mdat']);

  const ftyp = box(
    'ftyp',
    Buffer.from('heic', 'latin1'),
    u32(0),
    Buffer.from('mif1heic', 'latin1'),
  );
  const hdlr = fullBox(
    'hdlr',
    0,
    0,
    u32(0),
    Buffer.from('pict', 'latin1'),
    Buffer.alloc(12),
    Buffer.from('\0'),
  );
  const pitm = fullBox('pitm', 0, 0, u16(1));
  const infe = fullBox(
    'infe',
    2,
    0,
    u16(1),
    u16(0),
    Buffer.from('hvc1', 'latin1'),
    Buffer.from('\0'),
  );
  const iinf = fullBox('iinf', 0, 0, u16(1), infe);
  const ispe = fullBox('ispe', 0, 0, u32(width), u32(height));
  const ipco = box('ipco', hvcC, ispe);
  const ipma = fullBox('ipma', 0, 0, u32(1), u16(1), Buffer.from([2, 0x81, 0x02]));
  const iprp = box('iprp', ipco, ipma);
  // iloc v0: offset_size=4, length_size=4, base_offset_size=0; one item, one extent.
  const ilocFor = (offset: number) =>
    fullBox(
      'iloc',
      0,
      0,
      Buffer.from([0x44, 0x00]),
      u16(1),
      u16(1),
      u16(0),
      u16(1),
      u32(offset),
      u32(sample.length),
    );
  const metaFor = (offset: number) =>
    fullBox('meta', 0, 0, hdlr, pitm, ilocFor(offset), iinf, iprp);
  const headerLength = ftyp.length + metaFor(0).length + 8; // the mdat header
  return Buffer.concat([ftyp, metaFor(headerLength), box('mdat', sample)]);
}
