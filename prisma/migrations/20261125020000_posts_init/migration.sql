-- Post subgraph: media, posts, their carousel order, per-author counters, outbox.
-- Owned by the post subgraph only; author and owner ids are users' ids without foreign keys.
CREATE SCHEMA IF NOT EXISTS posts;

-- Time-sortable 64-bit ids in Instagram's layout: 41 bits of milliseconds since
-- 2026-01-01T00:00:00Z, 13 bits of shard (2 = posts), 10 bits of sequence.
CREATE SEQUENCE posts.id_seq;
CREATE FUNCTION posts.next_id(OUT result bigint) AS $$
DECLARE
  epoch_ms bigint := 1767225600000;
  seq_id bigint;
  now_ms bigint;
  shard_id int := 2;
BEGIN
  SELECT nextval('posts.id_seq') % 1024 INTO seq_id;
  SELECT floor(extract(epoch FROM clock_timestamp()) * 1000) INTO now_ms;
  result := ((now_ms - epoch_ms) << 23) | (shard_id << 10) | seq_id;
END;
$$ LANGUAGE plpgsql;

-- One uploaded photo or video. PROCESSING while a direct upload is pending or being
-- processed; READY once stored and processed; FAILED when processing rejected it.
CREATE TABLE posts.media (
  id                  bigint PRIMARY KEY DEFAULT posts.next_id(),
  owner_id            bigint NOT NULL,
  type                text CHECK (type IN ('IMAGE', 'VIDEO')),
  status              text NOT NULL DEFAULT 'READY' CHECK (status IN ('PROCESSING', 'READY', 'FAILED')),
  mime_type           text,
  bytes               bigint,
  width               integer,
  height              integer,
  duration_seconds    double precision,
  blurhash            text,
  storage_key         text,
  poster_key          text,
  -- [{ width, height, mimeType, key, bytes }], smallest first
  variants            jsonb NOT NULL DEFAULT '[]',
  -- every object written for this media (variants, poster, original), for cleanup
  object_keys         text[] NOT NULL DEFAULT '{}',
  alt_text            text,
  -- createUpload bookkeeping: where the client PUTs the bytes, and the multipart upload id
  upload_key          text,
  upload_multipart_id text,
  upload_content_type text,
  upload_bytes        bigint,
  upload_expires_at   timestamptz(3),
  failure_code        text,
  created_at          timestamptz(3) NOT NULL DEFAULT now(),
  -- set by createPost; media never attached are collected by the janitor
  attached_at         timestamptz(3),
  CONSTRAINT media_ready_check CHECK (
    status <> 'READY' OR (type IS NOT NULL AND mime_type IS NOT NULL AND storage_key IS NOT NULL)
  )
);
CREATE INDEX media_owner_id_idx ON posts.media (owner_id, id DESC);
-- The janitor's scan: unattached media, oldest first.
CREATE INDEX media_unattached_idx ON posts.media (created_at) WHERE attached_at IS NULL;

CREATE TABLE posts.posts (
  id         bigint PRIMARY KEY DEFAULT posts.next_id(),
  author_id  bigint NOT NULL,
  caption    text,
  hashtags   text[] NOT NULL DEFAULT '{}',
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  deleted_at timestamptz(3),
  -- set once the janitor has removed a deleted post's media objects
  purged_at  timestamptz(3),
  CONSTRAINT posts_caption_length_check CHECK (char_length(caption) <= 2200)
);
-- An author's posts, newest first (User.posts).
CREATE INDEX posts_author_id_idx ON posts.posts (author_id, id DESC) WHERE deleted_at IS NULL;
-- The janitor's scan: deleted posts whose objects are still stored.
CREATE INDEX posts_unpurged_idx ON posts.posts (deleted_at) WHERE deleted_at IS NOT NULL AND purged_at IS NULL;

-- Carousel order. A media item belongs to at most one post.
CREATE TABLE posts.post_media (
  post_id  bigint NOT NULL REFERENCES posts.posts (id) ON DELETE CASCADE,
  media_id bigint NOT NULL REFERENCES posts.media (id) ON DELETE CASCADE,
  position smallint NOT NULL CHECK (position >= 0 AND position < 10),
  PRIMARY KEY (post_id, position)
);
CREATE UNIQUE INDEX post_media_media_id_key ON posts.post_media (media_id);

-- User.postCount, kept exact in the transactions that create and delete posts.
CREATE TABLE posts.author_stats (
  author_id  bigint PRIMARY KEY,
  post_count integer NOT NULL DEFAULT 0 CHECK (post_count >= 0)
);

CREATE TABLE posts.outbox (
  id              bigint PRIMARY KEY DEFAULT posts.next_id(),
  subject         text NOT NULL,
  payload         jsonb NOT NULL,
  created_at      timestamptz(3) NOT NULL DEFAULT now(),
  published_at    timestamptz(3),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz(3) NOT NULL DEFAULT now(),
  last_error      text
);
-- The relay only ever scans unpublished rows.
CREATE INDEX outbox_pending_idx ON posts.outbox (next_attempt_at, id) WHERE published_at IS NULL;
-- Published rows are kept for a retention period (replay), then pruned by time.
CREATE INDEX outbox_published_at_idx ON posts.outbox (published_at) WHERE published_at IS NOT NULL;

-- Wake relays at once on commit instead of waiting for their poll timer.
CREATE FUNCTION posts.outbox_notify() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('mosaic_outbox', TG_TABLE_SCHEMA);
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER outbox_notify AFTER INSERT ON posts.outbox
  FOR EACH STATEMENT EXECUTE FUNCTION posts.outbox_notify();
