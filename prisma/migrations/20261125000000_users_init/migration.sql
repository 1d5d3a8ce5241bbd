-- User subgraph: accounts, refresh tokens, outbox. Owned by the user subgraph only.
CREATE SCHEMA IF NOT EXISTS users;

-- Time-sortable 64-bit ids in Instagram's layout: 41 bits of milliseconds since
-- 2026-01-01T00:00:00Z, 13 bits of shard (1 = users), 10 bits of sequence.
CREATE SEQUENCE users.id_seq;
CREATE FUNCTION users.next_id(OUT result bigint) AS $$
DECLARE
  epoch_ms bigint := 1767225600000;
  seq_id bigint;
  now_ms bigint;
  shard_id int := 1;
BEGIN
  SELECT nextval('users.id_seq') % 1024 INTO seq_id;
  SELECT floor(extract(epoch FROM clock_timestamp()) * 1000) INTO now_ms;
  result := ((now_ms - epoch_ms) << 23) | (shard_id << 10) | seq_id;
END;
$$ LANGUAGE plpgsql;

CREATE TABLE users.users (
  id             bigint PRIMARY KEY DEFAULT users.next_id(),
  username       text NOT NULL,
  username_lower text NOT NULL,
  email          text NOT NULL,
  password_hash  text NOT NULL,
  display_name   text,
  bio            text,
  created_at     timestamptz(3) NOT NULL DEFAULT now(),
  updated_at     timestamptz(3) NOT NULL DEFAULT now(),
  CONSTRAINT users_username_lower_check CHECK (username_lower = lower(username))
);
CREATE UNIQUE INDEX users_username_lower_key ON users.users (username_lower);
CREATE UNIQUE INDEX users_email_key ON users.users (email);

CREATE TABLE users.refresh_tokens (
  id         bigint PRIMARY KEY DEFAULT users.next_id(),
  family_id  bigint NOT NULL,
  user_id    bigint NOT NULL REFERENCES users.users (id) ON DELETE CASCADE ON UPDATE CASCADE,
  token_hash bytea NOT NULL,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  expires_at timestamptz(3) NOT NULL,
  rotated_at timestamptz(3),
  revoked_at timestamptz(3)
);
CREATE INDEX refresh_tokens_family_id_idx ON users.refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_id_idx ON users.refresh_tokens (user_id);

CREATE TABLE users.outbox (
  id              bigint PRIMARY KEY DEFAULT users.next_id(),
  subject         text NOT NULL,
  payload         jsonb NOT NULL,
  created_at      timestamptz(3) NOT NULL DEFAULT now(),
  published_at    timestamptz(3),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz(3) NOT NULL DEFAULT now(),
  last_error      text
);
-- The relay only ever scans unpublished rows.
CREATE INDEX outbox_pending_idx ON users.outbox (next_attempt_at, id) WHERE published_at IS NULL;
-- Published rows are kept for a retention period (replay), then pruned by time.
CREATE INDEX outbox_published_at_idx ON users.outbox (published_at) WHERE published_at IS NOT NULL;

-- Wake relays at once on commit instead of waiting for their poll timer.
CREATE FUNCTION users.outbox_notify() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('mosaic_outbox', TG_TABLE_SCHEMA);
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER outbox_notify AFTER INSERT ON users.outbox
  FOR EACH STATEMENT EXECUTE FUNCTION users.outbox_notify();
