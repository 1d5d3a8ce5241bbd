// Avatar crops: square images at 150, 320 and 640 px from a READY image's largest stored
// variant (already rotated upright and without metadata), never upscaled past the
// source's short side.
//
// The square is chosen by sharp's `attention` strategy rather than the centre: avatars are
// mostly people, and attention favours skin tones, saturation and detail, so a face off to
// one side of a landscape photo stays in the square where a centre crop would cut it. A
// square source is not cropped at all, and the choice is deterministic (the same source
// always gives the same square).
import sharp from 'sharp';
import { blurhashOf } from './image.js';

export const AVATAR_SIZES = [150, 320, 640] as const;

/** 150/320/640, each capped at the source's short side (never upscaled), de-duplicated. */
export function avatarSizes(shortSide: number): number[] {
  return [...new Set(AVATAR_SIZES.map((s) => Math.min(s, Math.max(1, shortSide))))];
}

export interface AvatarCrop {
  size: number;
  data: Buffer;
  mimeType: string;
  ext: string;
}

/** The output type: PNG and WebP keep their transparency; everything else becomes JPEG. */
function outputFor(mimeType: string): { format: 'png' | 'webp' | 'jpeg'; ext: string } {
  if (mimeType === 'image/png' || mimeType === 'image/gif') return { format: 'png', ext: 'png' };
  if (mimeType === 'image/webp') return { format: 'webp', ext: 'webp' };
  return { format: 'jpeg', ext: 'jpg' };
}

/** Square crops, smallest first, and a blurhash of the smallest. Still images only. */
export async function makeAvatarCrops(
  source: Buffer,
  mimeType: string,
): Promise<{ crops: AvatarCrop[]; blurhash: string | null }> {
  // The first frame of an animated image: an avatar is a still.
  const meta = await sharp(source, { pages: 1 }).metadata();
  const height = meta.pageHeight ?? meta.height;
  const sizes = avatarSizes(Math.min(meta.width, height));
  const out = outputFor(mimeType);
  const crops = await Promise.all(
    sizes.map(async (size) => {
      let p = sharp(source, { pages: 1 }).resize(size, size, {
        fit: 'cover',
        position: sharp.strategy.attention,
      });
      if (out.format === 'jpeg') p = p.flatten({ background: '#ffffff' });
      const data = await p
        .toColourspace('srgb')
        .toFormat(
          out.format,
          out.format === 'png'
            ? {}
            : { quality: 82, ...(out.format === 'jpeg' ? { progressive: true } : {}) },
        )
        .toBuffer();
      return { size, data, mimeType: `image/${out.format}`, ext: out.ext };
    }),
  );
  return { crops, blurhash: await blurhashOf(crops[0]!.data) };
}
