// Videos: probed with ffprobe (a video stream, a duration, the pixel limit), a poster frame
// grabbed with ffmpeg, and the stream copied into a fresh container without metadata.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { collectEvery } from '../../../../lib/platform/memory.js';
import { binaries, run, ToolFailed } from './ffmpeg.js';
import { blurhashOf, checkPixels } from './image.js';
import { store, type IngestedMedia, type ProcessContext } from './processed.js';
import { MediaRejected, UNSUPPORTED, type Format } from './spool.js';

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

export async function processVideo(ctx: ProcessContext): Promise<IngestedMedia> {
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
  // A large video is read back once more: keep its spent Buffers from piling up (lib/platform/memory.ts).
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
