// Avatars (setAvatar): one of the user's own READY, unattached images becomes their avatar.
// Its square crops (media/avatar.ts) are written as new objects, then one transaction points
// posts.avatars at the media row, replaces the row's variants with the crops, marks it
// attached (createPost refuses it with CONFLICT; the janitor's orphan pass skips it), retires
// the previous avatar's row and queues every object no longer used for deletion
// (object-trash.ts): deleted right after the commit, by the janitor if that fails.
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type pg from 'pg';
import { badInput, conflict, forbidden, notFound } from '../../../lib/contracts/errors.js';
import type { AppContext } from './context.js';
import { makeAvatarCrops } from './media/avatar.js';
import type { StoredVariant } from './media/processed.js';
import { deleteDueObjects, queueForDeletion, unqueue } from './object-trash.js';
import { ObjectNotFound } from './storage/keys.js';
import { withTransaction } from '../../../lib/platform/db.js';

// pg returns bigint columns as decimal strings.
interface MediaState {
  id: string;
  owner_id: string;
  status: string;
  type: string | null;
  mime_type: string | null;
  storage_key: string | null;
  object_keys: string[];
  attached_at: Date | null;
  avatar_of: string | null;
}

const MEDIA_STATE = `SELECT m.id, m.owner_id, m.status, m.type, m.mime_type, m.storage_key,
  m.object_keys, m.attached_at, a.user_id AS avatar_of
  FROM posts.media m LEFT JOIN posts.avatars a ON a.media_id = m.id WHERE m.id = $1`;

/** A crop being written stays queued this long: a crash mid-setAvatar strands nothing. */
const IN_FLIGHT_SECONDS = 3600;

/** Serializes one user's avatar changes (the avatar row may not exist yet to lock). */
const lockUser = (c: pg.PoolClient, userId: bigint) =>
  c.query(`SELECT pg_advisory_xact_lock(hashtext('posts.avatars'), hashtext($1))`, [
    userId.toString(),
  ]);

/** The setAvatar rules, in order; 'current' when the media already is the viewer's avatar. */
function check(m: MediaState | undefined, viewerId: bigint): 'current' | 'ok' {
  if (!m) throw notFound('mediaId: no such media');
  if (m.owner_id !== viewerId.toString()) throw forbidden('mediaId is not your media');
  if (m.avatar_of === viewerId.toString()) return 'current';
  if (m.status !== 'READY')
    throw badInput(
      m.status === 'PROCESSING'
        ? 'mediaId is still processing; try again when it is ready'
        : 'mediaId could not be processed',
      'mediaId',
    );
  if (m.type !== 'IMAGE') throw badInput('An avatar must be an image, not a video', 'mediaId');
  if (m.attached_at) throw conflict('mediaId is already used in a post', 'mediaId');
  return 'ok';
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Deletes the objects just queued (best effort: the janitor retries what fails). */
async function deleteNow(app: AppContext, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  await deleteDueObjects(app, keys.length, keys).catch((err: unknown) =>
    app.logger.warn({ err }, 'deleting replaced avatar objects failed; the janitor retries'),
  );
}

/** Retires the user's avatar row inside `c`'s transaction; returns the keys to delete. */
async function retireAvatar(c: pg.PoolClient, userId: bigint): Promise<string[]> {
  const { rows } = await c.query<{ id: string; object_keys: string[] }>(
    `SELECT m.id, m.object_keys FROM posts.avatars a JOIN posts.media m ON m.id = a.media_id
     WHERE a.user_id = $1 FOR UPDATE OF m`,
    [userId.toString()],
  );
  const old = rows[0];
  if (!old) return [];
  await queueForDeletion(c, old.object_keys);
  // The avatar row goes with it (ON DELETE CASCADE).
  await c.query('DELETE FROM posts.media WHERE id = $1', [old.id]);
  return old.object_keys;
}

/** setAvatar(mediaId): makes the media the viewer's avatar; null removes the avatar. */
export async function setAvatar(
  app: AppContext,
  viewerId: bigint,
  mediaId: bigint | null,
): Promise<void> {
  if (mediaId === null) {
    const retired = await withTransaction(app.pool, async (c) => {
      await lockUser(c, viewerId);
      return retireAvatar(c, viewerId);
    });
    await deleteNow(app, retired);
    return;
  }

  // Checked before any work, and again under the row lock below.
  const { rows } = await app.pool.query<MediaState>(MEDIA_STATE, [mediaId.toString()]);
  const source = rows[0];
  if (check(source, viewerId) === 'current') return;

  let image: Buffer;
  try {
    image = await readAll(await app.storage.openRead(source!.storage_key!));
  } catch (err) {
    // Retired by a concurrent setAvatar or the janitor since the check above.
    if (err instanceof ObjectNotFound) throw conflict('mediaId changed meanwhile; try again');
    throw err;
  }
  const { crops, blurhash } = await makeAvatarCrops(image, source!.mime_type ?? 'image/jpeg');
  // A fresh folder per call: a concurrent setAvatar of the same media never overwrites.
  const folder = `a/${mediaId}/${randomBytes(6).toString('hex')}`;
  const variants: StoredVariant[] = crops.map((c) => ({
    width: c.size,
    height: c.size,
    mimeType: c.mimeType,
    key: `${folder}/s${c.size}.${c.ext}`,
    bytes: c.data.length,
  }));
  const keys = variants.map((v) => v.key);

  await queueForDeletion(app.pool, keys, IN_FLIGHT_SECONDS);
  let retired: string[];
  try {
    for (const [i, c] of crops.entries())
      await app.storage.put(keys[i]!, c.data, { contentType: c.mimeType, size: c.data.length });
    retired = await withTransaction(app.pool, async (c) => {
      await lockUser(c, viewerId);
      const { rows: locked } = await c.query<MediaState>(`${MEDIA_STATE} FOR UPDATE OF m`, [
        mediaId.toString(),
      ]);
      if (check(locked[0], viewerId) === 'current') {
        // A concurrent call made it the avatar first: our crops are not needed.
        await queueForDeletion(c, keys);
        return keys;
      }
      const previous = await retireAvatar(c, viewerId);
      const largest = variants.at(-1)!;
      await queueForDeletion(c, locked[0]!.object_keys);
      await c.query(
        `UPDATE posts.media SET mime_type = $2, width = $3, height = $3, blurhash = $4,
           storage_key = $5, variants = $6::jsonb, object_keys = $7, attached_at = now()
         WHERE id = $1`,
        [
          mediaId.toString(),
          largest.mimeType,
          largest.width,
          blurhash,
          largest.key,
          JSON.stringify(variants),
          keys,
        ],
      );
      await c.query(
        `INSERT INTO posts.avatars (user_id, media_id) VALUES ($1, $2)
         ON CONFLICT (user_id) DO UPDATE SET media_id = excluded.media_id, set_at = now()`,
        [viewerId.toString(), mediaId.toString()],
      );
      await unqueue(c, keys);
      return [...previous, ...locked[0]!.object_keys];
    });
  } catch (err) {
    // Nothing of this call is kept: its crops go now (or with the janitor within the hour).
    await queueForDeletion(app.pool, keys)
      .then(() => deleteNow(app, keys))
      .catch(() => {});
    throw err;
  }
  await deleteNow(app, retired);
}
