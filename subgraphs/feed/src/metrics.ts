// The feed's own Prometheus series, on the process-wide registry (lib/platform/metrics.ts).
import { Counter, Histogram } from 'prom-client';
import { registry } from '../../../lib/platform/metrics.js';

export const fanoutDeliveries = new Counter({
  name: 'mosaic_feed_fanout_deliveries_total',
  help: 'Post ids written into follower timelines by the feed materializer',
  registers: [registry],
});

export const fanoutDuration = new Histogram({
  name: 'mosaic_feed_fanout_duration_seconds',
  help: 'Time to fan one post (or one backfill) out to every follower',
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [registry],
});

export const timelineRebuilds = new Counter({
  name: 'mosaic_feed_timeline_rebuilds_total',
  help: 'Redis timelines rebuilt from Postgres on read (missing or expired)',
  registers: [registry],
});
