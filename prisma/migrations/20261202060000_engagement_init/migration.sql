-- Engagement subgraph: likes, comments (one level of replies), their sharded counters, the
-- tombstones of deleted posts and the outbox.
CREATE SCHEMA IF NOT EXISTS engagement;

-- Time-sortable ids (see users.next_id); shard 6 = engagement.
CREATE SEQUENCE engagement.id_seq;
CREATE FUNCTION engagement.next_id(OUT result bigint) AS $$
DECLARE
  epoch_ms bigint := 1767225600000;
  seq_id bigint;
  now_ms bigint;
  shard_id int := 6;
BEGIN
  SELECT nextval('engagement.id_seq') % 1024 INTO seq_id;
  SELECT floor(extract(epoch FROM clock_timestamp()) * 1000) INTO now_ms;
  result := ((now_ms - epoch_ms) << 23) | (shard_id << 10) | seq_id;
END;
$$ LANGUAGE plpgsql;

-- One row per like. `seq` is time-sortable: likedBy pages by it, newest first.
CREATE TABLE engagement.likes (
  post_id    bigint NOT NULL,
  user_id    bigint NOT NULL,
  seq        bigint NOT NULL DEFAULT engagement.next_id(),
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (post_id, user_id)
);
CREATE INDEX likes_post_seq_idx ON engagement.likes (post_id, seq DESC) INCLUDE (user_id);

-- Comments and replies (reply_to_id: a top-level comment of the same post). The post's author
-- is kept on each row so deleteComment and the events need not ask the post subgraph.
CREATE TABLE engagement.comments (
  id             bigint PRIMARY KEY DEFAULT engagement.next_id(),
  post_id        bigint NOT NULL,
  post_author_id bigint NOT NULL,
  author_id      bigint NOT NULL,
  reply_to_id    bigint,
  text           text NOT NULL,
  reply_count    integer NOT NULL DEFAULT 0 CHECK (reply_count >= 0),
  created_at     timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX comments_post_top_idx ON engagement.comments (post_id, id) WHERE reply_to_id IS NULL;
CREATE INDEX comments_replies_idx ON engagement.comments (reply_to_id, id) WHERE reply_to_id IS NOT NULL;
CREATE INDEX comments_post_idx ON engagement.comments (post_id);

-- Counters per post, split over shards: each change adds ±1 to a random shard, a read sums
-- them, so many likes of one post at once do not queue on one row lock. A shard may go below
-- zero (an unlike can land on another shard than its like); the sum is exact.
CREATE TABLE engagement.post_counters (
  post_id       bigint NOT NULL,
  shard         smallint NOT NULL,
  like_count    bigint NOT NULL DEFAULT 0,
  comment_count bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (post_id, shard)
);

-- Posts known to be deleted (post.deleted): no like or comment is written for them again.
CREATE TABLE engagement.deleted_posts (
  post_id    bigint PRIMARY KEY,
  deleted_at timestamptz(3) NOT NULL DEFAULT now()
);

CREATE TABLE engagement.outbox (
  id              bigint PRIMARY KEY DEFAULT engagement.next_id(),
  subject         text NOT NULL,
  payload         jsonb NOT NULL,
  created_at      timestamptz(3) NOT NULL DEFAULT now(),
  published_at    timestamptz(3),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz(3) NOT NULL DEFAULT now(),
  last_error      text
);
CREATE INDEX outbox_pending_idx ON engagement.outbox (next_attempt_at, id) WHERE published_at IS NULL;
CREATE INDEX outbox_published_at_idx ON engagement.outbox (published_at) WHERE published_at IS NOT NULL;

CREATE FUNCTION engagement.outbox_notify() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('mosaic_outbox', TG_TABLE_SCHEMA);
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER outbox_notify AFTER INSERT ON engagement.outbox
  FOR EACH STATEMENT EXECUTE FUNCTION engagement.outbox_notify();
