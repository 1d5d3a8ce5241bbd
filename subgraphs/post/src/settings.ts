// The post subgraph's own settings (media storage, processing, the janitor and direct
// uploads), read from the same environment as the shared Config (lib/config.ts) and with its
// rules. The post service reads them once, at startup, so a bad value stops it there.
// Staying in lib/config.ts: MINIO_ENDPOINT and its keys (the secret check reads them),
// MEDIA_MAX_IMAGE_BYTES/VIDEO_BYTES and RATE_LIMIT_UPLOADS_PER_MINUTE (the gateway reads
// them) and PUBLIC_URL (the gateway's own public address).
import { z } from 'zod';
import { defineSettings, int, optionalUrl } from '../../../lib/config.js';

export const postSettings = defineSettings({
  // ---- media storage ----
  /** Filesystem storage root (used unless MINIO_ENDPOINT is set). */
  STORAGE_DIR: z.string().default('.data/media'),
  MINIO_BUCKET: z.string().default('mosaic-media'),
  MINIO_REGION: z.string().default('us-east-1'),
  /** Public base URL of the bucket (CDN); presigned GETs are used when unset. */
  MINIO_PUBLIC_BASE_URL: optionalUrl,
  /**
   * Where clients reach presigned URLs when MINIO_ENDPOINT is a private address: a proxy
   * mapping <base>/<key> to <endpoint>/<bucket>/<key> with the endpoint's Host (compose:
   * <MOSAIC_PUBLIC_URL>/objects). Signed for the endpoint, handed out under this base.
   */
  MINIO_PRESIGN_BASE_URL: optionalUrl,
  MEDIA_MAX_PIXELS: int(50_000_000),

  // ---- posts ----
  /** Media never attached to a post within this many hours are deleted with their objects. */
  MEDIA_ORPHAN_GRACE_HOURS: z.coerce.number().nonnegative().default(24),
  /** How often the media janitor runs in each post service process (0 switches it off). */
  MEDIA_JANITOR_INTERVAL_SECONDS: int(600),
  /** Lifetime of presigned direct-upload URLs (createUpload). */
  UPLOAD_URL_TTL_SECONDS: int(3600),
  /** Part size of multipart direct uploads; files up to one part get a single PUT. */
  UPLOAD_PART_SIZE_BYTES: int(8 * 1024 * 1024),
});

export type PostSettings = ReturnType<typeof postSettings>;
