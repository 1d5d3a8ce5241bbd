// Objects to delete (posts.object_trash): a key is queued in the same transaction that stops
// using it, deleted from storage right after the commit, and dequeued. What a crash or a
// storage failure leaves queued, the janitor deletes (runJanitorOnce). Keys being written
// are queued with a later due time first, so a crash mid-write strands nothing either.
import type pg from 'pg';
import type { AppContext } from './context.js';
import { withTransaction } from '../../../lib/platform/db.js';

/** Queues keys for deletion `delaySeconds` from now (0: as soon as the transaction commits). */
export async function queueForDeletion(
  db: pg.Pool | pg.PoolClient,
  keys: readonly string[],
  delaySeconds = 0,
): Promise<void> {
  if (keys.length === 0) return;
  await db.query(
    `INSERT INTO posts.object_trash (key, due_at)
     SELECT k, now() + $2 * interval '1 second' FROM unnest($1::text[]) AS k
     ON CONFLICT (key) DO UPDATE SET due_at = excluded.due_at`,
    [[...new Set(keys)], delaySeconds],
  );
}

/** Takes keys off the queue (they are in use after all). */
export async function unqueue(db: pg.Pool | pg.PoolClient, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  await db.query('DELETE FROM posts.object_trash WHERE key = ANY($1::text[])', [[...keys]]);
}

/**
 * Deletes due objects (only `keys`, when given) and their queue rows: one batch, claimed with
 * SKIP LOCKED so several replicas never delete the same batch twice. Returns how many.
 */
export async function deleteDueObjects(
  app: AppContext,
  batchSize: number,
  keys?: readonly string[],
): Promise<number> {
  return withTransaction(app.pool, async (client) => {
    const { rows } = await client.query<{ key: string }>(
      `SELECT key FROM posts.object_trash
       WHERE due_at <= now() AND ($2::text[] IS NULL OR key = ANY($2::text[]))
       ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [batchSize, keys ? [...keys] : null],
    );
    if (rows.length) {
      await app.storage.delete(rows.map((r) => r.key));
      await client.query('DELETE FROM posts.object_trash WHERE key = ANY($1::text[])', [
        rows.map((r) => r.key),
      ]);
    }
    return rows.length;
  });
}
