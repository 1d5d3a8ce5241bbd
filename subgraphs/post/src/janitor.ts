// The media janitor: deletes media never attached to a post within the grace period, the
// objects of deleted posts, with their rows, upload originals left after their upload
// ended (a late PUT to a presigned URL), and queued objects a request could not delete
// (replaced avatars, crops of an avatar change that never committed: object-trash.ts). Safe with several replicas: rows are
// claimed with FOR UPDATE SKIP LOCKED, and the objects are deleted while the claim holds,
// so a createPost racing the janitor either attaches the media first (and the janitor
// skips it) or waits and then finds the media gone (NOT_FOUND).
import type { AppContext } from './context.js';
import { deleteDueObjects } from './object-trash.js';
import { uploadKeyMediaId } from './uploads/records.js';
import { UPLOAD_PREFIX } from './storage/keys.js';
import { withTransaction } from '../../../lib/platform/db.js';

export interface JanitorPass {
  /** Unattached media rows deleted (with their objects). */
  orphanedMedia: number;
  /** Deleted posts whose objects were removed. */
  purgedPosts: number;
  /** Upload originals removed whose upload was over (completed, failed or gone). */
  strayUploads: number;
  /** Queued objects deleted (posts.object_trash rows that were due). */
  trashedObjects: number;
}

// pg returns bigint columns as decimal strings.
interface ClaimedMedia {
  id: string;
  object_keys: string[];
  upload_key: string | null;
  upload_multipart_id: string | null;
}

function keysOf(rows: readonly ClaimedMedia[]): string[] {
  const keys = new Set<string>();
  for (const r of rows) {
    for (const k of r.object_keys) keys.add(k);
    if (r.upload_key) keys.add(r.upload_key);
  }
  return [...keys];
}

async function removeObjects(app: AppContext, rows: readonly ClaimedMedia[]): Promise<void> {
  for (const r of rows) {
    if (r.upload_key && r.upload_multipart_id) {
      await app.storage
        .abortMultipart(r.upload_key, r.upload_multipart_id)
        .catch((err: unknown) => app.logger.debug({ err }, 'abort multipart upload'));
    }
  }
  const keys = keysOf(rows);
  if (keys.length) await app.storage.delete(keys);
}

/** One batch of unattached media older than the grace period. */
async function collectOrphans(
  app: AppContext,
  graceHours: number,
  batchSize: number,
): Promise<number> {
  return withTransaction(app.pool, async (client) => {
    const { rows } = await client.query<ClaimedMedia>(
      `SELECT id, object_keys, upload_key, upload_multipart_id FROM posts.media
       WHERE attached_at IS NULL AND created_at <= now() - $1 * interval '1 hour'
       ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [graceHours, batchSize],
    );
    if (rows.length) {
      await removeObjects(app, rows);
      await client.query('DELETE FROM posts.media WHERE id = ANY($1::bigint[])', [
        rows.map((r) => r.id),
      ]);
    }
    return rows.length;
  });
}

/** One batch of deleted posts (or just `postId`): their media objects and rows go. */
async function purgeDeletedPosts(
  app: AppContext,
  batchSize: number,
  postId?: bigint,
): Promise<number> {
  return withTransaction(app.pool, async (client) => {
    const { rows: posts } = await client.query<{ id: string }>(
      `SELECT id FROM posts.posts
       WHERE deleted_at IS NOT NULL AND purged_at IS NULL AND ($2::bigint IS NULL OR id = $2)
       ORDER BY deleted_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [batchSize, postId?.toString() ?? null],
    );
    if (posts.length) {
      const ids = posts.map((p) => p.id);
      const { rows: media } = await client.query<ClaimedMedia>(
        `SELECT m.id, m.object_keys, m.upload_key, m.upload_multipart_id
         FROM posts.post_media pm JOIN posts.media m ON m.id = pm.media_id
         WHERE pm.post_id = ANY($1::bigint[]) FOR UPDATE OF m`,
        [ids],
      );
      await removeObjects(app, media);
      // The post row stays as a tombstone (deleted_at); its carousel rows go with the media.
      await client.query('DELETE FROM posts.media WHERE id = ANY($1::bigint[])', [
        media.map((m) => m.id),
      ]);
      await client.query('UPDATE posts.posts SET purged_at = now() WHERE id = ANY($1::bigint[])', [
        ids,
      ]);
    }
    return posts.length;
  });
}

/**
 * Deletes every object under the upload prefix whose media row no longer awaits it: the
 * row is READY or FAILED, or gone. A presigned S3 PUT cannot be revoked, so a late PUT
 * after completeUpload lands in the bucket; this is what removes it. PROCESSING rows
 * (still uploading, or being completed right now) keep their original.
 */
async function sweepUploads(app: AppContext, batchSize: number): Promise<number> {
  let removed = 0;
  let batch: string[] = [];
  const flush = async () => {
    const ids = [...new Set(batch.map((k) => uploadKeyMediaId(k)?.toString() ?? '0'))];
    const { rows } = await app.pool.query<{ id: string }>(
      `SELECT id::text AS id FROM posts.media WHERE id = ANY($1::bigint[]) AND status = 'PROCESSING'`,
      [ids],
    );
    const open = new Set(rows.map((r) => r.id));
    const stray = batch.filter((k) => !open.has(uploadKeyMediaId(k)?.toString() ?? ''));
    if (stray.length) await app.storage.delete(stray);
    removed += stray.length;
    batch = [];
  };
  for await (const key of app.storage.list(UPLOAD_PREFIX)) {
    batch.push(key);
    if (batch.length >= batchSize) await flush();
  }
  if (batch.length) await flush();
  return removed;
}

/** Removes a just-deleted post's objects (called right after deletePost commits). */
export async function purgePost(app: AppContext, postId: bigint): Promise<boolean> {
  return (await purgeDeletedPosts(app, 1, postId)) > 0;
}

/** Runs the janitor until nothing is due (tests call this; the timer below does too). */
export async function runJanitorOnce(
  app: AppContext,
  opts: { graceHours?: number; batchSize?: number } = {},
): Promise<JanitorPass> {
  const graceHours = opts.graceHours ?? app.settings.MEDIA_ORPHAN_GRACE_HOURS;
  const batchSize = opts.batchSize ?? 100;
  const pass: JanitorPass = {
    orphanedMedia: 0,
    purgedPosts: 0,
    strayUploads: 0,
    trashedObjects: 0,
  };
  for (;;) {
    const n = await collectOrphans(app, graceHours, batchSize);
    pass.orphanedMedia += n;
    if (n < batchSize) break;
  }
  for (;;) {
    const n = await purgeDeletedPosts(app, batchSize);
    pass.purgedPosts += n;
    if (n < batchSize) break;
  }
  for (;;) {
    const n = await deleteDueObjects(app, batchSize);
    pass.trashedObjects += n;
    if (n < batchSize) break;
  }
  pass.strayUploads = await sweepUploads(app, batchSize);
  return pass;
}

export interface Janitor {
  stop(): Promise<void>;
}

/** Runs a pass every MEDIA_JANITOR_INTERVAL_SECONDS (0: never) in this process. */
export function startJanitor(app: AppContext): Janitor {
  const everyMs = app.settings.MEDIA_JANITOR_INTERVAL_SECONDS * 1000;
  if (everyMs === 0) return { stop: async () => {} };
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    running = runJanitorOnce(app)
      .then((pass) => {
        if (pass.orphanedMedia || pass.purgedPosts || pass.strayUploads || pass.trashedObjects)
          app.logger.info(pass, 'media janitor pass');
      })
      .catch((err: unknown) => app.logger.warn({ err }, 'media janitor pass failed'))
      .finally(() => {
        running = null;
      });
  }, everyMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
