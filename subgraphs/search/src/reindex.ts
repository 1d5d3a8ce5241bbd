// Rebuilds the search index from the post and user subgraphs' data (their internal APIs;
// never their tables): every live post is written as it is now, posts indexed here but no
// longer listed become tombstones, hashtag counts are recomputed, and every account's
// profile is written unless a newer one is indexed. Follower counts are not rebuilt: the
// graph has no batch route for them, so they stay as graph.followed / graph.unfollowed
// left them. Safe while the indexer runs: tombstones are kept, and versions only move forward.
import type { PostClient } from '../../../lib/clients/post-client.js';
import type { UserClient } from '../../../lib/clients/user-client.js';
import { idAt } from '../../../lib/contracts/ids.js';
import type { AppContext } from './context.js';
import { recountHashtags, tombstoneMissing, upsertBatch } from './index-store.js';
import { applyProfiles, indexedUsers } from './user-store.js';

export interface ReindexProgress {
  posts: number;
  removed: number;
  /** Accounts written so far (they come after the posts). */
  users: number;
  /** Approximate share done (0..1), from the id range covered so far. */
  fraction: number;
}

export async function reindex(
  app: AppContext,
  sources: { posts: PostClient; users: UserClient },
  opts: { batchSize?: number; onProgress?: (p: ReindexProgress) => void } = {},
): Promise<{ posts: number; removed: number; users: number }> {
  const { posts, users } = sources;
  const limit = opts.batchSize ?? 1000;
  const startedAt = Date.now();
  // Progress: posts done over the post subgraph's estimate when it has one, else the share
  // of the id range covered (ids are time-sortable, so that is the share of time).
  const endId = idAt(new Date());
  let firstId: bigint | null = null;
  let estimate = -1;
  let after: string | null = null;
  let total = 0;
  let removed = 0;
  let listed = 0;
  for (;;) {
    const batch = await posts.livePosts({ after, limit });
    const written = await upsertBatch(app.pool, batch.posts);
    await app.backend.upsert(written);
    const last = batch.posts.at(-1)?.id;
    // Ids in (after, last] that the post subgraph did not list are deleted there.
    const upTo = batch.next === null ? (1n << 63n) - 1n : BigInt(last!);
    const gone = await tombstoneMissing(
      app.pool,
      batch.posts.map((p) => p.id),
      after,
      String(upTo),
    );
    await app.backend.remove(gone);
    total += written.length;
    removed += gone.length;
    listed += batch.posts.length;
    if (batch.estimatedTotal !== undefined) estimate = batch.estimatedTotal;
    firstId ??= batch.posts[0] ? BigInt(batch.posts[0].id) : null;
    // Posts are most of the work (95 %); people take the rest.
    let fraction = 0.95;
    if (batch.next !== null) {
      fraction =
        estimate > 0
          ? listed / estimate
          : firstId !== null && endId > firstId
            ? Number(((BigInt(last!) - firstId) * 1000n) / (endId - firstId)) / 1000
            : 0;
      fraction = Math.max(0, Math.min(0.94, fraction * 0.95));
    }
    opts.onProgress?.({ posts: total, removed, users: 0, fraction });
    if (batch.next === null) break;
    after = batch.next;
  }
  await recountHashtags(app.pool);

  let people = 0;
  let userAfter: string | null = null;
  for (;;) {
    const batch = await users.listUsers({ after: userAfter, limit });
    await applyProfiles(
      app.pool,
      batch.users.map((u) => ({
        userId: u.id,
        username: u.username,
        displayName: u.displayName,
        at: u.updatedAt,
      })),
    );
    // The engine gets every listed account as indexed now (newer events included).
    await app.backend.upsertUsers(
      await indexedUsers(
        app.pool,
        batch.users.map((u) => u.id),
      ),
    );
    people += batch.users.length;
    const done = batch.next === null;
    opts.onProgress?.({ posts: total, removed, users: people, fraction: done ? 1 : 0.97 });
    if (done) break;
    userAfter = batch.next;
  }
  await app.backend.flush();
  app.logger.info(
    { posts: total, removed, users: people, ms: Date.now() - startedAt },
    'search reindexed',
  );
  return { posts: total, removed, users: people };
}
