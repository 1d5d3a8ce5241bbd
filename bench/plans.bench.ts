// npm run bench plans — the query plans of the hot statements on the README's demo data
// (`npm run seed -- --users 20000 --posts-per-user 5`): rows each plan reads against rows
// it returns (bench/plan-check.ts), first with the statistics a bulk load leaves when
// nothing analyses (those of empty tables; autovacuum may not have run yet), then after
// the seed's VACUUM (ANALYZE) and the --wait step's ANALYZE of the projections. Exits
// non-zero when a hot statement is flagged on analysed data.
// BENCH_PLANS_USERS / BENCH_PLANS_POSTS_PER_USER change the data set.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../lib/config.js';
import { createPool } from '../lib/platform/db.js';
import { DEMO_USERNAME, PROJECTION_TABLES, SEEDED_TABLES, seed } from '../scripts/seed.js';
import { benchEnv, writeResults } from './support.js';
import {
  MIN_ROWS,
  RATIO,
  buildProjections,
  explainAll,
  hotStatements,
  pickSample,
  type StatementReport,
} from './plan-check.js';

const USERS = Number(process.env.BENCH_PLANS_USERS ?? 20_000);
const POSTS_PER_USER = Number(process.env.BENCH_PLANS_POSTS_PER_USER ?? 5);

function print(title: string, reports: StatementReport[]): void {
  console.log(`\n${title}`);
  for (const r of reports) {
    console.log(
      `${r.flagged ? '!!' : '  '} ${`${r.label} (${r.plan})`.padEnd(58)} read ${String(r.read).padStart(7)} returned ${String(r.returned).padStart(5)} ×${String(r.ratio).padStart(7)} ${r.ms.toFixed(2).padStart(8)} ms  ${r.top[0] ?? ''}`,
    );
  }
}

export async function run(): Promise<void> {
  const env = await benchEnv('plans');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mosaic-bench-plans-'));
  const cfg = parseConfig({ ...process.env, ...env.env, STORAGE_DIR: dir });
  const pool = createPool({ ...cfg, DATABASE_STATEMENT_TIMEOUT_MS: 0 });
  let flagged: number;
  try {
    const seeded = await seed(cfg, {
      users: USERS,
      postsPerUser: POSTS_PER_USER,
      analyze: false,
      progress: true,
    });
    console.log(`seeded ${seeded.posts} posts, ${seeded.follows} follows`);
    await buildProjections(pool);
    const { rows } = await pool.query<{ id: string; autovacuum: string }>(
      `SELECT id::text, current_setting('autovacuum') AS autovacuum FROM users.users WHERE username = $1`,
      [DEMO_USERNAME],
    );
    const sample = await pickSample(pool, rows[0]!.id, cfg.CELEBRITY_FOLLOWER_THRESHOLD);
    const statements = await hotStatements(cfg, sample);
    const c = await pool.connect();
    let stale: StatementReport[];
    let analysed: StatementReport[];
    try {
      stale = await explainAll(c, statements);
      print('Statistics of empty tables (no ANALYZE after the bulk load):', stale);
      await c.query(`VACUUM (ANALYZE) ${SEEDED_TABLES.join(', ')}`);
      await c.query(`ANALYZE ${PROJECTION_TABLES.join(', ')}`);
      analysed = await explainAll(c, statements);
      print('After the seed’s VACUUM (ANALYZE) and ANALYZE of the projections:', analysed);
    } finally {
      c.release();
    }
    flagged = analysed.filter((r) => r.flagged).length;
    const file = await writeResults('plans', {
      dataset: {
        command: `npm run seed -- --users ${USERS} --posts-per-user ${POSTS_PER_USER}`,
        users: seeded.users,
        posts: seeded.posts,
        media: seeded.media,
        follows: seeded.follows,
        celebrities: seeded.celebrities,
        autovacuum: rows[0]!.autovacuum,
      },
      rule: `flagged: reads > ${RATIO} × the rows returned and > ${MIN_ROWS} rows (unless within the statement's budget)`,
      sample: {
        reader: `${DEMO_USERNAME} (follows ${sample.followees.length}, ${sample.readerCelebs.length} celebrities)`,
        pagePosts: sample.pagePostIds.length,
        pageAuthors: sample.pageAuthorIds.length,
        hashtag: sample.hashtag,
      },
      flaggedStale: stale.filter((r) => r.flagged).map((r) => `${r.label} (${r.plan})`),
      flaggedAnalysed: analysed.filter((r) => r.flagged).map((r) => `${r.label} (${r.plan})`),
      stale,
      analysed,
    });
    console.log(`\n${flagged} flagged after ANALYZE; results in ${file}`);
  } finally {
    await pool.end();
    await env.drop();
    await rm(dir, { recursive: true, force: true });
  }
  if (flagged) process.exitCode = 1;
}
