// Media rows as clients see them (GraphQL `Media`, the REST upload response).
import type { Media as MediaRow } from '../../../lib/generated/prisma/client.js';
import type { StoredVariant } from './media/processed.js';
import { expiryFor, PRIVATE_MEDIA_URL_TTL_SECONDS } from './storage/media-url-signature.js';
import type { ObjectStorage } from './storage/object-storage.js';

/** The GraphQL `Media` shape; also the JSON body of POST /v1/media. */
export interface MediaView {
  id: string;
  type: 'IMAGE' | 'VIDEO';
  mimeType: string;
  url: string;
  width: number | null;
  height: number | null;
  durationSeconds: number | null;
  posterUrl: string | null;
  altText: string | null;
  blurhash: string | null;
  variants: { width: number; height: number; mimeType: string; url: string }[];
}

function storedVariants(json: unknown): StoredVariant[] {
  return Array.isArray(json) ? (json as StoredVariant[]) : [];
}

/** The columns a client's view of a media item is made from. */
export type MediaDisplayRow = Pick<
  MediaRow,
  | 'id'
  | 'type'
  | 'mimeType'
  | 'width'
  | 'height'
  | 'durationSeconds'
  | 'blurhash'
  | 'storageKey'
  | 'posterKey'
  | 'variants'
  | 'altText'
>;

/**
 * Views only the owner gets (upload answers, media(id)) are always signed: the owner may be
 * private, and a signed URL serves public media just as well.
 */
export const ownerOnlyExpiry = (): number => expiryFor(PRIVATE_MEDIA_URL_TTL_SECONDS);

/**
 * A READY row as a client sees it (URLs from the storage in use): immutable public URLs, or
 * URLs that stop working at `expiresAt` (unix seconds) for a private account's media.
 */
export function toMediaView(
  storage: ObjectStorage,
  row: MediaDisplayRow,
  expiresAt?: number,
): MediaView {
  const url = (key: string) =>
    expiresAt === undefined ? storage.publicUrl(key) : storage.expiringUrl(key, expiresAt);
  return {
    id: row.id.toString(),
    type: row.type === 'VIDEO' ? 'VIDEO' : 'IMAGE',
    mimeType: row.mimeType ?? 'application/octet-stream',
    url: url(row.storageKey ?? ''),
    width: row.width,
    height: row.height,
    durationSeconds: row.durationSeconds,
    posterUrl: row.posterKey ? url(row.posterKey) : null,
    altText: row.altText,
    blurhash: row.blurhash,
    variants: storedVariants(row.variants).map((v) => ({
      width: v.width,
      height: v.height,
      mimeType: v.mimeType,
      url: url(v.key),
    })),
  };
}
