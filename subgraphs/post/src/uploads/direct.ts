// Direct-to-storage uploads: createUpload hands out presigned URLs (one PUT, or one per
// part) for a PROCESSING media row; completeUpload checks what was stored against what
// was declared, ingests it and makes the row READY. The bookkeeping stays on that row.
import {
  appError,
  badInput,
  conflict,
  forbidden,
  notFound,
  ErrorCode,
} from '../../../../lib/contracts/errors.js';
import type { AppContext } from '../context.js';
import { ingestStoredObject } from '../media/ingest.js';
import type { IngestedMedia } from '../media/processed.js';
import { MediaRejected } from '../media/spool.js';
import type { CreateUploadInput } from '../validation.js';
import type { UploadGate, UploadRefusal } from './put-route.js';
import {
  finishMedia,
  mediaKeyPrefix,
  uploadKey,
  uploadKeyMediaId,
  type MediaRow,
} from './records.js';

/** A GraphQL error with the rejection's code (413 / 415 / 400 over REST). */
export function rejectionError(err: MediaRejected) {
  return appError(ErrorCode[err.code], err.message);
}

async function nextId(app: AppContext): Promise<bigint> {
  const rows = await app.prisma.$queryRaw<{ id: bigint }[]>`SELECT posts.next_id() AS id`;
  return rows[0]!.id;
}

export interface UploadTicket {
  uploadId: string;
  expiresAt: Date;
  url: string | null;
  partSize: number | null;
  parts: { partNumber: number; url: string }[];
}

/** S3 allows at most 10,000 parts per multipart upload. */
const MAX_PARTS = 10_000;

/** Every part but the last is exactly `partSize` bytes; the last is the remainder. */
export function partSizesOf(byteSize: number, partSize: number): number[] {
  const count = Math.ceil(byteSize / partSize);
  return Array.from({ length: count }, (_, i) =>
    i < count - 1 ? partSize : byteSize - partSize * (count - 1),
  );
}

export async function createUpload(
  app: AppContext,
  ownerId: bigint,
  input: CreateUploadInput,
): Promise<UploadTicket> {
  const kind = input.contentType.split('/')[0];
  if (kind !== 'image' && kind !== 'video')
    throw appError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, 'Only images and videos can be uploaded');
  const max = kind === 'image' ? app.mediaLimits.maxImageBytes : app.mediaLimits.maxVideoBytes;
  if (input.byteSize > max)
    throw appError(ErrorCode.PAYLOAD_TOO_LARGE, `A ${kind} may be at most ${max} bytes`);
  const partSize = app.settings.UPLOAD_PART_SIZE_BYTES;
  const partCount = Math.ceil(input.byteSize / partSize);
  if (partCount > MAX_PARTS)
    throw appError(ErrorCode.PAYLOAD_TOO_LARGE, 'The file needs too many upload parts');

  const id = await nextId(app);
  const key = uploadKey(id);
  const ttl = app.settings.UPLOAD_URL_TTL_SECONDS;
  const expiresAt = new Date(Date.now() + ttl * 1000);
  // The row comes first, so the janitor can clean up whatever the client leaves behind.
  await app.prisma.media.create({
    data: {
      id,
      ownerId,
      status: 'PROCESSING',
      altText: input.altText,
      uploadKey: key,
      uploadContentType: input.contentType,
      uploadBytes: BigInt(input.byteSize),
      uploadExpiresAt: expiresAt,
    },
  });
  // Each URL takes exactly its share of the declared size (and the declared type).
  if (partCount <= 1) {
    const url = await app.storage.presignPut(
      key,
      { contentType: input.contentType, size: input.byteSize },
      ttl,
    );
    return { uploadId: id.toString(), expiresAt, url, partSize: null, parts: [] };
  }
  const multipartId = await app.storage.startMultipart(key, input.contentType);
  await app.prisma.media.update({ where: { id }, data: { uploadMultipartId: multipartId } });
  const sizes = partSizesOf(input.byteSize, partSize);
  const parts = await Promise.all(
    sizes.map(async (size, i) => ({
      partNumber: i + 1,
      url: await app.storage.presignPart(key, multipartId, i + 1, size, ttl),
    })),
  );
  return { uploadId: id.toString(), expiresAt, url: null, partSize, parts };
}

/**
 * The fs upload route's gate (put-route.ts): a presigned URL may store bytes only
 * while its media row is PROCESSING, not yet claimed by completeUpload (uploadExpiresAt
 * set) and not expired; a part URL only while its multipart upload is still open.
 */
export function uploadGate(app: AppContext): UploadGate {
  const closed = (error: string): UploadRefusal => ({ status: 409, code: 'CONFLICT', error });
  return async (target) => {
    const id = uploadKeyMediaId(target.key);
    const row =
      id === null
        ? null
        : await app.prisma.media.findUnique({
            where: { id },
            select: {
              status: true,
              uploadKey: true,
              uploadExpiresAt: true,
              uploadMultipartId: true,
            },
          });
    if (!row) return { status: 404, code: 'NOT_FOUND', error: 'This upload no longer exists' };
    if (row.status === 'READY') return closed('This upload was already completed');
    if (row.status !== 'PROCESSING') return closed('This upload failed; start a new one');
    if (row.uploadKey !== target.key)
      return { status: 403, code: 'FORBIDDEN', error: 'Invalid upload URL' };
    if (!row.uploadExpiresAt) return closed('This upload is being completed');
    if (row.uploadExpiresAt.getTime() <= Date.now())
      return closed('This upload has expired; start a new one');
    if ((target.uploadId ?? null) !== row.uploadMultipartId)
      return closed('This upload URL is no longer valid');
    return null;
  };
}

export async function completeUpload(
  app: AppContext,
  ownerId: bigint,
  id: bigint,
  parts: { partNumber: number; etag: string }[] | null | undefined,
): Promise<MediaRow> {
  const row = await app.prisma.media.findUnique({ where: { id } });
  if (!row) throw notFound('Upload not found');
  if (row.ownerId !== ownerId) throw forbidden('This upload is not yours');
  if (row.status !== 'PROCESSING') throw conflict('This upload was already completed');
  if (!row.uploadKey) throw notFound('Upload not found');
  if (!row.uploadExpiresAt) throw conflict('This upload is already being completed');
  if (row.uploadExpiresAt.getTime() < Date.now())
    throw badInput('This upload has expired; start a new one', 'uploadId');
  const key = row.uploadKey;

  const byteSize = Number(row.uploadBytes ?? 0);
  if (row.uploadMultipartId) {
    const expected = Math.ceil(byteSize / app.settings.UPLOAD_PART_SIZE_BYTES);
    const given = [...(parts ?? [])].sort((a, b) => a.partNumber - b.partNumber);
    const numbersOk =
      given.length === expected && given.every((p, i) => p.partNumber === i + 1 && p.etag);
    if (!numbersOk)
      throw badInput(`parts must list the ETag of each of the ${expected} parts`, 'parts');
  }
  // Only one completeUpload wins; the other gets CONFLICT.
  const claimed = await app.prisma.media.updateMany({
    where: { id, status: 'PROCESSING', uploadExpiresAt: { not: null } },
    data: { uploadExpiresAt: null },
  });
  if (claimed.count !== 1) throw conflict('This upload is already being completed');

  const fail = async (err: MediaRejected) => {
    if (row.uploadMultipartId)
      await app.storage.abortMultipart(key, row.uploadMultipartId).catch(() => {});
    await app.storage.delete([key]);
    await app.prisma.media.updateMany({
      where: { id },
      data: { status: 'FAILED', failureCode: err.code, uploadMultipartId: null },
    });
    return rejectionError(err);
  };

  const wrongSize = (what: string, got: number, want: number) =>
    new MediaRejected('BAD_USER_INPUT', `${what} is ${got} bytes; ${want} were declared`);
  if (row.uploadMultipartId) {
    // Sizes are checked before anything is joined: each part its share, so the total too.
    let sizes: Map<number, number> | null;
    try {
      sizes = await app.storage.partSizes(key, row.uploadMultipartId);
    } catch (err) {
      app.logger.info({ err }, 'listing the parts of a multipart upload failed');
      throw await fail(new MediaRejected('BAD_USER_INPUT', 'The upload parts could not be read'));
    }
    if (sizes) {
      const want = partSizesOf(byteSize, app.settings.UPLOAD_PART_SIZE_BYTES);
      const total = [...sizes.values()].reduce((a, b) => a + b, 0);
      const bad = want.findIndex((n, i) => sizes.get(i + 1) !== n);
      if (total !== byteSize) throw await fail(wrongSize('The upload', total, byteSize));
      if (bad >= 0)
        throw await fail(wrongSize(`Part ${bad + 1}`, sizes.get(bad + 1) ?? 0, want[bad]!));
    }
    try {
      await app.storage.completeMultipart(
        key,
        row.uploadMultipartId,
        [...parts!].sort((a, b) => a.partNumber - b.partNumber),
      );
      // The object now exists whole; a retry after a later failure treats it as one PUT.
      await app.prisma.media.updateMany({ where: { id }, data: { uploadMultipartId: null } });
    } catch (err) {
      app.logger.info({ err }, 'completing a multipart upload failed');
      throw await fail(
        new MediaRejected('BAD_USER_INPUT', 'The parts do not match what was uploaded'),
      );
    }
  }
  // The object as stored, whatever the storage let through (a presigned S3 URL is only as
  // strict as the server; s3rver checks no signature): it must be the declared size.
  const stored = await app.storage.size(key);
  if (stored === null && !row.uploadMultipartId) {
    // Not claimed for good: the client may still PUT and try again.
    await app.prisma.media.updateMany({
      where: { id },
      data: { uploadExpiresAt: row.uploadExpiresAt },
    });
    throw badInput('Nothing was uploaded yet; PUT the file to the upload URL first', 'uploadId');
  }
  if (stored !== byteSize) throw await fail(wrongSize('The upload', stored ?? 0, byteSize));

  let ingested: IngestedMedia;
  try {
    ingested = await ingestStoredObject(app.storage, key, {
      keyPrefix: mediaKeyPrefix(id),
      limits: app.mediaLimits,
    });
  } catch (err) {
    if (err instanceof MediaRejected) throw await fail(err);
    // Not the file's fault (a tool timed out, storage hiccuped): the client may retry.
    await app.prisma.media
      .updateMany({ where: { id }, data: { uploadExpiresAt: row.uploadExpiresAt } })
      .catch(() => {});
    throw err;
  }
  // The original may carry EXIF/GPS and is never served: only the processed objects stay.
  await app.storage.delete([key]);
  return finishMedia(app, id, ingested, { uploadKey: null });
}
