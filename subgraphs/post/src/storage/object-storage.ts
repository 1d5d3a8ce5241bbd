// Object storage behind one interface: the local filesystem (default) or S3-compatible
// storage through the minio client (when MINIO_ENDPOINT is set). Types only: the
// implementations import this module, and create-storage.ts picks one of them.
import type { Readable } from 'node:stream';

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
  /**
   * A URL that stops working at `expiresAt` (unix seconds), for media of private accounts:
   * fs: `${PUBLIC_URL}/media/<key>?exp=&sig=` (media-url-signature.ts); s3: a presigned GET.
   * Throws InvalidObjectKey for upload originals, as publicUrl does.
   */
  expiringUrl(key: string, expiresAt: number): string;
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

/** What one presigned PUT may store: an object, or one part of a multipart upload. */
export interface UploadTarget {
  key: string;
  /** The Content-Type the PUT must carry ('' for parts: the upload's type is set already). */
  contentType: string;
  /** Exactly this many bytes: the declared byteSize, or this part's share of it. */
  size: number;
  uploadId?: string;
  partNumber?: number;
}
