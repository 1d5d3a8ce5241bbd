-- Feed subgraph: its own projection of posts (from post.created / post.deleted events),
-- so that pulls, rebuilds and deletion checks never reach into another subgraph's tables.
-- Timelines themselves live in Redis (a cache, rebuilt from here and the graph's API).
CREATE SCHEMA IF NOT EXISTS feed;

CREATE TABLE feed.posts (
  post_id    bigint PRIMARY KEY,   -- time-sortable: newest first = post_id DESC
  author_id  bigint NOT NULL,
  created_at timestamptz(3) NOT NULL,
  deleted_at timestamptz(3)
);
-- "An author's newest posts": pulls of celebrities, rebuilds, backfills.
CREATE INDEX feed_posts_author_idx ON feed.posts (author_id, post_id DESC) WHERE deleted_at IS NULL;
