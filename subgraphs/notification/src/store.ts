// Writing notifications. Every step is last-writer-wins on event times, so delivery at least
// once, in any order, converges: an actor row remembers the time of the latest event about
// it (an add or a withdrawal), deleted posts and comments leave tombstones and blocks are kept
// as the graph events left them. A redelivered event finds its own time already written and
// changes nothing; an older event arriving after a newer one loses to it. Each change locks
// its notification row first (INSERT … ON CONFLICT DO UPDATE), so concurrent events about the
// same group serialise on it and actor_count stays exact.
import type pg from 'pg';

export type NotificationKind =
  | 'FOLLOWED'
  | 'FOLLOW_REQUESTED'
  | 'FOLLOW_ACCEPTED'
  | 'LIKED'
  | 'COMMENTED'
  | 'REPLIED'
  | 'MENTIONED';

/** Which notification an event is about: the recipient's group of `kind` named by `groupKey`. */
export interface Target {
  recipientId: string;
  kind: NotificationKind;
  /** What makes it one notification (the post for LIKED, the comment, the actor for follows). */
  groupKey: string;
  postId?: string | null;
  postAuthorId?: string | null;
  commentId?: string | null;
}

export type Db = pg.PoolClient;

/** Locks (creating it if missing) the notification row of a target; returns its id. */
async function lockNotification(db: Db, t: Target, at: string): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO notification.notifications
       (recipient_id, kind, group_key, post_id, post_author_id, comment_id, latest_activity_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (recipient_id, kind, group_key)
       DO UPDATE SET recipient_id = EXCLUDED.recipient_id
     RETURNING id::text`,
    [
      t.recipientId,
      t.kind,
      t.groupKey,
      t.postId ?? null,
      t.postAuthorId ?? null,
      t.commentId ?? null,
      at,
    ],
  );
  return rows[0]!.id;
}

/** True when a block, either way, stands between the two users. */
async function blockedBetween(db: Db, a: string, b: string): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT 1 FROM notification.blocks
      WHERE active AND ((blocker_id = $1 AND blocked_id = $2) OR (blocker_id = $2 AND blocked_id = $1))`,
    [a, b],
  );
  return rows.length > 0;
}

async function tombstoned(db: Db, t: Target): Promise<boolean> {
  if (!t.postId && !t.commentId) return false;
  const { rows } = await db.query(
    `SELECT 1 FROM notification.tombstones
      WHERE (subject = 'post' AND id = $1) OR (subject = 'comment' AND id = $2)`,
    [t.postId ?? null, t.commentId ?? null],
  );
  return rows.length > 0;
}

/**
 * `actorId` did something for the target's recipient at `at`. Nothing for acting on one's own
 * content, across a block, or about a deleted post or comment; nothing either when the actor's
 * row already holds this event or a later one. A newer event about an active actor (a follow
 * again after an unfollow) counts as new activity. Returns true when the notification changed.
 */
export async function addActivity(
  db: Db,
  t: Target,
  actorId: string,
  at: string,
): Promise<boolean> {
  if (actorId === t.recipientId) return false;
  if (await blockedBetween(db, actorId, t.recipientId)) return false;
  if (await tombstoned(db, t)) return false;
  const id = await lockNotification(db, t, at);
  const { rows } = await db.query<{ active: boolean; newer: boolean }>(
    `SELECT active, at >= $3::timestamptz AS newer FROM notification.actors
      WHERE notification_id = $1 AND actor_id = $2`,
    [id, actorId, at],
  );
  const prior = rows[0];
  if (prior?.newer) return false;
  await db.query(
    `INSERT INTO notification.actors (notification_id, actor_id, at, active) VALUES ($1, $2, $3, true)
     ON CONFLICT (notification_id, actor_id) DO UPDATE SET at = EXCLUDED.at, active = true`,
    [id, actorId, at],
  );
  await db.query(
    `UPDATE notification.notifications
        SET actor_count = actor_count + $2, is_read = false,
            latest_activity_at = greatest(latest_activity_at, $3::timestamptz)
      WHERE id = $1`,
    [id, prior?.active ? 0 : 1, at],
  );
  return true;
}

/**
 * `actorId` withdrew what they did (an unlike, a removed request, a mention edited away) at
 * `at`. Leaves a withdrawn row even when the add has not arrived yet, so that add, older,
 * changes nothing when it does. latest_activity_at stays: rows never move down a page.
 */
export async function withdrawActivity(
  db: Db,
  t: Target,
  actorId: string,
  at: string,
): Promise<boolean> {
  const id = await lockNotification(db, t, at);
  const { rows } = await db.query<{ active: boolean; newer: boolean }>(
    `SELECT active, at > $3::timestamptz AS newer FROM notification.actors
      WHERE notification_id = $1 AND actor_id = $2`,
    [id, actorId, at],
  );
  const prior = rows[0];
  if (prior?.newer) return false;
  await db.query(
    `INSERT INTO notification.actors (notification_id, actor_id, at, active) VALUES ($1, $2, $3, false)
     ON CONFLICT (notification_id, actor_id) DO UPDATE SET at = EXCLUDED.at, active = false`,
    [id, actorId, at],
  );
  if (!prior?.active) return false;
  await db.query(
    `UPDATE notification.notifications SET actor_count = actor_count - 1 WHERE id = $1`,
    [id],
  );
  return true;
}

/**
 * Withdraws every active actor of the notifications `where` selects (rows locked in id order,
 * so two withdrawals never deadlock each other). Returns the recipients whose list changed.
 */
async function withdrawAll(
  db: Db,
  where: string,
  params: unknown[],
  actorFilter = 'true',
): Promise<string[]> {
  const { rows } = await db.query<{ recipient_id: string }>(
    `WITH target AS (
       SELECT id, recipient_id FROM notification.notifications WHERE ${where} ORDER BY id FOR UPDATE
     ), gone AS (
       UPDATE notification.actors a SET active = false
         FROM target WHERE a.notification_id = target.id AND a.active AND ${actorFilter}
       RETURNING a.notification_id
     ), counts AS (
       SELECT notification_id, count(*)::int AS n FROM gone GROUP BY notification_id
     )
     UPDATE notification.notifications n SET actor_count = n.actor_count - counts.n
       FROM counts WHERE n.id = counts.notification_id
     RETURNING n.recipient_id::text`,
    params,
  );
  return [...new Set(rows.map((r) => r.recipient_id))];
}

/** A post or comment was deleted: everything about it goes, and nothing about it comes back. */
export async function deleteSubject(
  db: Db,
  subject: 'post' | 'comment',
  id: string,
  at: string,
): Promise<string[]> {
  await db.query(
    `INSERT INTO notification.tombstones (subject, id, deleted_at) VALUES ($1, $2, $3)
     ON CONFLICT (subject, id) DO NOTHING`,
    [subject, id, at],
  );
  return withdrawAll(db, subject === 'post' ? 'post_id = $1' : 'comment_id = $1', [id]);
}

/**
 * A block (or, `active` false, its end) at `at`. A block withdraws every notification one of
 * the two has from the other; an unblock brings none back (their follows ended too).
 */
export async function recordBlock(
  db: Db,
  blockerId: string,
  blockedId: string,
  at: string,
  active: boolean,
): Promise<string[]> {
  const { rows } = await db.query(
    `INSERT INTO notification.blocks (blocker_id, blocked_id, at, active) VALUES ($1, $2, $3, $4)
     ON CONFLICT (blocker_id, blocked_id) DO UPDATE SET at = EXCLUDED.at, active = EXCLUDED.active
       WHERE blocks.at < EXCLUDED.at
     RETURNING 1`,
    [blockerId, blockedId, at, active],
  );
  if (!active || rows.length === 0) return [];
  const actedFor = (recipient: string, actor: string) =>
    `(recipient_id = ${recipient} AND id IN (SELECT notification_id FROM notification.actors WHERE actor_id = ${actor} AND active))`;
  return withdrawAll(
    db,
    `${actedFor('$1', '$2')} OR ${actedFor('$2', '$1')}`,
    [blockerId, blockedId],
    '((target.recipient_id = $1 AND a.actor_id = $2) OR (target.recipient_id = $2 AND a.actor_id = $1))',
  );
}

/**
 * Applies a caption version's mentions (`mentioned`: users already checked to see the post)
 * at `versionAt`, unless a newer version was applied already. Users mentioned before keep
 * their notification as it is (only new mentions notify); users no longer mentioned lose it.
 * Returns the recipients whose list changed.
 */
export async function applyCaptionMentions(
  db: Db,
  post: { postId: string; authorId: string },
  mentioned: readonly string[],
  versionAt: string,
): Promise<string[]> {
  const { rows: current } = await db.query(
    `INSERT INTO notification.caption_versions (post_id, version_at) VALUES ($1, $2)
     ON CONFLICT (post_id) DO UPDATE SET version_at = EXCLUDED.version_at
       WHERE caption_versions.version_at < EXCLUDED.version_at
     RETURNING 1`,
    [post.postId, versionAt],
  );
  if (current.length === 0) return []; // a newer version (or this one) is applied already
  const groupKey = `p:${post.postId}`;
  const { rows: before } = await db.query<{ recipient_id: string }>(
    `SELECT n.recipient_id::text FROM notification.notifications n
       JOIN notification.actors a ON a.notification_id = n.id AND a.actor_id = $2 AND a.active
      WHERE n.kind = 'MENTIONED' AND n.group_key = $1 AND n.post_id = $3`,
    [groupKey, post.authorId, post.postId],
  );
  const had = new Set(before.map((r) => r.recipient_id));
  const now = new Set(mentioned);
  const changed: string[] = [];
  const target = (recipientId: string): Target => ({
    recipientId,
    kind: 'MENTIONED',
    groupKey,
    postId: post.postId,
    postAuthorId: post.authorId,
  });
  for (const r of [...had].filter((r) => !now.has(r)).sort()) {
    if (await withdrawActivity(db, target(r), post.authorId, versionAt)) changed.push(r);
  }
  for (const r of [...now].filter((r) => !had.has(r)).sort()) {
    if (await addActivity(db, target(r), post.authorId, versionAt)) changed.push(r);
  }
  return changed;
}

/** The recipient's unread count: notifications with an actor left, not read. */
export async function unreadCount(db: pg.Pool | Db, recipientId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM notification.notifications
      WHERE recipient_id = $1 AND actor_count > 0 AND NOT is_read`,
    [recipientId],
  );
  return rows[0]!.n;
}

/**
 * The recipient's notification with the latest activity (an actor left), for the live hint:
 * right after an add it is the one that changed, since activity only moves a row up.
 */
export async function latestNotification(
  db: pg.Pool | Db,
  recipientId: string,
): Promise<{ id: string; kind: string } | null> {
  const { rows } = await db.query<{ id: string; kind: string }>(
    `SELECT id::text AS id, kind FROM notification.notifications
      WHERE recipient_id = $1 AND actor_count > 0
      ORDER BY latest_activity_at DESC, id DESC LIMIT 1`,
    [recipientId],
  );
  return rows[0] ?? null;
}
