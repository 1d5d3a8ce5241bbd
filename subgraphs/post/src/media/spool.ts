// The first judge of an upload: streams it to a temp file (never whole in memory), judges
// its type from the bytes and holds it to that type's size limit while it arrives.
import { createWriteStream } from 'node:fs';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileTypeFromBuffer } from 'file-type';
import type { Config } from '../../../../lib/config.js';
import { collectEvery } from '../../../../lib/platform/memory.js';
import { postSettings } from '../settings.js';

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
    maxPixels: limit(postSettings(cfg).MEDIA_MAX_PIXELS),
  };
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

export type Format = 'jpeg' | 'png' | 'webp' | 'gif' | 'heif' | 'avif' | 'mp4' | 'mov' | 'webm';
export interface Kind {
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

export const UNSUPPORTED =
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
export async function spool(
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
