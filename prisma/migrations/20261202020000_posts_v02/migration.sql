-- Post subgraph v0.2: caption edits, avatars, and a queue of objects to delete.

-- updatePost: when the caption was last edited (null until the first edit).
ALTER TABLE posts.posts ADD COLUMN edited_at timestamptz(3);

-- A user's avatar: one of their own image media, cropped square (setAvatar). The media row
-- is marked attached (attached_at) so that neither createPost nor the janitor's orphan pass
-- takes it.
CREATE TABLE posts.avatars (
  user_id  bigint PRIMARY KEY,
  media_id bigint NOT NULL UNIQUE REFERENCES posts.media (id) ON DELETE CASCADE,
  set_at   timestamptz(3) NOT NULL DEFAULT now()
);

-- Objects to delete once `due_at` has passed: replaced avatar objects (deleted right after
-- the commit; a row left here means that failed) and objects being written for an avatar
-- (due an hour later, unless the write commits and takes them out). The janitor deletes
-- whatever is due, so nothing is stranded by a crash between storage and the database.
CREATE TABLE posts.object_trash (
  key    text PRIMARY KEY,
  due_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX object_trash_due_at_idx ON posts.object_trash (due_at);
