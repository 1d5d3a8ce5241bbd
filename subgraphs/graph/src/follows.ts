// Follow edges and their counters. Each change touches the edge, both users' counters and
// the outbox in one transaction, and only when the edge really changed, so following twice
// or unfollowing a stranger changes nothing and counts stay exact under any concurrency.
import { badInput, notFound } from '../../../lib/contracts/errors.js';
import { enqueue } from '../../../lib/platform/outbox/outbox.js';
import type { Prisma } from '../../../lib/platform/db.js';
import type { AppContext } from './context.js';

type Tx = Prisma.TransactionClient;

const KNOWN_USERS_CAP = 100_000;

/** NOT_FOUND unless the id is an account. Asks the user subgraph at most once per id. */
async function requireUser(app: AppContext, userId: bigint): Promise<void> {
  const id = userId.toString();
  if (app.knownUsers.has(id)) return;
  const [existing] = await app.users.existing([id]);
  if (existing !== id) throw notFound('No such user');
  if (app.knownUsers.size >= KNOWN_USERS_CAP) app.knownUsers.clear();
  app.knownUsers.add(id);
}

/**
 * Adds `delta` to the followee's follower count and the follower's following count.
 * Rows are locked in ascending user id order so that A→B and B→A at the same time
 * cannot deadlock; returns the followee's new follower count.
 */
async function bumpCounters(
  tx: Tx,
  followerId: bigint,
  followeeId: bigint,
  delta: 1 | -1,
): Promise<number> {
  const rows = [
    { userId: followerId, followers: 0, following: delta },
    { userId: followeeId, followers: delta, following: 0 },
  ].sort((a, b) => (a.userId < b.userId ? -1 : 1));
  let followeeCount = 0;
  for (const r of rows) {
    const [row] = await tx.$queryRaw<{ follower_count: bigint }[]>`
      INSERT INTO graph.user_stats AS s (user_id, follower_count, following_count)
      VALUES (${r.userId}, ${Math.max(r.followers, 0)}::int, ${Math.max(r.following, 0)}::int)
      ON CONFLICT (user_id) DO UPDATE SET
        follower_count = s.follower_count + ${r.followers}::int,
        following_count = s.following_count + ${r.following}::int
      RETURNING follower_count`;
    if (r.userId === followeeId) followeeCount = Number(row!.follower_count);
  }
  return followeeCount;
}

// Two transactions can still deadlock through index pages in rare cases; Postgres aborts
// one of them, and a retry is the correct answer.
async function retryOnDeadlock<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const text = `${(err as { code?: string }).code ?? ''} ${(err as Error).message ?? ''}`;
      if (attempt >= 5 || !/40P01|40001|deadlock|could not serialize/i.test(text)) throw err;
      await new Promise((r) => setTimeout(r, 5 * attempt + Math.random() * 20));
    }
  }
}

function checkPair(followerId: bigint, followeeId: bigint): void {
  if (followerId === followeeId) throw badInput('You cannot follow yourself', 'userId');
}

/** Returns true when a new edge was created. */
export async function follow(
  app: AppContext,
  followerId: bigint,
  followeeId: bigint,
): Promise<boolean> {
  checkPair(followerId, followeeId);
  await requireUser(app, followeeId);
  return retryOnDeadlock(() =>
    app.prisma.$transaction(async (tx) => {
      const inserted = await tx.$queryRaw<{ created_at: Date }[]>`
        INSERT INTO graph.follows (follower_id, followee_id) VALUES (${followerId}, ${followeeId})
        ON CONFLICT DO NOTHING
        RETURNING created_at`;
      const edge = inserted[0];
      if (!edge) return false;
      const followeeFollowerCount = await bumpCounters(tx, followerId, followeeId, 1);
      await enqueue(tx, 'graph', 'graph.followed', {
        v: 1,
        followerId: followerId.toString(),
        followeeId: followeeId.toString(),
        createdAt: edge.created_at.toISOString(),
        followeeFollowerCount,
      });
      return true;
    }),
  );
}

/** Returns true when an edge was removed. */
export async function unfollow(
  app: AppContext,
  followerId: bigint,
  followeeId: bigint,
): Promise<boolean> {
  checkPair(followerId, followeeId);
  const removed = await retryOnDeadlock(() =>
    app.prisma.$transaction(async (tx) => {
      const deleted = await tx.$queryRaw<{ seq: bigint }[]>`
        DELETE FROM graph.follows WHERE follower_id = ${followerId} AND followee_id = ${followeeId}
        RETURNING seq`;
      if (deleted.length === 0) return false;
      const followeeFollowerCount = await bumpCounters(tx, followerId, followeeId, -1);
      await enqueue(tx, 'graph', 'graph.unfollowed', {
        v: 1,
        followerId: followerId.toString(),
        followeeId: followeeId.toString(),
        at: new Date().toISOString(),
        followeeFollowerCount,
      });
      return true;
    }),
  );
  // Unfollowing someone you never followed is fine, but not an account that does not exist.
  if (!removed) await requireUser(app, followeeId);
  return removed;
}

export interface EdgePage {
  /** The other end of each edge, newest edge first. */
  ids: bigint[];
  seqs: bigint[];
}

/**
 * One page of a user's followers (`direction = 'followers'`) or followees, newest first,
 * strictly older than the `before` edge. Index-only scan on (user, seq DESC).
 */
export async function edgePage(
  app: AppContext,
  userId: bigint,
  direction: 'followers' | 'following',
  before: bigint | null,
  limit: number,
): Promise<EdgePage> {
  const sql =
    direction === 'followers'
      ? `SELECT follower_id AS id, seq FROM graph.follows
         WHERE followee_id = $1 AND ($2::bigint IS NULL OR seq < $2) ORDER BY seq DESC LIMIT $3`
      : `SELECT followee_id AS id, seq FROM graph.follows
         WHERE follower_id = $1 AND ($2::bigint IS NULL OR seq < $2) ORDER BY seq DESC LIMIT $3`;
  const { rows } = await app.pool.query<{ id: string; seq: string }>(sql, [
    userId.toString(),
    before?.toString() ?? null,
    limit,
  ]);
  return { ids: rows.map((r) => BigInt(r.id)), seqs: rows.map((r) => BigInt(r.seq)) };
}

/** Of these users, the ones with at least `threshold` followers. */
export async function celebritiesAmong(app: AppContext, ids: readonly bigint[]): Promise<bigint[]> {
  if (ids.length === 0) return [];
  const { rows } = await app.pool.query<{ user_id: string }>(
    'SELECT user_id FROM graph.user_stats WHERE user_id = ANY($1::bigint[]) AND follower_count >= $2',
    [ids.map(String), app.cfg.CELEBRITY_FOLLOWER_THRESHOLD],
  );
  return rows.map((r) => BigInt(r.user_id));
}

/** The celebrities a user follows (their posts are pulled into the user's feed at read time). */
export async function celebritiesFollowedBy(app: AppContext, userId: bigint): Promise<bigint[]> {
  const { rows } = await app.pool.query<{ followee_id: string }>(
    `SELECT f.followee_id FROM graph.follows f
     JOIN graph.user_stats s ON s.user_id = f.followee_id
     WHERE f.follower_id = $1 AND s.follower_count >= $2`,
    [userId.toString(), app.cfg.CELEBRITY_FOLLOWER_THRESHOLD],
  );
  return rows.map((r) => BigInt(r.followee_id));
}
