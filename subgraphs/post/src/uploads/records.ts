// Media records through their life: reserved as PROCESSING, made READY from what ingest
// stored, or dropped with their objects; and where a record's objects live in storage.
import type { Readable } from 'node:stream';
import { conflict } from '../../../../lib/contracts/errors.js';
import type { Media as MediaRow } from '../../../../lib/generated/prisma/client.js';
import type { AppContext } from '../context.js';
import { ingestMedia } from '../media/ingest.js';
import type { IngestedMedia } from '../media/processed.js';
import { UPLOAD_PREFIX } from '../storage/keys.js';

export type { MediaRow };

/** A PROCESSING row that owns whatever the upload is about to store. */
export async function reserveMedia(app: AppContext, ownerId: bigint): Promise<bigint> {
  const row = await app.prisma.media.create({
    data: { ownerId, status: 'PROCESSING' },
    select: { id: true },
  });
  return row.id;
}

/** Turns the reserved row READY. If the row is gone (janitor), the objects go too. */
export async function finishMedia(
  app: AppContext,
  id: bigint,
  ingested: IngestedMedia,
  extra: { altText?: string | null; uploadKey?: string | null } = {},
): Promise<MediaRow> {
  const updated = await app.prisma.media.updateManyAndReturn({
    where: { id, status: 'PROCESSING' },
    data: {
      ...readyColumns(ingested),
      ...(extra.altText !== undefined ? { altText: extra.altText } : {}),
      ...(extra.uploadKey !== undefined ? { uploadKey: extra.uploadKey } : {}),
      uploadMultipartId: null,
      uploadExpiresAt: null,
    },
  });
  const row = updated[0];
  if (!row) {
    await app.storage.delete(ingested.keys);
    throw conflict('This upload was abandoned; upload the file again');
  }
  return row;
}

/** Deletes a reserved row that never became READY (its objects are already gone). */
export async function dropMedia(app: AppContext, id: bigint): Promise<void> {
  await app.prisma.media.deleteMany({ where: { id, status: { not: 'READY' } } });
}

/** Ingests a streamed upload into an already reserved row's key space. */
export function ingestStream(app: AppContext, id: bigint, source: Readable) {
  return ingestMedia(app.storage, source, {
    keyPrefix: mediaKeyPrefix(id),
    limits: app.mediaLimits,
  });
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
