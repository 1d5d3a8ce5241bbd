// Images: decoded only after a header check against the pixel limit (decompression bombs),
// rotated by their EXIF orientation and re-encoded to 1080/640/320 wide variants without
// any metadata; HEIC/HEIF (through libheif) and AVIF become JPEG; plus a blurhash.
import { readFile } from 'node:fs/promises';
import { encode as encodeBlurhash } from 'blurhash';
import heicDecode from 'heic-decode';
import sharp, { type Metadata, type Sharp } from 'sharp';
import { store, type IngestedMedia, type ProcessContext, type StoredVariant } from './processed.js';
import { MediaRejected, type Format, type MediaLimits } from './spool.js';

export async function processImage(ctx: ProcessContext): Promise<IngestedMedia> {
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

export function checkPixels(
  width: number,
  height: number,
  frames: number,
  limits: MediaLimits,
): void {
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
export async function blurhashOf(image: Buffer): Promise<string | null> {
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
