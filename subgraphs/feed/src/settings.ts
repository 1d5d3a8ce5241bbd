// The feed subgraph's own settings (FEED_*), read from the same environment as the shared
// Config (lib/config.ts) and with its rules. The feed service and its workers read them
// once, at startup (createFeedApp), so a bad value stops them there.
import { bool, defineSettings, int } from '../../../lib/config.js';

export const feedSettings = defineSettings({
  /** Entries kept per Redis timeline. */
  FEED_TIMELINE_CAP: int(800),
  /** Timelines unread this long expire; fan-out skips them and the next read rebuilds. */
  FEED_INACTIVE_DAYS: int(30),
  /** Posts of a newly followed account copied into the follower's timeline. */
  FEED_BACKFILL_POSTS: int(20),
  /** Followers fetched from the graph per fan-out batch (one Redis pipeline each). */
  FEED_FANOUT_BATCH: int(5000),
  /** Events the materializer works on at once per process. */
  FEED_CONSUMER_CONCURRENCY: int(16),
  /** Run the materializer inside the feed service process (off when feed-workers run it). */
  FEED_MATERIALIZER: bool(true),
  /** Unacked events are redelivered after this long (a crashed worker's work resumes then). */
  FEED_ACK_WAIT_SECONDS: int(30),
});

export type FeedSettings = ReturnType<typeof feedSettings>;
