// Plan check: EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) of the statements a feed page, a
// profile, a fan-out and a search run, on seeded data, counting the rows each plan reads
// against the rows it returns. A hot statement that reads far more than it returns (the
// post entity query reading the whole posts_author_id_idx, 101,649 entries for 20 rows,
// on a seeded database whose statistics were those of empty tables) is flagged.
//
// The statements are not copies: each is captured by calling the services' own data-access
// functions on a recording connection, so the check follows the code as it changes. Named
// (prepared) statements are explained with both plans Postgres may use for them (custom,
// and generic after five executions); the others always get a custom plan.
import type pg from 'pg';
import type { Config } from '../lib/config.js';
import type { Queryable } from '../lib/platform/db.js';
import { getPostsWithMedia, getMediaByPost, createLoaders } from '../subgraphs/post/src/loaders.js';
import { getUsers } from '../subgraphs/user/src/loaders.js';
import { createLoaders as createGraphLoaders } from '../subgraphs/graph/src/loaders.js';
import {
  celebritiesAmong,
  celebritiesFollowedBy,
  edgePage,
  visibleEdgePage,
} from '../subgraphs/graph/src/follows.js';
import type { AppContext as GraphApp } from '../subgraphs/graph/src/context.js';
import { mergePage } from '../subgraphs/feed/src/posts.js';
import { feedSettings } from '../subgraphs/feed/src/settings.js';
import { searchSettings } from '../subgraphs/search/src/settings.js';
import { createPgBackend } from '../subgraphs/search/src/pg-backend.js';
import { suggestHashtags } from '../subgraphs/search/src/index-store.js';
import { parseQuery } from '../subgraphs/search/src/query.js';
import { recountHashtags, upsertBatch } from '../subgraphs/search/src/index-store.js';

/** Flag a plan reading more than RATIO × the rows it returns, once it reads over MIN_ROWS. */
export const RATIO = 50;
export const MIN_ROWS = 1000;

export interface Captured {
  /** What runs it: `service: operation`. */
  label: string;
  /** The statement's name when it is prepared once per connection (generic plans possible). */
  name?: string;
  text: string;
  values: unknown[];
  /**
   * Reads this statement does by design, with the reason: rows read up to this bound are not
   * flagged (text search ranks up to SEARCH_TEXT_CANDIDATES newest matches).
   */
  budget?: { rows: number; why: string };
}

/** A Queryable (and enough of pg.Pool) that records statements instead of running them. */
function recorder(): { db: Queryable & pg.Pool; calls: Omit<Captured, 'label'>[] } {
  const calls: Omit<Captured, 'label'>[] = [];
  const query = (q: string | pg.QueryConfig, values?: unknown[]) => {
    if (typeof q === 'string') calls.push({ text: q, values: values ?? [] });
    else calls.push({ ...(q.name ? { name: q.name } : {}), text: q.text, values: q.values ?? [] });
    return Promise.resolve({ rows: [], rowCount: 0 });
  };
  return { db: { query } as unknown as Queryable & pg.Pool, calls };
}

async function capture(label: string, run: (db: Queryable & pg.Pool) => Promise<unknown>) {
  const { db, calls } = recorder();
  await run(db);
  if (calls.length === 0) throw new Error(`${label}: issued no statement`);
  return calls.map((c, i) => ({ ...c, label: calls.length > 1 ? `${label} #${i + 1}` : label }));
}

/** What the statements are run for: a reader and the page they would see, from the data. */
export interface Sample {
  reader: string;
  /** The newest posts of the reader's followees (a feed page's post ids). */
  pagePostIds: string[];
  /** Their authors, de-duplicated. */
  pageAuthorIds: string[];
  /** Whom the reader follows, newest first (at most 10,000, as the feed reads them). */
  followees: string[];
  /** The celebrities the reader follows (pulled at read time). */
  readerCelebs: string[];
  /** The most-followed account (its followers are paged by a fan-out). */
  celebrity: string;
  /** A typical author (User.posts). */
  author: string;
  /** The most used hashtag. */
  hashtag: string;
}

export async function pickSample(
  db: pg.Pool | pg.Client,
  reader: string,
  celebrityThreshold: number,
): Promise<Sample> {
  const q = async <R extends pg.QueryResultRow>(text: string, values: unknown[] = []) =>
    (await db.query<R>(text, values)).rows;
  const page = await q<{ id: string; author_id: string }>(
    `SELECT p.id::text, p.author_id::text FROM graph.follows f
       JOIN LATERAL (SELECT id, author_id FROM posts.posts WHERE author_id = f.followee_id
                      AND deleted_at IS NULL ORDER BY id DESC LIMIT 20) p ON true
      WHERE f.follower_id = $1 ORDER BY p.id DESC LIMIT 20`,
    [reader],
  );
  const followees = await q<{ id: string }>(
    'SELECT followee_id::text AS id FROM graph.follows WHERE follower_id = $1 ORDER BY seq DESC LIMIT 10000',
    [reader],
  );
  const celebs = await q<{ id: string }>(
    `SELECT f.followee_id::text AS id FROM graph.follows f JOIN graph.user_stats s ON s.user_id = f.followee_id
      WHERE f.follower_id = $1 AND s.follower_count >= $2`,
    [reader, celebrityThreshold],
  );
  const [top] = await q<{ id: string }>(
    'SELECT user_id::text AS id FROM graph.user_stats ORDER BY follower_count DESC, user_id LIMIT 1',
  );
  const [author] = await q<{ id: string }>(
    `SELECT author_id::text AS id FROM posts.author_stats
      ORDER BY post_count DESC, author_id LIMIT 1 OFFSET (SELECT count(*) / 2 FROM posts.author_stats)`,
  );
  const [tag] = await q<{ tag: string }>(
    `SELECT t AS tag FROM posts.posts, unnest(hashtags) t GROUP BY t ORDER BY count(*) DESC, t LIMIT 1`,
  );
  return {
    reader,
    pagePostIds: page.map((r) => r.id),
    pageAuthorIds: [...new Set(page.map((r) => r.author_id))],
    followees: followees.map((r) => r.id),
    readerCelebs: celebs.map((r) => r.id),
    celebrity: top!.id,
    author: author!.id,
    hashtag: tag!.tag,
  };
}

/** The hot statements, captured from the services' code with the sample's parameters. */
export async function hotStatements(cfg: Config, s: Sample): Promise<Captured[]> {
  const graphApp = (pool: pg.Pool) => ({ pool, cfg }) as unknown as GraphApp;
  const ids = (xs: string[]) => xs.map(BigInt);
  // A feed page's timeline part: the pushed entries a reader's Redis timeline returns (20
  // and 9 spare, feed/src/read.ts), merged with the reader's and their celebrities' posts.
  const pushed = ids(s.pagePostIds);
  const out: Captured[] = [
    ...(await capture('feed: home page, first', (db) =>
      mergePage(db, pushed, [s.reader, ...s.readerCelebs], null, 21),
    )),
    ...(await capture('feed: home page, next', (db) =>
      mergePage(db, pushed, [s.reader, ...s.readerCelebs], pushed.at(-1)!, 21),
    )),
    // Every followee pulled (a missing timeline, or Redis down): the heaviest feed read.
    ...(await capture('feed: Postgres fallback page', (db) =>
      mergePage(db, [], [s.reader, ...s.followees], null, 21),
    )),
    ...(await capture('feed: timeline rebuild', (db) =>
      mergePage(
        db,
        [],
        s.followees.filter((id) => !s.readerCelebs.includes(id)),
        null,
        feedSettings(cfg).FEED_TIMELINE_CAP,
      ),
    )),
    ...(await capture('post: Post entities (feed page)', (db) =>
      getPostsWithMedia(db, s.pagePostIds),
    )),
    ...(await capture('post: carousels', (db) => getMediaByPost(db, pushed))),
    ...(await capture('post: User.postCount', (db) =>
      createLoaders(db).postCountByAuthor.loadMany(ids(s.pageAuthorIds)),
    )),
    ...(await capture('post: User.posts first page', (db) =>
      createLoaders(db).authorPage.load({ authorId: BigInt(s.author), beforeId: null, limit: 21 }),
    )),
    ...(await capture('user: User entities (feed page authors)', (db) =>
      getUsers(db, s.pageAuthorIds),
    )),
    ...(await capture('graph: follower/following counts', (db) =>
      createGraphLoaders(db, s.reader).stats.loadMany(s.pageAuthorIds),
    )),
    ...(await capture('graph: viewer follows them?', (db) =>
      createGraphLoaders(db, s.reader).relation.loadMany(s.pageAuthorIds),
    )),
    ...(await capture('graph: celebrities a reader follows', (db) =>
      celebritiesFollowedBy(graphApp(db), BigInt(s.reader)),
    )),
    ...(await capture('graph: celebrities among', (db) =>
      celebritiesAmong(graphApp(db), ids(s.pageAuthorIds)),
    )),
    ...(await capture('graph: followers batch (fan-out)', (db) =>
      edgePage(
        graphApp(db),
        BigInt(s.celebrity),
        'followers',
        null,
        feedSettings(cfg).FEED_FANOUT_BATCH,
      ),
    )),
    ...(await capture('graph: followers page (public list)', (db) =>
      visibleEdgePage(graphApp(db), BigInt(s.reader), BigInt(s.celebrity), 'followers', null, 21),
    )),
    ...(await capture('graph: followees batch (timeline rebuild)', (db) =>
      edgePage(graphApp(db), BigInt(s.reader), 'following', null, 5000),
    )),
    ...(await capture('search: #hashtag, first page', (db) =>
      createPgBackend(db).byHashtag(s.hashtag, null, 20),
    )),
    ...(await capture('search: hashtag suggestions', (db) =>
      suggestHashtags(db, s.hashtag.slice(0, 3), 10),
    )),
  ];
  const text = parseQuery('golden hour');
  if (text.kind !== 'text') throw new Error('unexpected query parse');
  const candidates = searchSettings(cfg).SEARCH_TEXT_CANDIDATES;
  for (const c of await capture('search: text "golden hour"', (db) =>
    createPgBackend(db, { textCandidates: candidates }).searchText(text.words, null, 20),
  )) {
    // Ranking reads the tsvectors of up to `candidates` newest matches: index entries
    // and heap rows for each, by design (docs/search.md).
    out.push({
      ...c,
      budget: { rows: 3 * candidates, why: 'ranks the newest SEARCH_TEXT_CANDIDATES matches' },
    });
  }
  return out;
}

// ---- EXPLAIN and counting ----

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  'Rows Removed by Join Filter'?: number;
  Plans?: PlanNode[];
}

export interface ScanCount {
  node: string;
  on: string;
  rows: number;
}

export interface PlanRows {
  read: number;
  returned: number;
  /** The access nodes, most rows first. */
  scans: ScanCount[];
}

// Nodes that read a table or an index. Function, values, CTE and subquery scans read
// what another node produced (already counted there).
const ACCESS =
  /^(Seq Scan|Index Scan|Index Only Scan|Bitmap Index Scan|Bitmap Heap Scan|Tid Scan|Tid Range Scan|Sample Scan)$/;

/**
 * Rows a plan read, from EXPLAIN (ANALYZE, FORMAT JSON): for every table or index access,
 * the rows it produced plus those it discarded (filter, recheck), times its loops. A bitmap
 * scan counts its index entries and its heap rows, so it may count a row twice; the check
 * looks for orders of magnitude.
 */
export function planRows(explain: unknown): PlanRows {
  const root = (explain as [{ Plan: PlanNode }])[0].Plan;
  const scans: ScanCount[] = [];
  const walk = (n: PlanNode) => {
    if (ACCESS.test(n['Node Type'])) {
      const perLoop =
        (n['Actual Rows'] ?? 0) +
        (n['Rows Removed by Filter'] ?? 0) +
        (n['Rows Removed by Index Recheck'] ?? 0);
      scans.push({
        node: n['Node Type'],
        on: n['Index Name'] ?? n['Relation Name'] ?? '?',
        rows: Math.round(perLoop * (n['Actual Loops'] ?? 0)),
      });
    }
    for (const child of n.Plans ?? []) walk(child);
  };
  walk(root);
  scans.sort((a, b) => b.rows - a.rows);
  return {
    read: scans.reduce((a, s) => a + s.rows, 0),
    returned: Math.round((root['Actual Rows'] ?? 0) * (root['Actual Loops'] ?? 1)),
    scans,
  };
}

export interface PlanVerdict extends PlanRows {
  ratio: number;
  flagged: boolean;
}

export function judge(rows: PlanRows, budget?: { rows: number }): PlanVerdict {
  const ratio = rows.read / Math.max(rows.returned, 1);
  const over = rows.read > MIN_ROWS && ratio > RATIO;
  return {
    ...rows,
    ratio: Math.round(ratio * 10) / 10,
    flagged: over && !(budget && rows.read <= budget.rows),
  };
}

/** A SQL literal for a bind value (EXECUTE takes literals). */
function literal(c: pg.ClientBase, v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v instanceof Date) return c.escapeLiteral(v.toISOString());
  if (Array.isArray(v)) {
    const items = (v as unknown[]).map((x) =>
      x === null ? 'NULL' : `"${String(x as string).replace(/["\\]/g, (ch) => `\\${ch}`)}"`,
    );
    return c.escapeLiteral(`{${items.join(',')}}`);
  }
  return c.escapeLiteral(typeof v === 'string' ? v : JSON.stringify(v));
}

export interface StatementReport {
  label: string;
  name?: string;
  plan: 'custom' | 'generic';
  ms: number;
  read: number;
  returned: number;
  ratio: number;
  flagged: boolean;
  budget?: { rows: number; why: string };
  /** The three biggest reads: node, index or table, rows. */
  top: string[];
}

/**
 * EXPLAIN ANALYZE of each statement: prepared (PREPARE/EXECUTE) under plan_cache_mode
 * force_custom_plan, and for named statements force_generic_plan as well.
 */
export async function explainAll(
  c: pg.ClientBase,
  statements: readonly Captured[],
): Promise<StatementReport[]> {
  const reports: StatementReport[] = [];
  for (const [i, s] of statements.entries()) {
    const modes = s.name ? (['custom', 'generic'] as const) : (['custom'] as const);
    for (const mode of modes) {
      await c.query(`SET plan_cache_mode = force_${mode}_plan`);
      await c.query(`PREPARE plan_check_${i} AS ${s.text}`);
      try {
        const args = s.values.length ? `(${s.values.map((v) => literal(c, v)).join(', ')})` : '';
        const { rows } = await c.query<{ 'QUERY PLAN': unknown }>(
          `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE plan_check_${i}${args}`,
        );
        const explain = rows[0]!['QUERY PLAN'];
        const verdict = judge(planRows(explain), s.budget);
        reports.push({
          label: s.label,
          ...(s.name ? { name: s.name } : {}),
          plan: mode,
          ms:
            Math.round((explain as [{ 'Execution Time': number }])[0]['Execution Time'] * 1000) /
            1000,
          read: verdict.read,
          returned: verdict.returned,
          ratio: verdict.ratio,
          flagged: verdict.flagged,
          ...(s.budget ? { budget: s.budget } : {}),
          top: verdict.scans.slice(0, 3).map((x) => `${x.node} on ${x.on}: ${x.rows}`),
        });
      } finally {
        await c.query(`DEALLOCATE plan_check_${i}`);
      }
    }
  }
  await c.query('RESET plan_cache_mode');
  return reports;
}

// ---- the projections the consumers build from the seed's events ----

/**
 * Fills feed.posts and search.posts (and the hashtag counts) from posts.posts as the feed
 * materializer and the search indexer would from the seed's post.created events: feed.posts
 * holds (post, author, time); search.posts is written by the indexer's own upsert.
 */
export async function buildProjections(pool: pg.Pool): Promise<void> {
  await pool.query(
    `INSERT INTO feed.posts (post_id, author_id, created_at)
     SELECT id, author_id, created_at FROM posts.posts WHERE deleted_at IS NULL
     ON CONFLICT (post_id) DO NOTHING`,
  );
  let after = '0';
  for (;;) {
    const { rows } = await pool.query<{
      id: string;
      author_id: string;
      caption: string | null;
      hashtags: string[];
      created_at: Date;
    }>(
      `SELECT id::text, author_id::text, caption, hashtags, created_at FROM posts.posts
        WHERE id > $1 AND deleted_at IS NULL ORDER BY id LIMIT 2000`,
      [after],
    );
    if (rows.length === 0) break;
    await upsertBatch(
      pool,
      rows.map((r) => ({
        id: r.id,
        authorId: r.author_id,
        caption: r.caption ?? '',
        hashtags: r.hashtags,
        createdAt: r.created_at.toISOString(),
      })),
    );
    after = rows.at(-1)!.id;
  }
  await recountHashtags(pool);
}
