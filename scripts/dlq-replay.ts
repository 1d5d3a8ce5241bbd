// npm run dlq:replay -- [--subject post.created] [--since 2h | --since 2026-05-01T00:00Z] [--dry-run]
// Republishes dead-lettered events (lib/platform/dead-letters.ts) to their original subject and
// removes each from the DLQ stream once the publish is acknowledged. Fix the cause first:
// an event that still fails is dead-lettered again. --dry-run lists what would be replayed.
import { parseArgs } from 'node:util';
import { ConfigError, parseConfig } from '../lib/config.js';
import {
  parseSince,
  replayDeadLetters,
  type DeadLetterEntry,
} from '../lib/platform/dead-letters.js';
import { connectNats } from '../lib/platform/nats.js';

const USAGE =
  'usage: npm run dlq:replay -- [--subject <event subject, wildcards allowed>] [--since <ISO time | 30m | 12h | 7d>] [--dry-run]';

const line = (e: DeadLetterEntry) =>
  `${e.at.toISOString()} #${e.seq} ${e.subject} ${e.reason} by ${e.consumer} after ${e.deliveries} deliveries: ${e.error}`;

try {
  const { values } = parseArgs({
    options: {
      subject: { type: 'string' },
      since: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const cfg = parseConfig();
  const nc = await connectNats(cfg, 'mosaic-dlq-replay');
  try {
    const dryRun = values['dry-run'];
    const result = await replayDeadLetters(nc, cfg.NATS_PREFIX, {
      ...(values.subject ? { subject: values.subject } : {}),
      ...(values.since ? { since: parseSince(values.since) } : {}),
      dryRun,
      onEntry: (e) => console.log(`${dryRun ? 'would replay' : 'replayed'} ${line(e)}`),
    });
    console.log(
      dryRun
        ? `${result.replayed} dead letters would be replayed (dry run: nothing changed)`
        : `${result.replayed} dead letters replayed and removed from the DLQ`,
    );
  } finally {
    await nc.close();
  }
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(1);
  }
  console.error(`dlq:replay failed: ${err instanceof Error ? err.message : String(err)}`);
  console.error(USAGE);
  process.exit(1);
}
