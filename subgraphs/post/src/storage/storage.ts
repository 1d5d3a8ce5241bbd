// Object storage behind one interface: the local filesystem (default) or S3-compatible
// storage through the minio client (when MINIO_ENDPOINT is set).
import type { Readable } from 'node:stream';
import type { Config } from '../../../../lib/config.js';
import { FsStorage } from './fs-storage.js';
import { S3Storage } from './s3-storage.js';
import { signUploadToken } from './upload-token.js';

export interface ObjectStorage {
  readonly kind: 'fs' | 's3';
  /** Multipart above 5 MB on S3. */
  put(
    key: string,
    body: Readable | Buffer,
    meta: { contentType: string; size?: number },
  ): Promise<void>;
  openRead(key: string): Promise<Readable>;
  exists(key: string): Promise<boolean>;
  /** Missing keys are not an error. */
  delete(keys: readonly string[]): Promise<void>;
  /** Every key under a folder prefix such as `u/` (the janitor's sweep of stray uploads). */
  list(prefix: string): AsyncIterable<string>;
  /**
   * fs: `${PUBLIC_URL}/media/<key>`; s3: MINIO_PUBLIC_BASE_URL/<key> or a presigned GET.
   * Throws InvalidObjectKey for upload originals (`u/…`): those are never public.
   */
  publicUrl(key: string): string;
  /** The object's size in bytes; null when there is none. */
  size(key: string): Promise<number | null>;
  /**
   * A URL for one PUT of exactly `size` bytes with this Content-Type (fs: a signed token;
   * s3: SigV4 with content-length and content-type among the signed headers).
   */
  presignPut(
    key: string,
    object: { contentType: string; size: number },
    expiresSeconds: number,
  ): Promise<string>;
  /** Returns the upload id. */
  startMultipart(key: string, contentType: string): Promise<string>;
  /** A URL for one PUT of exactly `size` bytes as part `partNumber`. */
  presignPart(
    key: string,
    uploadId: string,
    partNumber: number,
    size: number,
    expiresSeconds: number,
  ): Promise<string>;
  /** Sizes of the parts uploaded so far; null when the server cannot list them. */
  partSizes(key: string, uploadId: string): Promise<Map<number, number> | null>;
  completeMultipart(
    key: string,
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<void>;
  abortMultipart(key: string, uploadId: string): Promise<void>;
}

/** fs by default; S3 (minio client) when MINIO_ENDPOINT is set; creates the bucket/dir if missing. */
export async function createStorage(cfg: Config): Promise<ObjectStorage> {
  if (cfg.MINIO_ENDPOINT) {
    const s3 = new S3Storage({
      endpoint: cfg.MINIO_ENDPOINT,
      accessKey: cfg.MINIO_ACCESS_KEY,
      secretKey: cfg.MINIO_SECRET_KEY,
      bucket: cfg.MINIO_BUCKET,
      region: cfg.MINIO_REGION,
      publicBaseUrl: cfg.MINIO_PUBLIC_BASE_URL,
    });
    await s3.init();
    return s3;
  }
  const base = cfg.PUBLIC_URL.replace(/\/$/, '');
  const fs = new FsStorage({
    root: cfg.STORAGE_DIR,
    publicBaseUrl: base,
    presign: (target, expiresSeconds) =>
      `${base}/v1/uploads/${signUploadToken(cfg.INTERNAL_SIGNING_SECRET, target, expiresSeconds)}`,
  });
  await fs.init();
  return fs;
}

// PUT /v1/uploads/:token (fs-presigned uploads) and GET/HEAD /media/* (fs-stored files).
export {
  registerFsUploadRoutes,
  registerMediaFileRoutes,
  type UploadGate,
  type UploadRefusal,
} from './routes.js';
export {
  ObjectNotFound,
  InvalidObjectKey,
  isValidKey,
  isUploadKey,
  contentTypeForKey,
  UPLOAD_PREFIX,
} from './keys.js';
