-- Search subgraph: its own index of posts (fed by post.created / post.updated / post.deleted)
-- and hashtag counts. Owned by the search subgraph only; ids are posts' and users' ids
-- without foreign keys. It produces no events, so it has no sequence and no outbox.
CREATE SCHEMA IF NOT EXISTS search;
-- Trigram matching for hashtag prefixes and typos (PostgreSQL contrib).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE search.posts (
  post_id    bigint PRIMARY KEY,          -- time-sortable: newest first = post_id DESC
  author_id  bigint NOT NULL,
  caption    text NOT NULL DEFAULT '',
  -- lower-cased, without '#' (lib/hashtags.ts)
  hashtags   text[] NOT NULL DEFAULT '{}',
  -- 'simple' configuration: no stemming and no stop words, so a caption in any language
  -- is indexed word for word (an English stemmer would mangle French or German words).
  tsv        tsvector NOT NULL DEFAULT ''::tsvector,
  created_at timestamptz(3) NOT NULL,
  -- event time of the last change applied (created, updated or deleted): older events
  -- arriving late are ignored, so redeliveries and reordering change nothing
  version_at timestamptz(3) NOT NULL,
  -- tombstone: a deleted post is never re-added by a late post.created / post.updated
  deleted_at timestamptz(3),
  indexed_at timestamptz(3) NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX search_posts_tsv_idx ON search.posts USING gin (tsv) WHERE deleted_at IS NULL;
CREATE INDEX search_posts_hashtags_idx ON search.posts USING gin (hashtags) WHERE deleted_at IS NULL;

-- Live posts per hashtag, kept by the indexer (Hashtag.postCount without counting).
CREATE TABLE search.hashtags (
  name       text PRIMARY KEY,
  post_count integer NOT NULL DEFAULT 0 CHECK (post_count >= 0)
);
-- Prefix (LIKE 'caf%') and typo (similarity) lookups of hashtag names.
CREATE INDEX search_hashtags_name_trgm_idx ON search.hashtags USING gin (name gin_trgm_ops);
