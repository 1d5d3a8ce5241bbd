// Filesystem storage under STORAGE_DIR. Writes go to a temp file and are renamed into
// place, so a reader never sees a partial object. Multipart uploads (fs-presigned part
// URLs) keep their parts under .multipart/<uploadId>/ until completed or aborted.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertKey, assertPublicKey, isValidKey, ObjectNotFound } from './keys.js';
import type { ObjectStorage, UploadTarget } from './object-storage.js';

const UPLOAD_ID = /^[a-f0-9]{32}$/;
const MAX_PARTS = 10_000;

export interface FsStorageOptions {
  root: string;
  /** e.g. `${PUBLIC_URL}` — publicUrl is `<base>/media/<key>`. */
  publicBaseUrl: string;
  /** Builds the URL of Mosaic's own upload route for a signed target (uploads/upload-token.ts). */
  presign: (target: UploadTarget, expiresSeconds: number) => string;
  /** Signs `/media/<key>` until an expiry (storage/media-url-signature.ts). */
  signMedia: (key: string, expiresAt: number) => string;
}

export interface WriteOptions {
  /** Fails with TooLarge as soon as more bytes than this arrive. */
  maxBytes?: number;
  /** Exactly this many bytes: TooLarge as soon as more arrive, SizeMismatch if fewer did. */
  exactBytes?: number;
  /** Runs after the last byte, before the object becomes visible; may throw to discard it. */
  beforeCommit?: () => Promise<void>;
}

export class MultipartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MultipartError';
  }
}

/** Counts bytes and computes the MD5 (the ETag, as S3 does for single-part objects). */
function hashing(): { stream: Transform; result: () => { etag: string; bytes: number } } {
  const md5 = createHash('md5');
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      md5.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  let etag: string | undefined;
  return { stream, result: () => ({ etag: (etag ??= `"${md5.digest('hex')}"`), bytes }) };
}

export class FsStorage implements ObjectStorage {
  readonly kind = 'fs' as const;
  readonly root: string;
  private readonly opts: FsStorageOptions;

  constructor(opts: FsStorageOptions) {
    this.opts = opts;
    this.root = path.resolve(opts.root);
  }

  async init(): Promise<void> {
    await mkdir(path.join(this.root, '.tmp'), { recursive: true });
    await mkdir(path.join(this.root, '.multipart'), { recursive: true });
  }

  /** Absolute path of a key (validated: never outside root). */
  pathOf(key: string): string {
    return path.join(this.root, ...assertKey(key).split('/'));
  }

  /**
   * Writes atomically; resolves with the MD5 ETag and the byte count. `beforeCommit` runs
   * once every byte is on disk, before the file takes its name: throwing discards it.
   */
  async write(
    target: string,
    body: Readable | Buffer,
    opts: WriteOptions = {},
  ): Promise<{ etag: string; bytes: number }> {
    const tmp = path.join(this.root, '.tmp', randomBytes(16).toString('hex'));
    const h = hashing();
    const source = Buffer.isBuffer(body) ? Readable.from([body]) : body;
    const max = opts.exactBytes ?? opts.maxBytes;
    try {
      if (max === undefined) await pipeline(source, h.stream, createWriteStream(tmp));
      else await pipeline(source, limitBytes(max), h.stream, createWriteStream(tmp));
      const { bytes } = h.result();
      if (opts.exactBytes !== undefined && bytes !== opts.exactBytes)
        throw new SizeMismatch(opts.exactBytes, bytes);
      await opts.beforeCommit?.();
      await mkdir(path.dirname(target), { recursive: true });
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return h.result();
  }

  async size(key: string): Promise<number | null> {
    try {
      const s = await stat(this.pathOf(key));
      return s.isFile() ? s.size : null;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async put(
    key: string,
    body: Readable | Buffer,
    _meta?: { contentType: string; size?: number },
  ): Promise<void> {
    await this.write(this.pathOf(key), body);
  }

  async openRead(key: string): Promise<Readable> {
    const file = this.pathOf(key);
    try {
      const s = await stat(file);
      if (!s.isFile()) throw new ObjectNotFound(key);
    } catch (err) {
      if (err instanceof ObjectNotFound || (err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new ObjectNotFound(key);
      }
      throw err;
    }
    return createReadStream(file);
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(key))).isFile();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    const files = keys.map((k) => this.pathOf(k));
    await Promise.all(files.map((f) => rm(f, { force: true })));
  }

  async *list(prefix: string): AsyncGenerator<string> {
    const dir = path.join(this.root, ...prefix.split('/').filter(Boolean));
    const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return [];
        throw err;
      },
    );
    for (const e of entries) {
      if (!e.isFile()) continue;
      const key = path
        .relative(this.root, path.join(e.parentPath, e.name))
        .split(path.sep)
        .join('/');
      if (isValidKey(key)) yield key;
    }
  }

  publicUrl(key: string): string {
    const encoded = assertPublicKey(key).split('/').map(encodeURIComponent).join('/');
    return `${this.opts.publicBaseUrl.replace(/\/$/, '')}/media/${encoded}`;
  }

  expiringUrl(key: string, expiresAt: number): string {
    const sig = this.opts.signMedia(assertPublicKey(key), expiresAt);
    return `${this.publicUrl(key)}?exp=${expiresAt}&sig=${sig}`;
  }

  async presignPut(
    key: string,
    object: { contentType: string; size: number },
    expiresSeconds: number,
  ): Promise<string> {
    return this.opts.presign({ key: assertKey(key), ...object }, expiresSeconds);
  }

  private partsDir(uploadId: string): string {
    if (!UPLOAD_ID.test(uploadId)) throw new MultipartError('Unknown upload id');
    return path.join(this.root, '.multipart', uploadId);
  }

  private async manifest(key: string, uploadId: string): Promise<{ key: string }> {
    let m: { key: string };
    try {
      const raw = await readFile(path.join(this.partsDir(uploadId), 'upload.json'), 'utf8');
      m = JSON.parse(raw) as { key: string };
    } catch {
      throw new MultipartError('Unknown upload id');
    }
    if (m.key !== key) throw new MultipartError('Upload id does not belong to this key');
    return m;
  }

  async startMultipart(key: string, contentType: string): Promise<string> {
    assertKey(key);
    const uploadId = randomBytes(16).toString('hex');
    const dir = this.partsDir(uploadId);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'upload.json'), JSON.stringify({ key, contentType }));
    return uploadId;
  }

  async presignPart(
    key: string,
    uploadId: string,
    partNumber: number,
    size: number,
    expiresSeconds: number,
  ): Promise<string> {
    checkPartNumber(partNumber);
    await this.manifest(key, uploadId);
    return this.opts.presign({ key, contentType: '', size, uploadId, partNumber }, expiresSeconds);
  }

  async partSizes(key: string, uploadId: string): Promise<Map<number, number>> {
    await this.manifest(key, uploadId);
    const sizes = new Map<number, number>();
    for (const name of await readdir(this.partsDir(uploadId))) {
      const m = /^part-(\d+)$/.exec(name);
      if (m) sizes.set(Number(m[1]), (await stat(path.join(this.partsDir(uploadId), name))).size);
    }
    return sizes;
  }

  /** Stores one part (the target of a part token); returns its ETag. */
  async putPart(
    key: string,
    uploadId: string,
    partNumber: number,
    body: Readable,
    opts: WriteOptions = {},
  ): Promise<{ etag: string; bytes: number }> {
    checkPartNumber(partNumber);
    await this.manifest(key, uploadId);
    const part = path.join(this.partsDir(uploadId), `part-${partNumber}`);
    const r = await this.write(part, body, opts);
    await writeFile(`${part}.etag`, r.etag);
    return r;
  }

  async completeMultipart(
    key: string,
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<void> {
    await this.manifest(key, uploadId);
    if (parts.length === 0) throw new MultipartError('No parts given');
    const dir = this.partsDir(uploadId);
    let last = 0;
    for (const p of parts) {
      checkPartNumber(p.partNumber);
      if (p.partNumber <= last) throw new MultipartError('Parts must be in ascending order');
      last = p.partNumber;
      let etag: string;
      try {
        etag = await readFile(path.join(dir, `part-${p.partNumber}.etag`), 'utf8');
      } catch {
        throw new MultipartError(`Part ${p.partNumber} was not uploaded`);
      }
      if (unquote(etag) !== unquote(p.etag)) {
        throw new MultipartError(`Part ${p.partNumber} ETag does not match`);
      }
    }
    const files = parts.map((p) => path.join(dir, `part-${p.partNumber}`));
    await this.write(this.pathOf(key), Readable.from(concat(files)));
    await rm(dir, { recursive: true, force: true });
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    try {
      await this.manifest(key, uploadId);
    } catch {
      return; // already gone: aborting is idempotent
    }
    await rm(this.partsDir(uploadId), { recursive: true, force: true });
  }

  /** Removes temp files and multipart uploads older than `olderThanMs` (crashed writers). */
  async sweep(olderThanMs: number): Promise<void> {
    const cutoff = Date.now() - olderThanMs;
    for (const sub of ['.tmp', '.multipart']) {
      const dir = path.join(this.root, sub);
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        const p = path.join(dir, name);
        const s = await stat(p).catch(() => null);
        if (s && s.mtimeMs < cutoff) await rm(p, { recursive: true, force: true });
      }
    }
  }
}

async function* concat(files: string[]): AsyncGenerator<Buffer> {
  for (const f of files) {
    for await (const chunk of createReadStream(f)) yield chunk as Buffer;
  }
}

function unquote(etag: string): string {
  return etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
}

function checkPartNumber(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_PARTS) {
    throw new MultipartError(`Part number must be 1-${MAX_PARTS}`);
  }
}

export class SizeMismatch extends Error {
  readonly expected: number;
  readonly bytes: number;
  constructor(expected: number, bytes: number) {
    super(`Got ${bytes} bytes, expected ${expected}`);
    this.name = 'SizeMismatch';
    this.expected = expected;
    this.bytes = bytes;
  }
}

export class TooLarge extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(`Body exceeds ${limit} bytes`);
    this.name = 'TooLarge';
    this.limit = limit;
  }
}

/** Passes bytes through until more than `max` have been seen, then fails the pipeline. */
export function limitBytes(max: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > max) cb(new TooLarge(max));
      else cb(null, chunk);
    },
  });
}
