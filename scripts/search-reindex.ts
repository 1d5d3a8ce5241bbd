// npm run search:reindex — rebuilds the search index (search.posts, hashtag counts,
// search.users and Meilisearch when MEILI_URL is set) from the post and user subgraphs'
// internal APIs, with a
// progress bar on a terminal (a hand-rolled single line: not worth a dependency), then
// ANALYZE of the tables it rewrote.
import pg from 'pg';
import { ConfigError, parseConfig, subgraphUrl } from '../lib/config.js';
import { baseOf } from '../lib/clients/internal-http.js';
import { createPostClient } from '../lib/clients/post-client.js';
import { createUserClient } from '../lib/clients/user-client.js';
import { serviceDatabaseUrl } from '../lib/platform/db-roles.js';
import { createLogger } from '../lib/platform/logger.js';
import { createSearchApp } from '../subgraphs/search/src/service.js';
import { reindex, type ReindexProgress } from '../subgraphs/search/src/reindex.js';
import { developmentWhenRunByNpm } from './launcher-env.js';

const WIDTH = 30;

function bar(p: ReindexProgress, startedAt: number): string {
  const filled = Math.round(p.fraction * WIDTH);
  const rate = Math.round(p.posts / Math.max(0.001, (Date.now() - startedAt) / 1000));
  return `[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${Math.floor(p.fraction * 100)
    .toString()
    .padStart(3)}% ${p.posts} posts, ${p.removed} removed, ${p.users} users, ${rate} posts/s`;
}

developmentWhenRunByNpm();
try {
  const cfg = parseConfig();
  // As the search service's role when one is configured; a full pass may run long statements.
  const app = await createSearchApp(
    { ...cfg, DATABASE_URL: serviceDatabaseUrl(cfg, 'search'), DATABASE_STATEMENT_TIMEOUT_MS: 0 },
    createLogger('search-reindex', cfg),
  );
  const posts = createPostClient({
    baseUrl: baseOf(subgraphUrl(cfg, 'post')),
    caller: 'search',
    secret: cfg.INTERNAL_SIGNING_SECRET,
    timeoutMs: 60_000,
  });
  const users = createUserClient({
    baseUrl: baseOf(subgraphUrl(cfg, 'user')),
    caller: 'search',
    secret: cfg.INTERNAL_SIGNING_SECRET,
    timeoutMs: 60_000,
  });
  const tty = process.stdout.isTTY;
  const startedAt = Date.now();
  let lastLine = 0;
  const result = await reindex(
    app,
    { posts, users },
    {
      onProgress: (p) => {
        if (tty) process.stdout.write(`\r${bar(p, startedAt)}`);
        else if (Date.now() - lastLine > 5000 || p.fraction === 1) {
          lastLine = Date.now();
          console.log(bar(p, startedAt));
        }
      },
    },
  );
  if (tty) process.stdout.write('\n');
  // A bulk rewrite: the planner's statistics must describe the tables as they are now (on a
  // first reindex they are those of empty tables). ANALYZE needs the tables' owner, the
  // migration user of DATABASE_URL, not the search service's role.
  const owner = new pg.Client({ connectionString: cfg.DATABASE_URL });
  await owner.connect();
  try {
    await owner.query('ANALYZE search.posts, search.hashtags, search.users');
  } finally {
    await owner.end();
  }
  console.log(
    `reindexed ${result.posts} posts (${result.removed} removed) and ${result.users} users (follower counts are kept from events) into ${app.backend.name} in ${((Date.now() - startedAt) / 1000).toFixed(1)} s; statistics refreshed`,
  );
  await app.pool.end();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(1);
  }
  console.error(`reindex failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
