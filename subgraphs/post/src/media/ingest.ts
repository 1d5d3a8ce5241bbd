// Media ingestion: spool the upload to a temp file (spool.ts), then process it by kind
// (image.ts / video.ts) and store the results. Nothing is kept from a rejected upload, and
// no stored object keeps the upload's metadata (EXIF, GPS, video tags).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { isValidKey, ObjectNotFound } from '../storage/keys.js';
import type { ObjectStorage } from '../storage/object-storage.js';
import { processImage } from './image.js';
import type { IngestedMedia, ProcessContext } from './processed.js';
import { MediaRejected, spool, type MediaLimits } from './spool.js';
import { processVideo } from './video.js';

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
