-- Graph subgraph: follow edges and maintained follower/following counters.
CREATE SCHEMA IF NOT EXISTS graph;

-- Time-sortable ids (see users.next_id); shard 3 = graph.
CREATE SEQUENCE graph.id_seq;
CREATE FUNCTION graph.next_id(OUT result bigint) AS $$
DECLARE
  epoch_ms bigint := 1767225600000;
  seq_id bigint;
  now_ms bigint;
  shard_id int := 3;
BEGIN
  SELECT nextval('graph.id_seq') % 1024 INTO seq_id;
  SELECT floor(extract(epoch FROM clock_timestamp()) * 1000) INTO now_ms;
  result := ((now_ms - epoch_ms) << 23) | (shard_id << 10) | seq_id;
END;
$$ LANGUAGE plpgsql;

-- One row per edge. `seq` is a unique, time-sortable edge id: lists are paged by it
-- (newest first), so a page boundary never moves when other edges come and go.
CREATE TABLE graph.follows (
  follower_id bigint NOT NULL,
  followee_id bigint NOT NULL,
  seq         bigint NOT NULL DEFAULT graph.next_id(),
  created_at  timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (follower_id, followee_id),
  CONSTRAINT follows_not_self CHECK (follower_id <> followee_id)
);
-- "Who follows X, newest first" and "whom does X follow, newest first": index-only scans.
CREATE INDEX follows_followee_seq_idx ON graph.follows (followee_id, seq DESC) INCLUDE (follower_id);
CREATE INDEX follows_follower_seq_idx ON graph.follows (follower_id, seq DESC) INCLUDE (followee_id);

-- Counters maintained in the same transaction as the edge change (exact, O(1) to read).
CREATE TABLE graph.user_stats (
  user_id         bigint PRIMARY KEY,
  follower_count  bigint NOT NULL DEFAULT 0 CHECK (follower_count >= 0),
  following_count bigint NOT NULL DEFAULT 0 CHECK (following_count >= 0)
);
-- Celebrities (follower_count above the threshold) are looked up by this index.
CREATE INDEX user_stats_follower_count_idx ON graph.user_stats (follower_count DESC);

CREATE TABLE graph.outbox (
  id              bigint PRIMARY KEY DEFAULT graph.next_id(),
  subject         text NOT NULL,
  payload         jsonb NOT NULL,
  created_at      timestamptz(3) NOT NULL DEFAULT now(),
  published_at    timestamptz(3),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz(3) NOT NULL DEFAULT now(),
  last_error      text
);
CREATE INDEX outbox_pending_idx ON graph.outbox (next_attempt_at, id) WHERE published_at IS NULL;
CREATE INDEX outbox_published_at_idx ON graph.outbox (published_at) WHERE published_at IS NOT NULL;

CREATE FUNCTION graph.outbox_notify() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('mosaic_outbox', TG_TABLE_SCHEMA);
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER outbox_notify AFTER INSERT ON graph.outbox
  FOR EACH STATEMENT EXECUTE FUNCTION graph.outbox_notify();
