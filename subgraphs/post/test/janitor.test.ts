// The media janitor: unattached media past the grace period go with their objects;
// attached, recent and deleted-post media are treated right; concurrent passes (several
// replicas) never process a row twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJanitorOnce } from '../src/janitor.js';
import { startPostStack, type PostStack } from './support/post-stack.js';

let stack: PostStack;

beforeAll(async () => {
  stack = await startPostStack();
});
afterAll(async () => {
  await stack?.close();
});

/** A READY media row with one stored object, created `hoursAgo` hours ago. */
async function mediaWithObject(
  ownerId: string,
  hoursAgo: number,
): Promise<{ id: string; key: string }> {
  const rows = await stack.iso.query<{ id: string }>(
    `INSERT INTO posts.media (owner_id, type, status, mime_type, storage_key, created_at)
     VALUES ($1, 'IMAGE', 'READY', 'image/png', 'pending', now() - $2 * interval '1 hour')
     RETURNING id::text`,
    [ownerId, hoursAgo],
  );
  const id = rows[0]!.id;
  const key = `m/${id}/w320.png`;
  await stack.app.storage.put(key, Buffer.from(`object of ${id}`), { contentType: 'image/png' });
  await stack.iso.query(
    `UPDATE posts.media SET storage_key = $2, object_keys = ARRAY[$2] WHERE id = $1`,
    [id, key],
  );
  return { id, key };
}

describe('media janitor', () => {
  it('collects only unattached media past the grace period, once, across concurrent passes', async () => {
    const old = await Promise.all(Array.from({ length: 25 }, () => mediaWithObject('7', 25)));
    const recent = await mediaWithObject('7', 1);
    const attached = await mediaWithObject('7', 48);
    await stack.iso.query(`UPDATE posts.media SET attached_at = now() WHERE id = $1`, [
      attached.id,
    ]);

    const passes = await Promise.all([
      runJanitorOnce(stack.app, { batchSize: 5 }),
      runJanitorOnce(stack.app, { batchSize: 5 }),
      runJanitorOnce(stack.app, { batchSize: 5 }),
    ]);
    expect(passes.reduce((n, p) => n + p.orphanedMedia, 0)).toBe(25);

    const left = await stack.iso.query<{ id: string }>(`SELECT id::text FROM posts.media`);
    expect(left.map((r) => r.id).sort()).toEqual([recent.id, attached.id].sort());
    const files = await stack.storedFiles();
    for (const m of old) expect(files).not.toContain(m.key);
    expect(files).toEqual(expect.arrayContaining([recent.key, attached.key]));
  });

  it("removes a deleted post's objects and keeps the post as a tombstone", async () => {
    const m = await mediaWithObject('8', 0);
    const post = await stack.iso.query<{ id: string }>(
      `INSERT INTO posts.posts (author_id, caption, deleted_at) VALUES (8, 'gone', now()) RETURNING id::text`,
    );
    await stack.iso.query(
      `INSERT INTO posts.post_media (post_id, media_id, position) VALUES ($1, $2, 0)`,
      [post[0]!.id, m.id],
    );
    await stack.iso.query(`UPDATE posts.media SET attached_at = now() WHERE id = $1`, [m.id]);

    const pass = await stack.janitor();
    expect(pass.purgedPosts).toBe(1);
    expect(await stack.storedFiles()).not.toContain(m.key);
    const rows = await stack.iso.query<{ purged: boolean }>(
      `SELECT purged_at IS NOT NULL AS purged FROM posts.posts WHERE id = $1`,
      [post[0]!.id],
    );
    expect(rows).toEqual([{ purged: true }]);
    expect((await stack.janitor()).purgedPosts).toBe(0);
  });
});
