-- Graph v0.2: private accounts, follow requests and blocks (the visibility rule's data).

-- The privacy flag and the pending-request counter sit with the follow counters: every
-- change that reads or moves them already locks this row (see subgraphs/graph/src/follows.ts).
ALTER TABLE graph.user_stats
  ADD COLUMN is_private boolean NOT NULL DEFAULT false,
  ADD COLUMN pending_request_count bigint NOT NULL DEFAULT 0 CHECK (pending_request_count >= 0);

-- A pending request to follow a private account (no follow edge until approved).
-- `seq` is the request's time-sortable id: followRequests pages by it, newest first.
CREATE TABLE graph.follow_requests (
  requester_id bigint NOT NULL,
  target_id    bigint NOT NULL,
  seq          bigint NOT NULL DEFAULT graph.next_id(),
  created_at   timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (requester_id, target_id),
  CONSTRAINT follow_requests_not_self CHECK (requester_id <> target_id)
);
CREATE INDEX follow_requests_target_seq_idx ON graph.follow_requests (target_id, seq DESC) INCLUDE (requester_id);

-- blocker → blocked. The primary key answers "has A blocked B"; the second index answers
-- "who has blocked B" (the other direction) and pages the blocker's list by `seq`.
CREATE TABLE graph.blocks (
  blocker_id bigint NOT NULL,
  blocked_id bigint NOT NULL,
  seq        bigint NOT NULL DEFAULT graph.next_id(),
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (blocker_id, blocked_id),
  CONSTRAINT blocks_not_self CHECK (blocker_id <> blocked_id)
);
CREATE INDEX blocks_blocker_seq_idx ON graph.blocks (blocker_id, seq DESC) INCLUDE (blocked_id);
CREATE INDEX blocks_blocked_idx ON graph.blocks (blocked_id, blocker_id);
