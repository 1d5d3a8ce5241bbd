// Media ingestion: stream to a temp file, judge the type from the bytes, validate limits,
// process (sharp / ffmpeg) and store. Nothing is kept from a rejected upload, and no
// stored object keeps the upload's metadata (EXIF, GPS, video tags).
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { encode as encodeBlurhash } from 'blurhash';
import { fileTypeFromBuffer } from 'file-type';
import heicDecode from 'heic-decode';
import sharp, { type Metadata, type Sharp } from 'sharp';
import type { Config } from '../../../../lib/config.js';
import { isValidKey, ObjectNotFound } from '../storage/keys.js';
import type { ObjectStorage } from '../storage/object-storage.js';
import { binaries, run, ToolFailed } from './ffmpeg.js';
import { collectEvery } from '../../../../lib/memory.js';

/** Enough leading bytes for file-type to recognise every format we accept. */
const SNIFF_BYTES = 4100;

export interface MediaLimits {
  maxImageBytes: number;
  maxVideoBytes: number;
  maxPixels: number;
}

/** The configured limits; as with every Mosaic limit, 0 means no limit. */
export function mediaLimits(cfg: Config): MediaLimits {
  const limit = (n: number) => (n === 0 ? Number.POSITIVE_INFINITY : n);
  return {
    maxImageBytes: limit(cfg.MEDIA_MAX_IMAGE_BYTES),
    maxVideoBytes: limit(cfg.MEDIA_MAX_VIDEO_BYTES),
    maxPixels: limit(cfg.MEDIA_MAX_PIXELS),
  };
}

export interface StoredVariant {
  width: number;
  height: number;
  mimeType: string;
  key: string;
  bytes: number;
}

export interface IngestedMedia {
  type: 'IMAGE' | 'VIDEO';
  /** Of the stored playable file / largest image variant (image/jpeg for HEIC input). */
  mimeType: string;
  /** Size of the upload as received. */
  bytes: number;
  width: number | null;
  height: number | null;
  durationSeconds: number | null;
  blurhash: string | null;
  /** The playable video, or the largest image variant. */
  key: string;
  /** Video poster frame (JPEG). */
  posterKey: string | null;
  /** Images: 1080/640/320 wide (never upscaled), smallest first; videos: []. */
  variants: StoredVariant[];
  /** Every object written, for cleanup. */
  keys: string[];
}

export type MediaRejectedCode = 'PAYLOAD_TOO_LARGE' | 'UNSUPPORTED_MEDIA_TYPE' | 'BAD_USER_INPUT';

export class MediaRejected extends Error {
  readonly code: MediaRejectedCode;
  constructor(code: MediaRejectedCode, message: string) {
    super(message);
    this.name = 'MediaRejected';
    this.code = code;
  }
}

/**
 * Streams `source` to a temp file (never whole in memory; aborts past the limit), judges the
 * type from the bytes, validates limits (decompression-bomb guard), processes and stores; on
 * rejection deletes everything it wrote and throws MediaRejected.
 *
 * Objects are written under `keyPrefix` (which must be unique per media): images as
 * `<prefix>/w<width>.<ext>`, videos as `<prefix>/video.<ext>` and `<prefix>/poster.jpg`.
 * On rejection the rest of `source` is drained (not destroyed), so a multipart parser or
 * HTTP request it comes from can still be answered.
 */
export async function ingestMedia(
  storage: ObjectStorage,
  source: Readable,
  opts: { keyPrefix: string; limits: MediaLimits; declaredBytes?: number },
): Promise<IngestedMedia> {
  if (!isValidKey(opts.keyPrefix)) throw new Error(`Invalid key prefix: ${opts.keyPrefix}`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mosaic-ingest-'));
  const written: string[] = [];
  try {
    const file = path.join(dir, 'upload');
    const { kind, bytes } = await spool(source, file, opts.limits, opts.declaredBytes);
    const ctx: ProcessContext = { storage, file, dir, bytes, kind, opts, written };
    return kind.type === 'IMAGE' ? await processImage(ctx) : await processVideo(ctx);
  } catch (err) {
    // Nothing is kept from a failed ingest (rejected or not).
    await storage.delete(written).catch(() => {});
    throw err;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The same for an object already in storage (direct upload via createUpload/completeUpload).
 * The source object is deleted once it has been ingested or rejected (its content now lives
 * under `keyPrefix`, or is refused); it is kept after other failures, so a retry can work.
 * A missing source object is rejected with BAD_USER_INPUT.
 */
export async function ingestStoredObject(
  storage: ObjectStorage,
  key: string,
  opts: { keyPrefix: string; limits: MediaLimits },
): Promise<IngestedMedia> {
  let source: Readable;
  try {
    source = await storage.openRead(key);
  } catch (err) {
    if (err instanceof ObjectNotFound) {
      throw new MediaRejected('BAD_USER_INPUT', 'The upload was not found; upload the file first');
    }
    throw err;
  }
  try {
    const media = await ingestMedia(storage, source, opts);
    if (!media.keys.includes(key)) await storage.delete([key]);
    return media;
  } catch (err) {
    if (err instanceof MediaRejected) await storage.delete([key]).catch(() => {});
    throw err;
  } finally {
    source.destroy();
  }
}

// ---- type detection and spooling -------------------------------------------------------

type Format = 'jpeg' | 'png' | 'webp' | 'gif' | 'heif' | 'avif' | 'mp4' | 'mov' | 'webm';
interface Kind {
  type: 'IMAGE' | 'VIDEO';
  format: Format;
  mime: string;
}

const KINDS: Record<string, Kind> = {
  'image/jpeg': { type: 'IMAGE', format: 'jpeg', mime: 'image/jpeg' },
  'image/png': { type: 'IMAGE', format: 'png', mime: 'image/png' },
  'image/webp': { type: 'IMAGE', format: 'webp', mime: 'image/webp' },
  'image/gif': { type: 'IMAGE', format: 'gif', mime: 'image/gif' },
  'image/heic': { type: 'IMAGE', format: 'heif', mime: 'image/heic' },
  'image/heif': { type: 'IMAGE', format: 'heif', mime: 'image/heif' },
  // AVIF is HEIF with AV1 inside; sharp decodes it natively.
  'image/avif': { type: 'IMAGE', format: 'avif', mime: 'image/avif' },
  'video/mp4': { type: 'VIDEO', format: 'mp4', mime: 'video/mp4' },
  'video/x-m4v': { type: 'VIDEO', format: 'mp4', mime: 'video/mp4' },
  'video/quicktime': { type: 'VIDEO', format: 'mov', mime: 'video/quicktime' },
  'video/webm': { type: 'VIDEO', format: 'webm', mime: 'video/webm' },
};

const UNSUPPORTED =
  'Unsupported file type: upload a JPEG, PNG, WebP, GIF or HEIC/HEIF image, or an MP4, MOV or WebM video';

const mb = (n: number) => `${Math.round((n / (1024 * 1024)) * 10) / 10} MB`;
function tooLarge(kind: Kind | undefined, limits: MediaLimits): MediaRejected {
  if (!kind) {
    return new MediaRejected(
      'PAYLOAD_TOO_LARGE',
      `Uploads are limited to ${mb(Math.max(limits.maxImageBytes, limits.maxVideoBytes))}`,
    );
  }
  return kind.type === 'IMAGE'
    ? new MediaRejected('PAYLOAD_TOO_LARGE', `Images are limited to ${mb(limits.maxImageBytes)}`)
    : new MediaRejected('PAYLOAD_TOO_LARGE', `Videos are limited to ${mb(limits.maxVideoBytes)}`);
}

async function detect(head: Buffer): Promise<Kind> {
  if (head.length === 0) throw new MediaRejected('BAD_USER_INPUT', 'The file is empty');
  const ft = await fileTypeFromBuffer(head);
  const kind = ft ? KINDS[ft.mime] : undefined;
  if (!kind) throw new MediaRejected('UNSUPPORTED_MEDIA_TYPE', UNSUPPORTED);
  return kind;
}

/**
 * Copies `source` to `file`, judging the type from the first bytes as soon as they arrive
 * (a text file is refused before the rest is read) and enforcing that type's size limit
 * while streaming.
 */
async function spool(
  source: Readable,
  file: string,
  limits: MediaLimits,
  declaredBytes: number | undefined,
): Promise<{ kind: Kind; bytes: number }> {
  const overall = Math.max(limits.maxImageBytes, limits.maxVideoBytes);
  let kind: Kind | undefined;
  let limit = overall;
  let total = 0;
  let head: Buffer[] = [];
  let headBytes = 0;

  const judge = async (): Promise<void> => {
    kind = await detect(Buffer.concat(head));
    limit = kind.type === 'IMAGE' ? limits.maxImageBytes : limits.maxVideoBytes;
    if (declaredBytes !== undefined && declaredBytes > limit) throw tooLarge(kind, limits);
  };
  const guard = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      total += chunk.length;
      const done = (): void => {
        if (total > limit) return cb(tooLarge(kind, limits));
        if (head.length > 0) {
          for (const h of head) this.push(h);
          head = [];
        } else {
          this.push(chunk);
        }
        cb();
      };
      if (kind) return done();
      head.push(chunk);
      headBytes += chunk.length;
      if (headBytes < SNIFF_BYTES) return cb();
      judge().then(done, (err: unknown) => cb(err as Error));
    },
    flush(cb) {
      if (kind) return cb();
      // The whole file was shorter than the sniffing window.
      judge().then(
        () => {
          if (total > limit) return cb(tooLarge(kind, limits));
          for (const h of head) this.push(h);
          head = [];
          cb();
        },
        (err: unknown) => cb(err as Error),
      );
    },
  });

  // Read `source` through a tap so that a rejection stops writing without destroying it.
  // A source abandoned before we got here would never end the pipeline below.
  if (source.destroyed) throw new MediaRejected('BAD_USER_INPUT', 'The upload was interrupted');
  const tap = new PassThrough();
  const onSourceError = (err: Error) => tap.destroy(err);
  source.on('error', onSourceError);
  source.pipe(tap);
  try {
    if (declaredBytes !== undefined && declaredBytes > overall) throw tooLarge(undefined, limits);
    await pipeline(tap, guard, collectEvery(), createWriteStream(file));
  } catch (err) {
    source.unpipe(tap);
    source.off('error', onSourceError);
    source.on('error', () => {}); // the caller has its answer; late errors are moot
    if (!source.destroyed && !source.readableEnded) source.resume(); // drain the rest
    if (err instanceof MediaRejected) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || code === 'ABORT_ERR') {
      throw new MediaRejected('BAD_USER_INPUT', 'The upload was interrupted');
    }
    throw err;
  } finally {
    source.off('error', onSourceError);
  }
  return { kind: kind!, bytes: total };
}

// ---- processing -------------------------------------------------------------------------

interface ProcessContext {
  storage: ObjectStorage;
  /** The spooled upload. */
  file: string;
  /** A private temp dir, removed afterwards. */
  dir: string;
  bytes: number;
  kind: Kind;
  opts: { keyPrefix: string; limits: MediaLimits };
  written: string[];
}

async function store(
  ctx: ProcessContext,
  key: string,
  body: Buffer | Readable,
  contentType: string,
  size: number,
): Promise<void> {
  ctx.written.push(key);
  await ctx.storage.put(key, body, { contentType, size });
}

async function processImage(ctx: ProcessContext): Promise<IngestedMedia> {
  const source = await openImage(ctx);
  const out = outputFormat(ctx.kind.format);
  const widths = variantWidths(source.width);

  let rendered: { width: number; data: Buffer; info: OutputInfo }[];
  try {
    const base = source.make().rotate(); // apply EXIF orientation; metadata is not copied
    rendered = await Promise.all(
      widths.map(async (width) => {
        let p = base.clone().resize({ width, withoutEnlargement: true });
        if (out.format === 'jpeg') p = p.flatten({ background: '#ffffff' });
        const { data, info } = await p
          .toColourspace('srgb')
          .toFormat(out.format, out.options)
          .toBuffer({ resolveWithObject: true });
        return { width, data, info };
      }),
    );
  } catch (err) {
    throw decodeError(err);
  }

  const variants: StoredVariant[] = [];
  for (const r of rendered.sort((a, b) => a.width - b.width)) {
    const key = `${ctx.opts.keyPrefix}/w${r.width}.${out.ext}`;
    await store(ctx, key, r.data, out.mime, r.data.length);
    variants.push({
      width: r.info.width,
      height: r.info.pageHeight ?? r.info.height,
      mimeType: out.mime,
      key,
      bytes: r.data.length,
    });
  }
  const largest = variants.at(-1)!;
  return {
    type: 'IMAGE',
    mimeType: out.mime,
    bytes: ctx.bytes,
    width: largest.width,
    height: largest.height,
    durationSeconds: null,
    blurhash: await blurhashOf(rendered[0]!.data),
    key: largest.key,
    posterKey: null,
    variants,
    keys: [...ctx.written],
  };
}

interface ImageSource {
  /** A fresh sharp pipeline over the decoded-on-demand input. */
  make: () => Sharp;
  /** Width after orientation is applied. */
  width: number;
}

const CORRUPT = 'The image could not be decoded (corrupt or truncated)';

function decodeError(err: unknown): MediaRejected {
  const msg = err instanceof Error ? err.message : '';
  if (/pixel limit/i.test(msg)) {
    return new MediaRejected('PAYLOAD_TOO_LARGE', 'The image has too many pixels');
  }
  return new MediaRejected('BAD_USER_INPUT', CORRUPT);
}

function checkPixels(width: number, height: number, frames: number, limits: MediaLimits): void {
  // The decompression-bomb guard: judged from the header, before anything is decoded.
  if (!(width > 0 && height > 0)) throw new MediaRejected('BAD_USER_INPUT', CORRUPT);
  if (width * height * frames > limits.maxPixels) {
    const mp = Math.round(limits.maxPixels / 1e5) / 10;
    throw new MediaRejected(
      'PAYLOAD_TOO_LARGE',
      `The image is ${width}×${height}${frames > 1 ? ` × ${frames} frames` : ''}; at most ${mp} megapixels are accepted`,
    );
  }
}

async function openImage(ctx: ProcessContext): Promise<ImageSource> {
  const { limits } = ctx.opts;
  if (ctx.kind.format === 'heif') return openHeif(ctx);

  const animated = ctx.kind.format === 'gif' || ctx.kind.format === 'webp';
  let meta: Metadata;
  try {
    // Reads the header only.
    meta = await sharp(ctx.file, { animated, limitInputPixels: false }).metadata();
  } catch {
    throw new MediaRejected('BAD_USER_INPUT', CORRUPT);
  }
  const frames = animated ? (meta.pages ?? 1) : 1;
  const frameHeight = meta.pageHeight ?? meta.height;
  checkPixels(meta.width, frameHeight, frames, limits);
  const swapped = (meta.orientation ?? 1) >= 5;
  return {
    make: () =>
      sharp(ctx.file, {
        animated: animated && frames > 1,
        limitInputPixels: Number.isFinite(limits.maxPixels) ? limits.maxPixels : false,
        failOn: 'warning', // truncated or corrupt data is refused, not half-decoded
      }),
    width: swapped ? frameHeight : meta.width,
  };
}

// sharp's prebuilt libvips has no HEVC decoder: HEIC goes through libheif (WebAssembly).
async function openHeif(ctx: ProcessContext): Promise<ImageSource> {
  const { limits } = ctx.opts;
  const buffer = await readFile(ctx.file); // at most maxImageBytes
  let images: Awaited<ReturnType<typeof heicDecode.all>>;
  try {
    images = await heicDecode.all({ buffer });
  } catch {
    throw new MediaRejected('BAD_USER_INPUT', CORRUPT);
  }
  try {
    const primary = images[0];
    if (!primary) throw new MediaRejected('BAD_USER_INPUT', CORRUPT);
    checkPixels(primary.width, primary.height, 1, limits);
    let decoded: { width: number; height: number; data: Uint8ClampedArray };
    try {
      decoded = await primary.decode();
    } catch {
      throw new MediaRejected('BAD_USER_INPUT', CORRUPT);
    }
    const raw = Buffer.from(decoded.data.buffer, decoded.data.byteOffset, decoded.data.byteLength);
    const { width, height } = decoded;
    return {
      make: () => sharp(raw, { raw: { width, height, channels: 4 } }),
      width,
    };
  } finally {
    images.dispose();
  }
}

const VARIANT_WIDTHS = [1080, 640, 320];

/** 1080/640/320, each capped at the image's own width (never upscaled), de-duplicated. */
export function variantWidths(width: number): number[] {
  return [...new Set(VARIANT_WIDTHS.map((w) => Math.min(w, width)))];
}

interface OutputInfo {
  width: number;
  height: number;
  pageHeight?: number;
}

function outputFormat(format: Format): {
  format: 'jpeg' | 'png' | 'webp' | 'gif';
  ext: string;
  mime: string;
  options: Record<string, unknown>;
} {
  switch (format) {
    case 'png':
      return { format: 'png', ext: 'png', mime: 'image/png', options: {} };
    case 'webp':
      return { format: 'webp', ext: 'webp', mime: 'image/webp', options: { quality: 82 } };
    case 'gif':
      // Animated GIFs stay animated GIFs.
      return { format: 'gif', ext: 'gif', mime: 'image/gif', options: {} };
    default:
      // JPEG, and HEIC/HEIF/AVIF converted to JPEG for every client.
      return {
        format: 'jpeg',
        ext: 'jpg',
        mime: 'image/jpeg',
        options: { quality: 82, progressive: true },
      };
  }
}

/** A blurhash of a small image (the smallest variant or the poster): 4×3 components. */
async function blurhashOf(image: Buffer): Promise<string | null> {
  try {
    const { data, info } = await sharp(image, { pages: 1 })
      .resize(32, 32, { fit: 'inside' })
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    return encodeBlurhash(new Uint8ClampedArray(data), info.width, info.height, 4, 3);
  } catch {
    return null; // a placeholder is a nicety, never a reason to refuse media
  }
}

// ---- video ------------------------------------------------------------------------------

interface ProbeStream {
  index?: number;
  codec_type?: string;
  width?: number;
  height?: number;
  duration?: string;
  tags?: Record<string, string>;
  side_data_list?: { rotation?: number }[];
  disposition?: { attached_pic?: number };
}

const PROBE_TIMEOUT_MS = 60_000;
const POSTER_TIMEOUT_MS = 120_000;
/** A stream copy of up to MEDIA_MAX_VIDEO_BYTES: bound by disk speed, not CPU. */
const REMUX_TIMEOUT_MS = 600_000;

const MUXERS: Partial<Record<Format, { format: string; args: string[] }>> = {
  mp4: { format: 'mp4', args: ['-movflags', '+faststart'] },
  mov: { format: 'mov', args: ['-movflags', '+faststart'] },
  webm: { format: 'webm', args: [] },
};

/**
 * Copies the video (the stream we probed) and its audio into a fresh container without
 * any metadata: container and stream tags (location, ©xyz, com.apple.quicktime.location.*,
 * title, creation_time, encoder, device make/model), chapters, and every other stream
 * (data tracks such as GPS/telemetry or timecode, subtitles, cover art). Nothing is
 * re-encoded; the display matrix (rotation) is stream side data and survives.
 */
async function remuxWithoutMetadata(
  ctx: ProcessContext,
  videoIndex: number,
  out: string,
): Promise<void> {
  const muxer = MUXERS[ctx.kind.format];
  if (!muxer) throw new MediaRejected('UNSUPPORTED_MEDIA_TYPE', UNSUPPORTED);
  try {
    await run(
      binaries().ffmpeg,
      ['-v', 'error', '-nostdin', '-y', '-i', ctx.file]
        .concat(['-map', `0:${videoIndex}`, '-map', '0:a?'])
        .concat(['-map_metadata', '-1', '-map_chapters', '-1', '-c', 'copy'])
        .concat(['-fflags', '+bitexact', '-flags:v', '+bitexact', '-flags:a', '+bitexact'])
        .concat(muxer.args, ['-f', muxer.format, out]),
      REMUX_TIMEOUT_MS,
    );
  } catch (err) {
    if (err instanceof ToolFailed && err.timedOut) throw err;
    throw new MediaRejected('BAD_USER_INPUT', 'The video could not be processed');
  }
}

async function processVideo(ctx: ProcessContext): Promise<IngestedMedia> {
  const { ffmpeg, ffprobe } = binaries();
  let probe: { streams?: ProbeStream[]; format?: { duration?: string } };
  try {
    probe = JSON.parse(
      await run(
        ffprobe,
        ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', ctx.file],
        PROBE_TIMEOUT_MS,
      ),
    ) as typeof probe;
  } catch (err) {
    if (err instanceof ToolFailed && err.timedOut) throw err;
    throw new MediaRejected('BAD_USER_INPUT', 'The video could not be read (corrupt or truncated)');
  }
  const video = probe.streams?.find(
    (s) => s.codec_type === 'video' && !s.disposition?.attached_pic,
  );
  if (!video) throw new MediaRejected('UNSUPPORTED_MEDIA_TYPE', 'The file has no video stream');
  let width = video.width ?? 0;
  let height = video.height ?? 0;
  checkPixels(width, height, 1, ctx.opts.limits);
  const rotation = Number(
    video.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ??
      video.tags?.rotate ??
      0,
  );
  if (Math.abs(rotation) % 180 === 90) [width, height] = [height, width];
  const duration = Number(probe.format?.duration ?? video.duration);
  if (!Number.isFinite(duration) || duration <= 0) {
    throw new MediaRejected('BAD_USER_INPUT', 'The video has no duration (corrupt or truncated)');
  }

  // Poster: a frame 1 s in (or a third of the way into a shorter clip); ffmpeg applies
  // the rotation itself. PNG first, then sharp for a clean, metadata-free JPEG.
  const frame = path.join(ctx.dir, 'poster.png');
  const grab = (at: number) =>
    run(
      ffmpeg,
      ['-v', 'error', '-nostdin', '-y', '-ss', at.toFixed(3), '-i', ctx.file].concat([
        '-frames:v',
        '1',
        '-an',
        '-f',
        'image2',
        '-c:v',
        'png',
        frame,
      ]),
      POSTER_TIMEOUT_MS,
    );
  try {
    await grab(duration > 2 ? 1 : duration / 3);
    await stat(frame);
  } catch {
    try {
      await grab(0);
      await stat(frame);
    } catch {
      throw new MediaRejected('BAD_USER_INPUT', 'The video could not be decoded');
    }
  }
  const poster = await sharp(frame)
    .resize({ width: Math.min(1080, width), withoutEnlargement: true })
    .jpeg({ quality: 82, progressive: true })
    .toBuffer();

  const ext = ctx.kind.format;
  const key = `${ctx.opts.keyPrefix}/video.${ext}`;
  const posterKey = `${ctx.opts.keyPrefix}/poster.jpg`;
  // What is stored is the remux, never the upload: videos keep no metadata, as images don't.
  const clean = path.join(ctx.dir, `clean.${ext}`);
  await remuxWithoutMetadata(ctx, video.index ?? 0, clean);
  const cleanBytes = (await stat(clean)).size;
  // A large video is read back once more: keep its spent Buffers from piling up (lib/memory.ts).
  await store(ctx, key, createReadStream(clean).pipe(collectEvery()), ctx.kind.mime, cleanBytes);
  await store(ctx, posterKey, poster, 'image/jpeg', poster.length);
  return {
    type: 'VIDEO',
    mimeType: ctx.kind.mime,
    bytes: ctx.bytes,
    width,
    height,
    durationSeconds: Math.round(duration * 1000) / 1000,
    blurhash: await blurhashOf(poster),
    key,
    posterKey,
    variants: [],
    keys: [...ctx.written],
  };
}
