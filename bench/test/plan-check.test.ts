// The plan check (bench/plan-check.ts) on a small seeded database: after the seed's
// VACUUM (ANALYZE), no hot statement of a feed page, profile, fan-out or search reads far
// more rows than it returns. Row counts, never timings. `npm run bench plans` runs the same
// check at the README's demo size and records it in bench/results/plans.json.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../lib/config.js';
import { createPool } from '../../lib/platform/db.js';
import { DEMO_USERNAME, PROJECTION_TABLES, seed } from '../../scripts/seed.js';
import { isolate, type Isolation } from '../../test/support/isolation.js';
import {
  buildProjections,
  explainAll,
  hotStatements,
  judge,
  pickSample,
  planRows,
  type StatementReport,
} from '../plan-check.js';

// The plan of the issue: the post entity query on seeded tables that were never analysed,
// a BitmapAnd over the whole partial author index to find 20 posts by id.
const STALE_ENTITY_PLAN = [
  {
    Plan: {
      'Node Type': 'Sort',
      'Actual Rows': 24,
      'Actual Loops': 1,
      Plans: [
        {
          'Node Type': 'Nested Loop',
          'Actual Rows': 24,
          'Actual Loops': 1,
          Plans: [
            {
              'Node Type': 'Bitmap Heap Scan',
              'Relation Name': 'posts',
              'Actual Rows': 20,
              'Actual Loops': 1,
              Plans: [
                {
                  'Node Type': 'BitmapAnd',
                  'Actual Rows': 0,
                  'Actual Loops': 1,
                  Plans: [
                    {
                      'Node Type': 'Bitmap Index Scan',
                      'Index Name': 'posts_author_id_idx',
                      'Actual Rows': 101649,
                      'Actual Loops': 1,
                    },
                    {
                      'Node Type': 'Bitmap Index Scan',
                      'Index Name': 'posts_pkey',
                      'Actual Rows': 20,
                      'Actual Loops': 1,
                    },
                  ],
                },
              ],
            },
            {
              'Node Type': 'Index Only Scan',
              'Index Name': 'media_pkey',
              'Actual Rows': 1,
              'Actual Loops': 24,
            },
          ],
        },
      ],
    },
  },
];

describe('planRows / judge', () => {
  it('flags the stale-statistics entity plan and counts every access', () => {
    const rows = planRows(STALE_ENTITY_PLAN);
    expect(rows).toMatchObject({ read: 101649 + 20 + 20 + 24, returned: 24 });
    expect(rows.scans[0]).toEqual({
      node: 'Bitmap Index Scan',
      on: 'posts_author_id_idx',
      rows: 101649,
    });
    expect(judge(rows).flagged).toBe(true);
  });

  it('leaves small reads, proportionate reads and budgeted reads alone', () => {
    const scan = (rows: number, loops = 1, removed = 0) => [
      {
        Plan: {
          'Node Type': 'Index Scan',
          'Index Name': 'i',
          'Actual Rows': rows,
          'Actual Loops': loops,
          'Rows Removed by Filter': removed,
        },
      },
    ];
    expect(judge(planRows(scan(5000))).flagged).toBe(false); // returns what it reads
    expect(judge(planRows(scan(1, 1, 900))).flagged).toBe(false); // under 1,000 rows
    const filtered = planRows(scan(20, 1, 20_000));
    expect(filtered.read).toBe(20_020);
    expect(judge(filtered).flagged).toBe(true);
    expect(judge(filtered, { rows: 30_000 }).flagged).toBe(false);
  });
});

describe('hot statements on seeded, analysed data', () => {
  let iso: Isolation;
  let dir: string;
  let cfg: Config;
  let pool: pg.Pool;
  let reports: StatementReport[];

  beforeAll(async () => {
    iso = await isolate();
    dir = await mkdtemp(path.join(os.tmpdir(), 'mosaic-plans-'));
    cfg = parseConfig({ ...iso.env, STORAGE_DIR: dir });
    // Big enough that reading a whole table is never the cheap plan (8,000 users, ~16 K
    // posts, ~290 K follows), small enough for a test.
    await seed(cfg, { users: 8000, postsPerUser: 2, imagePool: 2, copyObjects: false });
    pool = createPool({ ...cfg, DATABASE_STATEMENT_TIMEOUT_MS: 0 });
    // What the consumers build from the seed's events, then seed --wait's ANALYZE.
    await buildProjections(pool);
    await pool.query(`ANALYZE ${PROJECTION_TABLES.join(', ')}`);
    const { rows } = await pool.query<{ id: string }>(
      'SELECT id::text FROM users.users WHERE username = $1',
      [DEMO_USERNAME],
    );
    const sample = await pickSample(pool, rows[0]!.id, cfg.CELEBRITY_FOLLOWER_THRESHOLD);
    const c = await pool.connect();
    try {
      reports = await explainAll(c, await hotStatements(cfg, sample));
    } finally {
      c.release();
    }
  }, 180_000);

  afterAll(async () => {
    await pool?.end();
    await iso?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('covers every service, prepared statements under both plans', () => {
    const services = new Set(reports.map((r) => r.label.split(':')[0]));
    expect([...services].sort()).toEqual(['feed', 'graph', 'post', 'search', 'user']);
    const entity = reports.filter((r) => r.name === 'posts_with_media_by_id').map((r) => r.plan);
    expect(entity).toEqual(['custom', 'generic']);
    // A real page: the reader's feed has its 20 posts and one more.
    expect(reports.find((r) => r.label === 'feed: home page, first')?.returned).toBe(21);
  });

  it('reads no more than 50× the rows it returns (beyond 1,000 rows)', () => {
    const flagged = reports
      .filter((r) => r.flagged)
      .map((r) => `${r.label} (${r.plan}): read ${r.read} for ${r.returned}: ${r.top.join('; ')}`);
    expect(flagged).toEqual([]);
  });
});
