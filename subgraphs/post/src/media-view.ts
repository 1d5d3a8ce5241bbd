// Media rows as clients see them (GraphQL `Media`, the REST upload response) and the
// writes that turn an ingested upload into a READY row.
import type { Media as MediaRow } from '../../../lib/generated/prisma/client.js';
import { UPLOAD_PREFIX } from './storage/keys.js';
import type { ObjectStorage } from './storage/object-storage.js';
import type { IngestedMedia, StoredVariant } from './media/processed.js';

export type { MediaRow };

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

/** A READY row as a client sees it (URLs from the storage in use). */
export function toMediaView(storage: ObjectStorage, row: MediaDisplayRow): MediaView {
  return {
    id: row.id.toString(),
    type: row.type === 'VIDEO' ? 'VIDEO' : 'IMAGE',
    mimeType: row.mimeType ?? 'application/octet-stream',
    url: storage.publicUrl(row.storageKey ?? ''),
    width: row.width,
    height: row.height,
    durationSeconds: row.durationSeconds,
    posterUrl: row.posterKey ? storage.publicUrl(row.posterKey) : null,
    altText: row.altText,
    blurhash: row.blurhash,
    variants: storedVariants(row.variants).map((v) => ({
      width: v.width,
      height: v.height,
      mimeType: v.mimeType,
      url: storage.publicUrl(v.key),
    })),
  };
}

/** Column values of a READY row from what ingest stored. */
export function readyColumns(m: IngestedMedia) {
  return {
    status: 'READY',
    type: m.type,
    mimeType: m.mimeType,
    bytes: BigInt(m.bytes),
    width: m.width,
    height: m.height,
    durationSeconds: m.durationSeconds,
    blurhash: m.blurhash,
    storageKey: m.key,
    posterKey: m.posterKey,
    variants: m.variants.map((v) => ({ ...v })),
    objectKeys: [...new Set(m.keys)],
  };
}

/** Where a media item's processed objects go (ingest adds its own names below it). */
export const mediaKeyPrefix = (mediaId: bigint): string => `m/${mediaId}`;
/** Where a direct upload's original bytes go before processing (never served). */
export const uploadKey = (mediaId: bigint): string => `${UPLOAD_PREFIX}${mediaId}/original`;

/** The media id an upload key belongs to (anything under `u/<id>/`), or null. */
export function uploadKeyMediaId(key: string): bigint | null {
  const m = /^u\/([1-9][0-9]{0,18})\//.exec(key);
  return m ? BigInt(m[1]!) : null;
}
