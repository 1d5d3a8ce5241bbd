// Picks the object storage for a service: only service wiring (and tools that stand in for
// it) imports this, so no storage code depends on every backend at once.
import type { Config } from '../../../../lib/config.js';
import { postSettings } from '../settings.js';
import { signUploadToken } from '../uploads/upload-token.js';
import { FsStorage } from './fs-storage.js';
import { signMediaKey } from './media-url-signature.js';
import type { ObjectStorage } from './object-storage.js';
import { S3Storage, type S3StorageOptions } from './s3-storage.js';

/** S3Storage's options from the environment, for MINIO_ENDPOINT = `endpoint`. */
export function s3StorageOptions(cfg: Config, endpoint: string): S3StorageOptions {
  const settings = postSettings(cfg);
  return {
    endpoint,
    accessKey: cfg.MINIO_ACCESS_KEY,
    secretKey: cfg.MINIO_SECRET_KEY,
    bucket: settings.MINIO_BUCKET,
    region: settings.MINIO_REGION,
    publicBaseUrl: settings.MINIO_PUBLIC_BASE_URL,
    presignBaseUrl: settings.MINIO_PRESIGN_BASE_URL,
  };
}

/** fs by default; S3 (minio client) when MINIO_ENDPOINT is set; creates the bucket/dir if missing. */
export async function createStorage(cfg: Config): Promise<ObjectStorage> {
  const settings = postSettings(cfg);
  if (cfg.MINIO_ENDPOINT) {
    const s3 = new S3Storage(s3StorageOptions(cfg, cfg.MINIO_ENDPOINT));
    await s3.init();
    return s3;
  }
  const base = cfg.PUBLIC_URL.replace(/\/$/, '');
  // fs "presigned" URLs point at the post service's own PUT route (uploads/put-route.ts).
  const fs = new FsStorage({
    root: settings.STORAGE_DIR,
    publicBaseUrl: base,
    presign: (target, expiresSeconds) =>
      `${base}/v1/uploads/${signUploadToken(cfg.INTERNAL_SIGNING_SECRET, target, expiresSeconds)}`,
    signMedia: (key, expiresAt) => signMediaKey(cfg.INTERNAL_SIGNING_SECRET, key, expiresAt),
  });
  await fs.init();
  return fs;
}
