// The live stream's settings (LIVE_*), read from the same environment as the shared Config,
// once, when the gateway starts.
import { defineSettings, int } from '../../../lib/config.js';

export const liveSettings = defineSettings({
  /**
   * A comment line on every open stream this often, so that proxies keep idle streams open
   * (deploy/nginx/nginx.conf reads with a 1 h timeout; cloud balancers often cut at 60 s).
   * Presence leases last 4 heartbeats.
   */
  LIVE_HEARTBEAT_SECONDS: int(15),
  /** Streams one user may hold open on one gateway replica at once. */
  LIVE_MAX_STREAMS_PER_USER: int(5),
  /** Streams one client address may hold open on one gateway replica at once. */
  LIVE_MAX_STREAMS_PER_IP: int(200),
  /** How often open streams check that their session was not ended (logOut, reuse). */
  LIVE_SESSION_CHECK_SECONDS: int(60),
  /** A client whose unsent output exceeds this is too slow: its stream ends (it reconnects). */
  LIVE_MAX_BUFFERED_BYTES: int(256 * 1024),
});

export type LiveSettings = ReturnType<typeof liveSettings>;
