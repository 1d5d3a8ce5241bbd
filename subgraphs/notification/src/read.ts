// Reading notifications: pages keyed on (latest_activity_at, id), newest first, and the
// visibility rule applied to what a page hands out, with one graph call per page.
import type pg from 'pg';
import type { GraphClient } from '../../../lib/clients/graph-client.js';
import type { NotificationKind } from './store.js';

/** Actors per notification checked against the visibility rule (and the most actors(first:) gives). */
export const MAX_ACTORS = 10;
/** At most this many notifications come back from markNotificationsRead. */
export const MAX_MARKED = 100;

export interface NotificationRow {
  id: string;
  kind: NotificationKind;
  post_id: string | null;
  post_author_id: string | null;
  comment_id: string | null;
  actor_count: number;
  latest_activity_at: Date;
  /** Milliseconds since the epoch of latest_activity_at (the cursor's first part). */
  at_ms: string;
  is_read: boolean;
  /** The most recent active actors, at most MAX_ACTORS. */
  recent: string[];
}

/** What a Notification resolves from: the viewer's view of a row. */
export interface NotificationView {
  id: string;
  kind: NotificationKind;
  actorIds: string[];
  actorCount: number;
  postId: string | null;
  commentId: string | null;
  latestActivityAt: Date;
  isRead: boolean;
}

export interface Position {
  atMs: string;
  id: string;
}

const COLUMNS = `n.id::text, n.kind, n.post_id::text, n.post_author_id::text, n.comment_id::text,
  n.actor_count, n.latest_activity_at,
  (extract(epoch FROM n.latest_activity_at) * 1000)::bigint::text AS at_ms, n.is_read,
  ARRAY(SELECT a.actor_id::text FROM notification.actors a
         WHERE a.notification_id = n.id AND a.active
         ORDER BY a.at DESC, a.actor_id DESC LIMIT ${MAX_ACTORS}) AS recent`;

/** Up to `limit` of the recipient's listed notifications after `after`, newest activity first. */
export async function pageRows(
  pool: pg.Pool,
  recipientId: string,
  after: Position | null,
  limit: number,
): Promise<NotificationRow[]> {
  const { rows } = await pool.query<NotificationRow>(
    `SELECT ${COLUMNS} FROM notification.notifications n
      WHERE n.recipient_id = $1 AND n.actor_count > 0
        AND ($2::bigint IS NULL
             OR (n.latest_activity_at, n.id)
                < (timestamptz 'epoch' + $2::bigint * interval '1 millisecond', $3::bigint))
      ORDER BY n.latest_activity_at DESC, n.id DESC
      LIMIT $4`,
    [recipientId, after?.atMs ?? null, after?.id ?? null, limit],
  );
  return rows;
}

/**
 * Marks the recipient's unread notifications read (all, or those whose latest activity is at
 * or before `upTo`) and returns up to MAX_MARKED of them, newest activity first.
 */
export async function markRead(
  pool: pg.Pool,
  recipientId: string,
  upTo: Date | null,
): Promise<NotificationRow[]> {
  const { rows } = await pool.query<NotificationRow>(
    `WITH marked AS (
       UPDATE notification.notifications SET is_read = true
        WHERE recipient_id = $1 AND actor_count > 0 AND NOT is_read
          AND ($2::timestamptz IS NULL OR latest_activity_at <= $2::timestamptz)
       RETURNING id
     )
     SELECT ${COLUMNS} FROM notification.notifications n JOIN marked USING (id)
      ORDER BY n.latest_activity_at DESC, n.id DESC
      LIMIT ${MAX_MARKED}`,
    [recipientId, upTo],
  );
  // The join reads the rows as they were before this statement's update: they are read now.
  return rows.map((r) => ({ ...r, is_read: true }));
}

/**
 * The viewer's view of some rows, with ONE visibility call for all their recent actors and the
 * posts' authors. An actor is left out when they have blocked the viewer (they do not exist to
 * them) or the viewer has blocked them (the visibility call's `blocked`); actorCount drops
 * by the actors left out. A row with no actor left is dropped. `post` and `comment` are null
 * when the viewer may not see the post's author's content any more.
 */
export async function viewRows(
  graph: GraphClient,
  viewerId: string,
  rows: readonly NotificationRow[],
): Promise<(NotificationView | null)[]> {
  const ids = new Set<string>();
  for (const r of rows) {
    for (const a of r.recent) ids.add(a);
    if (r.post_author_id && r.post_author_id !== viewerId) ids.add(r.post_author_id);
  }
  const v = await graph.visibility(viewerId, [...ids]);
  const hiddenActor = new Set([...v.profileHidden, ...v.blocked]);
  const hiddenContent = new Set([...v.contentHidden, ...v.profileHidden]);
  return rows.map((r) => {
    const visible = r.recent.filter((a) => !hiddenActor.has(a));
    const actorCount = r.actor_count - (r.recent.length - visible.length);
    if (visible.length === 0 || actorCount <= 0) return null;
    const postHidden = r.post_author_id !== null && hiddenContent.has(r.post_author_id);
    return {
      id: r.id,
      kind: r.kind,
      actorIds: visible,
      actorCount,
      postId: postHidden ? null : r.post_id,
      commentId: postHidden ? null : r.comment_id,
      latestActivityAt: r.latest_activity_at,
      isRead: r.is_read,
    };
  });
}
