-- Notification subgraph: each user's notifications, kept by its consumers from graph,
-- engagement and post events. Every change is a last-writer-wins step on event times, so a
-- redelivered or late event changes nothing (see subgraphs/notification/src/store.ts).
CREATE SCHEMA IF NOT EXISTS notification;

-- Time-sortable ids (see users.next_id); shard 7 = notification.
CREATE SEQUENCE notification.id_seq;
CREATE FUNCTION notification.next_id(OUT result bigint) AS $$
DECLARE
  epoch_ms bigint := 1767225600000;
  seq_id bigint;
  now_ms bigint;
  shard_id int := 7;
BEGIN
  SELECT nextval('notification.id_seq') % 1024 INTO seq_id;
  SELECT floor(extract(epoch FROM clock_timestamp()) * 1000) INTO now_ms;
  result := ((now_ms - epoch_ms) << 23) | (shard_id << 10) | seq_id;
END;
$$ LANGUAGE plpgsql;

-- One row per notification a user sees: (recipient, kind, group_key) is what makes it one
-- (the liked post for LIKED, the comment for COMMENTED/REPLIED, the actor for follows, the
-- post or comment a MENTIONED is about), so a group keeps its id for ever. actor_count counts
-- its active actors; a row with none is not listed. latest_activity_at never moves back (a
-- withdrawal leaves it), so pages keyed on it only ever see a row move to the head.
CREATE TABLE notification.notifications (
  id                 bigint PRIMARY KEY DEFAULT notification.next_id(),
  recipient_id       bigint NOT NULL,
  kind               text NOT NULL CHECK (kind IN ('FOLLOWED', 'FOLLOW_REQUESTED', 'FOLLOW_ACCEPTED',
                       'LIKED', 'COMMENTED', 'REPLIED', 'MENTIONED')),
  group_key          text NOT NULL,
  post_id            bigint,
  post_author_id     bigint,
  comment_id         bigint,
  actor_count        integer NOT NULL DEFAULT 0 CHECK (actor_count >= 0),
  latest_activity_at timestamptz(3) NOT NULL,
  is_read            boolean NOT NULL DEFAULT false,
  UNIQUE (recipient_id, kind, group_key)
);
-- A user's page, latest activity first (keyset on (latest_activity_at, id)).
CREATE INDEX notifications_page_idx ON notification.notifications
  (recipient_id, latest_activity_at DESC, id DESC) WHERE actor_count > 0;
-- The unread badge.
CREATE INDEX notifications_unread_idx ON notification.notifications (recipient_id)
  WHERE actor_count > 0 AND NOT is_read;
-- Withdrawals: everything about a deleted post or comment.
CREATE INDEX notifications_post_idx ON notification.notifications (post_id) WHERE post_id IS NOT NULL;
CREATE INDEX notifications_comment_idx ON notification.notifications (comment_id) WHERE comment_id IS NOT NULL;

-- Who did it, per notification: one row per actor with the time of the latest event about
-- them (an add or a withdrawal), so an older event arriving late never overrides a newer one.
CREATE TABLE notification.actors (
  notification_id bigint NOT NULL,
  actor_id        bigint NOT NULL,
  at              timestamptz(3) NOT NULL,
  active          boolean NOT NULL,
  PRIMARY KEY (notification_id, actor_id)
);
-- Most recent actors first.
CREATE INDEX actors_recent_idx ON notification.actors (notification_id, at DESC, actor_id DESC) WHERE active;
-- A block withdraws what an actor did for its blocker (and the other way round).
CREATE INDEX actors_actor_idx ON notification.actors (actor_id) WHERE active;

-- Blocks as the graph events left them (last event wins by time): nothing is notified across one.
CREATE TABLE notification.blocks (
  blocker_id bigint NOT NULL,
  blocked_id bigint NOT NULL,
  at         timestamptz(3) NOT NULL,
  active     boolean NOT NULL,
  PRIMARY KEY (blocker_id, blocked_id)
);

-- Deleted posts and comments: an event about them that arrives late adds nothing.
CREATE TABLE notification.tombstones (
  subject    text NOT NULL CHECK (subject IN ('post', 'comment')),
  id         bigint NOT NULL,
  deleted_at timestamptz(3) NOT NULL,
  PRIMARY KEY (subject, id)
);

-- The caption version whose mentions were applied, per post: an older version arriving after
-- a newer one is ignored, and an edit notifies only the users it newly mentions.
CREATE TABLE notification.caption_versions (
  post_id    bigint PRIMARY KEY,
  version_at timestamptz(3) NOT NULL
);
