-- Search subgraph v0.2: people search. search.users holds each account's searchable profile
-- (from user.created / user.updated) and its follower count (from graph.followed /
-- graph.unfollowed), each with the event time it was last changed at, so redeliveries and
-- late events change nothing. Ids are users' ids without foreign keys.
CREATE TABLE search.users (
  user_id        bigint PRIMARY KEY,
  username       text NOT NULL DEFAULT '',
  display_name   text,
  -- Match keys, folded in JavaScript (src/user-query.ts foldName): lower-cased, accents and
  -- marks removed, spaces collapsed. C collation: byte order, so `LIKE 'ab%'` uses the btree.
  username_key   text COLLATE "C" NOT NULL DEFAULT '',
  name_key       text COLLATE "C" NOT NULL DEFAULT '',
  follower_count integer NOT NULL DEFAULT 0 CHECK (follower_count >= 0),
  -- event time of the follow or unfollow the count comes from
  followers_at   timestamptz(3) NOT NULL DEFAULT '-infinity',
  -- event time of the profile (user.created createdAt, user.updated updatedAt); '-infinity':
  -- only a follower count has arrived so far (the profile is not searchable yet)
  version_at     timestamptz(3) NOT NULL DEFAULT '-infinity',
  indexed_at     timestamptz(3) NOT NULL DEFAULT clock_timestamp()
);
-- Exact and prefix matches of usernames and display names.
CREATE INDEX search_users_username_key_idx ON search.users (username_key) WHERE version_at > '-infinity';
CREATE INDEX search_users_name_key_idx ON search.users (name_key) WHERE version_at > '-infinity';
-- Typos (similarity), word prefixes inside display names (LIKE '% ab%').
CREATE INDEX search_users_username_trgm_idx ON search.users USING gin (username_key gin_trgm_ops) WHERE version_at > '-infinity';
CREATE INDEX search_users_name_trgm_idx ON search.users USING gin (name_key gin_trgm_ops) WHERE version_at > '-infinity';
