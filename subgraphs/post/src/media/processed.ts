// What processing stores and hands back: the media as ingested (IngestedMedia) and the
// context image and video processing write through, which remembers every object written
// so a failed ingest can delete them all.
import type { Readable } from 'node:stream';
import type { ObjectStorage } from '../storage/object-storage.js';
import type { Kind, MediaLimits } from './spool.js';

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

export interface ProcessContext {
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

/** Notes the key before writing, so even a half-written object is cleaned up. */
export async function store(
  ctx: ProcessContext,
  key: string,
  body: Buffer | Readable,
  contentType: string,
  size: number,
): Promise<void> {
  ctx.written.push(key);
  await ctx.storage.put(key, body, { contentType, size });
}
