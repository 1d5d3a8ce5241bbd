// npm run bench feed-read — feed page throughput: one page of 20 posts with author and
// media, for a reader following 1,000 accounts over 1 M posts,
//   1. through Mosaic's gateway (gateway and subgraphs each their own process, as
//      `node dist/scripts/start.js <name>` runs them),
//   2. through Hive Gateway + @graphql-hive/router-runtime on the same supergraph file
//      (bench/hive-gateway.ts, its own process; in-flight de-duplication off),
//   3. straight against the feed subgraph (ids only: it returns references),
//   4. the SQL pull query Pixelfed and Bluesky run (followees' posts ORDER BY time DESC
//      LIMIT 20) on a plain (author_id, created_at, id) table of the same posts,
//   5. through Mosaic's gateway for a second reader whose 1,000 followees are all private
//      accounts: the visibility check (one graph call per page) finds nothing to hide but
//      must look at every author's follow edge, and the post subgraph signs their media URLs.
// The load generator (autocannon) runs in a process of its own; 1-3 use the same fixed
// concurrency and duration after a warm-up. Every process shares the machine's cores.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { parseConfig } from '../lib/config.js';
import { ID_EPOCH_MS } from '../lib/contracts/ids.js';
import { signAccessToken } from '../lib/auth/tokens.js';
import { VIEWER_CONTEXT_HEADER, signViewerContext } from '../lib/auth/viewer-context.js';
import { localSubgraphUrl, type SubgraphName } from '../lib/registry.js';
import { benchEnv, localServiceEnv, summarize, writeResults } from './support.js';

const AUTHORS = Number(process.env.BENCH_FEED_AUTHORS ?? 10_000);
const FOLLOWED = Number(process.env.BENCH_FEED_FOLLOWED ?? 1_000);
const POSTS = Number(process.env.BENCH_FEED_POSTS ?? 1_000_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 3);
const PORT_BASE = Number(process.env.BENCH_PORT_BASE ?? 14_100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
/** Postgres connections (= concurrent callers) for the SQL pull query: a server's pool size. */
const PULL_CONNECTIONS = Number(process.env.BENCH_PULL_CONNECTIONS ?? 8);

const FEED_QUERY = `{ feed(first: 20) { nodes { id caption createdAt author { id username displayName } media { type url width height blurhash variants { width url } } } pageInfo { endCursor hasNextPage } } }`;
const IDS_QUERY = `{ feed(first: 20) { nodes { id } pageInfo { endCursor hasNextPage } } }`;
const PULL_SQL = `SELECT s.id, s.author_id, s.created_at FROM bench_pull.statuses s
  WHERE s.author_id IN (SELECT followee_id FROM bench_pull.follows WHERE follower_id = $1)
  ORDER BY s.created_at DESC LIMIT 20`;

/**
 * Node flags for one of the processes, to profile it under this load: BENCH_<NAME>_EXEC_ARGV
 * (e.g. BENCH_GATEWAY_EXEC_ARGV=--cpu-prof), else BENCH_EXEC_ARGV for all of them.
 */
const execArgv = (name: string): string[] =>
  (process.env[`BENCH_${name.toUpperCase()}_EXEC_ARGV`] ?? process.env.BENCH_EXEC_ARGV ?? '')
    .split(' ')
    .filter(Boolean);

/** Users get ids minted one millisecond apart (shard 1) a day into the id epoch. */
const USER_MS0 = 86_400_000;
const userId = (i: number) => (BigInt(USER_MS0 + i) << 23n) | (1n << 10n);
/** The reader of the private-authors row: user AUTHORS + 1, who has no posts of their own. */
const PRIVATE_READER = AUTHORS + 1;

async function seed(pool: pg.Pool): Promise<void> {
  const t = performance.now();
  const c = await pool.connect();
  try {
    // Reader = user 0; authors 1..AUTHORS; the reader follows authors 1..FOLLOWED. The
    // private reader (AUTHORS + 1) follows authors FOLLOWED+1..2×FOLLOWED, all private.
    await c.query(
      `INSERT INTO users.users (id, username, username_lower, email, password_hash, display_name)
       SELECT ((($1::bigint + g) << 23) | 1024), 'bench_' || g, 'bench_' || g,
              'bench_' || g || '@example.com',
              '$argon2id$v=19$m=19456,t=2,p=1$YmVuY2hzYWx0$YmVuY2hoYXNoYmVuY2hoYXNo', 'Bench User ' || g
       FROM generate_series(0, $2::int) g`,
      [USER_MS0, PRIVATE_READER],
    );
    // Posts one second apart, the newest a minute ago; ids time-sortable (shard 2), the
    // post's media minted in the same millisecond with sequence 1.
    const newestMs = Date.now() - 60_000 - ID_EPOCH_MS;
    await c.query(
      `CREATE TEMP TABLE gen AS
       SELECT g AS i, ((($1::bigint + g % $5::int) << 23) | 1024) AS author_id,
              ((($2::bigint - ($3::bigint - 1 - g) * 1000) << 23) | 2048) AS post_id,
              to_timestamp(($4::bigint + $2::bigint - ($3::bigint - 1 - g) * 1000) / 1000.0) AS created_at
       FROM generate_series(0, $3::bigint - 1) g`,
      [USER_MS0 + 1, newestMs, POSTS, ID_EPOCH_MS, AUTHORS],
    );
    await c.query(`INSERT INTO posts.posts (id, author_id, caption, hashtags, created_at)
       SELECT post_id, author_id, 'Bench post ' || i, '{}', created_at FROM gen`);
    await c.query(`INSERT INTO posts.media (id, owner_id, type, status, mime_type, bytes, width, height,
         blurhash, storage_key, variants, object_keys, created_at, attached_at)
       SELECT post_id | 1, author_id, 'IMAGE', 'READY', 'image/webp', 180000, 1080, 1350,
         'LEHV6nWB2yk8pyo0adR*.7kCMdnj', 'm/' || (post_id | 1) || '/1080.webp',
         jsonb_build_array(
           jsonb_build_object('width', 320, 'height', 400, 'mimeType', 'image/webp',
             'key', 'm/' || (post_id | 1) || '/320.webp', 'bytes', 14000),
           jsonb_build_object('width', 1080, 'height', 1350, 'mimeType', 'image/webp',
             'key', 'm/' || (post_id | 1) || '/1080.webp', 'bytes', 180000)),
         ARRAY['m/' || (post_id | 1) || '/320.webp', 'm/' || (post_id | 1) || '/1080.webp'],
         created_at, created_at
       FROM gen`);
    await c.query(`INSERT INTO posts.post_media (post_id, media_id, position)
       SELECT post_id, post_id | 1, 0 FROM gen`);
    await c.query(`INSERT INTO posts.author_stats (author_id, post_count)
       SELECT author_id, count(*) FROM gen GROUP BY author_id`);
    await c.query(`INSERT INTO feed.posts (post_id, author_id, created_at)
       SELECT post_id, author_id, created_at FROM gen`);
    await c.query(
      `INSERT INTO graph.follows (follower_id, followee_id, created_at)
       SELECT $1::bigint, ((($2::bigint + g) << 23) | 1024), now() FROM generate_series(1, $3::int) g`,
      [userId(0).toString(), USER_MS0, FOLLOWED],
    );
    await c.query(
      `INSERT INTO graph.follows (follower_id, followee_id, created_at)
       SELECT $1::bigint, ((($2::bigint + g) << 23) | 1024), now()
       FROM generate_series($3::int + 1, 2 * $3::int) g`,
      [userId(PRIVATE_READER).toString(), USER_MS0, FOLLOWED],
    );
    await c.query(
      `INSERT INTO graph.user_stats (user_id, follower_count, following_count, is_private)
       SELECT $1::bigint, 0, $2::int, false
       UNION ALL
       SELECT $4::bigint, 0, $2::int, false
       UNION ALL
       SELECT ((($3::bigint + g) << 23) | 1024), 1, 0, g > $2::int
       FROM generate_series(1, 2 * $2::int) g`,
      [userId(0).toString(), FOLLOWED, USER_MS0, userId(PRIVATE_READER).toString()],
    );
    // The pull baseline: the same posts in a plain table shaped like Pixelfed's statuses /
    // Bluesky's feed items, with the index they would have.
    await c.query(`CREATE SCHEMA bench_pull`);
    await c.query(`CREATE TABLE bench_pull.statuses (id bigint PRIMARY KEY, author_id bigint NOT NULL,
       created_at timestamptz NOT NULL)`);
    await c.query(`INSERT INTO bench_pull.statuses SELECT post_id, author_id, created_at FROM gen`);
    await c.query(
      `CREATE INDEX statuses_author_created_idx ON bench_pull.statuses (author_id, created_at DESC)`,
    );
    await c.query(`CREATE TABLE bench_pull.follows (follower_id bigint NOT NULL, followee_id bigint NOT NULL,
       PRIMARY KEY (follower_id, followee_id))`);
    await c.query(
      `INSERT INTO bench_pull.follows SELECT follower_id, followee_id FROM graph.follows`,
    );
    await c.query(`DROP TABLE gen`);
    await c.query(`VACUUM ANALYZE`);
    await c.query(`CHECKPOINT`); // the seed's dirty pages written now, not during a run
  } finally {
    c.release();
  }
  console.log(`seeded ${POSTS} posts in ${Math.round((performance.now() - t) / 1000)} s`);
}

async function waitHealthy(url: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`${url}: process exited (${child.exitCode})`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not become healthy`);
}

interface LoadResult {
  requestsPerSecond: number;
  latencyMs: { p50: number; p99: number; mean: number };
  requests: number;
  errors: number;
  non2xx: number;
  /** CPU time each of our processes spent per request during the measured run. */
  cpuMsPerRequest?: Record<string, number>;
}

interface AutocannonJson {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

const rps = (r: LoadResult) => r.requestsPerSecond;
/** The round with the median throughput. */
const median = (rounds: LoadResult[]): LoadResult =>
  [...rounds].sort((a, b) => rps(a) - rps(b))[Math.floor(rounds.length / 2)]!;

const autocannonBin = () =>
  path.join(path.dirname(createRequire(import.meta.url).resolve('autocannon')), 'autocannon.js');

/** Runs autocannon in its own process against url with a fixed body and headers. */
function autocannon(
  url: string,
  headers: Record<string, string>,
  body: string,
  seconds: number,
): Promise<LoadResult> {
  const args = [autocannonBin(), '-c', String(CONCURRENCY), '-d', String(seconds), '-m', 'POST'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}=${v}`);
  args.push('-b', body, '--json', url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited with ${code}`));
      const r = JSON.parse(out) as AutocannonJson;
      resolve({
        requestsPerSecond: Math.round(r.requests.average),
        latencyMs: { p50: r.latency.p50, p99: r.latency.p99, mean: r.latency.average },
        requests: r.requests.total,
        errors: r.errors + r.timeouts,
        non2xx: r.non2xx,
      });
    });
  });
}

interface FeedBody {
  data?: { feed: { nodes: { author?: unknown; media?: unknown[] }[] } };
  errors?: unknown[];
}

/** One request first: the load runs only if the page is complete (20 posts, authors, media). */
async function checkPage(
  url: string,
  headers: Record<string, string>,
  body: string,
  full: boolean,
): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers, body });
  const json = (await res.json()) as FeedBody;
  const nodes = json.data?.feed.nodes ?? [];
  const ok =
    res.ok &&
    !json.errors &&
    nodes.length === 20 &&
    (!full || nodes.every((n) => n.author && n.media?.length === 1));
  if (!ok) throw new Error(`${url}: incomplete feed page: ${JSON.stringify(json).slice(0, 500)}`);
}

/** CPU seconds a process has used so far (user + system), from /proc (Linux). */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return NaN;
  }
}

/** Our service processes by name, for CPU time per request (robust to noisy neighbours). */
const processes = new Map<string, number>();

/**
 * CPU seconds used so far by all processes with this command name (every Postgres backend,
 * the Redis server): the platform's share of a page, which shares the cores too. A process
 * started since `before` was taken counts from zero.
 */
function platformCpu(comm: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== comm) continue;
    } catch {
      continue;
    }
    out.set(Number(entry), cpuSeconds(Number(entry)));
  }
  return out;
}

const PLATFORM = { postgres: 'postgres', redis: 'redis-server' } as const;

function platformDelta(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, s] of after) if (!Number.isNaN(s)) total += s - (before.get(pid) ?? 0);
  return total;
}

async function measure(
  name: string,
  url: string,
  headers: () => Record<string, string>,
  body: string,
  full: boolean,
): Promise<LoadResult> {
  await checkPage(url, headers(), body, full);
  await autocannon(url, headers(), body, WARMUP_S);
  const before = new Map([...processes].map(([n, pid]) => [n, cpuSeconds(pid)]));
  const platformBefore = Object.values(PLATFORM).map(platformCpu);
  const r = await autocannon(url, headers(), body, DURATION_S);
  if (r.errors || r.non2xx) throw new Error(`${name}: ${r.errors} errors, ${r.non2xx} non-2xx`);
  const cpu: Record<string, number> = {};
  const perRequest = (seconds: number) => Math.round(((seconds * 1000) / r.requests) * 100) / 100;
  for (const [n, pid] of processes) {
    const ms = perRequest(cpuSeconds(pid) - before.get(n)!);
    if (ms > 0) cpu[n] = ms;
  }
  Object.entries(PLATFORM).forEach(([n, comm], i) => {
    cpu[n] = perRequest(platformDelta(platformBefore[i]!, platformCpu(comm)));
  });
  r.cpuMsPerRequest = cpu;
  console.log(name, r);
  return r;
}

/** Closed-loop SQL pull queries at the same concurrency, for a fixed duration. */
async function pullQuery(pool: pg.Pool, readerId: string) {
  const run = async (seconds: number) => {
    const samples: number[] = [];
    const until = performance.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: PULL_CONNECTIONS }, async () => {
        while (performance.now() < until) {
          const t = performance.now();
          const { rowCount } = await pool.query(PULL_SQL, [readerId]);
          if (rowCount !== 20) throw new Error(`pull query returned ${rowCount} rows`);
          samples.push(performance.now() - t);
        }
      }),
    );
    return samples;
  };
  await run(WARMUP_S);
  const samples = await run(DURATION_S);
  const { rows } = await pool.query<{ plan: string }>(`EXPLAIN (ANALYZE, BUFFERS) ${PULL_SQL}`, [
    readerId,
  ]);
  const s = summarize(samples);
  return {
    queriesPerSecond: Math.round(samples.length / DURATION_S),
    latencyMs: { p50: s.p50, p99: s.p99 },
    query: PULL_SQL.replace(/\s+/g, ' '),
    index: 'statuses (author_id, created_at DESC)',
    connections: PULL_CONNECTIONS,
    plan: rows.map((r) => Object.values(r)[0]).join('\n'),
  };
}

export async function run(): Promise<void> {
  const env = await benchEnv('feed_read');
  // Every process runs as deployed (the Dockerfile sets NODE_ENV=production): graphql-js,
  // for one, drops its development-only checks. Production refuses the built-in secrets.
  const production = {
    NODE_ENV: 'production',
    JWT_SECRET: randomBytes(32).toString('hex'),
    INTERNAL_SIGNING_SECRET: randomBytes(32).toString('hex'),
  };
  const cfg = parseConfig({ ...process.env, ...env.env, ...production });
  const pool = new pg.Pool({ connectionString: env.databaseUrl, max: PULL_CONNECTIONS });
  const redis = new Redis(cfg.REDIS_URL);
  const children: ChildProcess[] = [];
  const results: Record<string, unknown> = {
    setup: {
      reader: `follows ${FOLLOWED} of ${AUTHORS} authors; ${POSTS} posts, one image each`,
      privateReader: `follows ${FOLLOWED} other authors, all private accounts (approved follower)`,
      query: FEED_QUERY,
      concurrency: CONCURRENCY,
      durationSeconds: DURATION_S,
      warmupSeconds: WARMUP_S,
      loadGenerator: 'autocannon (own process)',
      mosaic:
        'gateway and user, post, graph, feed each a process: node dist/scripts/start.js <name>',
      gatewayWorkers: process.env.GATEWAY_WORKERS ?? 'default',
      nodeEnv: 'production (every process)',
      rounds: `${ROUNDS}, gateways alternating (ABBA…); medians per gateway, ratio over all rounds`,
    },
  };
  try {
    await seed(pool);
    // Measured before the services start: they would hold Postgres connections and CPU.
    const pull = await pullQuery(pool, userId(0).toString());
    console.log('sql pull', pull.queriesPerSecond, pull.latencyMs);
    // The readers' timelines are rebuilt by their first reads (below), like a cold start.
    for (const reader of [0, PRIVATE_READER])
      await redis.del(`${cfg.REDIS_KEY_PREFIX}tl:{${userId(reader)}}`);

    // The subgraphs a feed read touches (search is left out).
    const names: readonly SubgraphName[] = ['user', 'post', 'graph', 'feed'];
    const port = (n: string) => PORT_BASE + ['gateway', ...names, 'hive'].indexOf(n);
    const services = localServiceEnv(
      Object.fromEntries(['gateway', ...names].map((n) => [n, port(n)])),
    );
    const childEnv: Record<string, string> = {
      ...(process.env as Record<string, string>),
      ...env.env,
      ...production,
      ...services,
      HIVE_GATEWAY_PORT: String(port('hive')),
    };
    const startJs = path.resolve('dist/scripts/start.js');
    for (const n of [...names, 'gateway']) {
      const child = fork(startJs, [n, '--no-migrate'], {
        env: childEnv,
        stdio: 'inherit',
        execArgv: execArgv(n),
      });
      children.push(child);
      processes.set(n, child.pid!);
      await waitHealthy(`http://127.0.0.1:${port(n)}/health`, child);
    }
    const hive = fork(path.resolve('dist/bench/hive-gateway.js'), [], {
      env: { ...childEnv, LOG_LEVEL: 'error' }, // Hive's logger reads it too and knows no "silent"
      stdio: 'inherit',
      execArgv: execArgv('hive'),
    });
    children.push(hive);
    processes.set('hive', hive.pid!);
    await waitHealthy(`http://127.0.0.1:${port('hive')}/healthcheck`, hive);

    const { token } = await signAccessToken(cfg, {
      userId: userId(0).toString(),
      sessionId: '1',
    });
    const gwHeaders = () => ({
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
    });
    const { token: privateToken } = await signAccessToken(cfg, {
      userId: userId(PRIVATE_READER).toString(),
      sessionId: '2',
    });
    const privateHeaders = () => ({
      'content-type': 'application/json',
      authorization: `Bearer ${privateToken}`,
    });
    const body = JSON.stringify({ query: FEED_QUERY });
    // Time to attach a profiler or poke the running services by hand.
    if (process.env.BENCH_PAUSE_S) {
      console.log(`token: ${token}`);
      await new Promise((r) => setTimeout(r, Number(process.env.BENCH_PAUSE_S) * 1000));
    }

    // Rounds alternate the gateways (ABBA…) so that a noisy neighbour hurts both alike.
    // This machine's speed drifts by up to 2x over minutes; short alternating rounds and a
    // ratio over all of them (equal durations) cancel a slow drift, one median does not.
    const mosaicUrl = `http://127.0.0.1:${port('gateway')}/graphql`;
    const hiveUrl = `http://127.0.0.1:${port('hive')}/graphql`;
    const mosaicRounds: LoadResult[] = [];
    const hiveRounds: LoadResult[] = [];
    const privateRounds: LoadResult[] = [];
    // A longer first warm-up: every process's JIT and Postgres' caches settle before any
    // round counts (the first rounds ran visibly slower without it).
    for (const url of [mosaicUrl, hiveUrl]) await autocannon(url, gwHeaders(), body, WARMUP_S * 3);
    for (let round = 0; round < ROUNDS; round++) {
      // The private-authors page sits between the two gateways in every round, so that its
      // ratio to the public page (over all rounds) cancels the same drift.
      const order = round % 2 === 0 ? ['mosaic', 'private', 'hive'] : ['hive', 'private', 'mosaic'];
      for (const which of order) {
        if (which === 'mosaic')
          mosaicRounds.push(await measure('mosaic gateway', mosaicUrl, gwHeaders, body, true));
        else if (which === 'private')
          privateRounds.push(
            await measure('mosaic gateway, private authors', mosaicUrl, privateHeaders, body, true),
          );
        else hiveRounds.push(await measure('hive gateway', hiveUrl, gwHeaders, body, true));
      }
    }
    const mosaic = median(mosaicRounds);
    const hiveR = median(hiveRounds);
    const privateR = median(privateRounds);
    // The subgraph alone, with the signed context the gateway would send (valid 60 s).
    const feedSubgraph = await measure(
      'feed subgraph',
      localSubgraphUrl(port('feed')),
      () => ({
        'content-type': 'application/json',
        [VIEWER_CONTEXT_HEADER]: signViewerContext(cfg.INTERNAL_SIGNING_SECRET, {
          userId: userId(0).toString(),
          sessionId: '1',
          ip: '127.0.0.1',
          requestId: 'bench',
        }),
      }),
      JSON.stringify({ query: IDS_QUERY }),
      false,
    );

    results.mosaicGateway = { ...mosaic, roundsRequestsPerSecond: mosaicRounds.map(rps) };
    results.mosaicGatewayPrivateAuthors = {
      reader: `follows ${FOLLOWED} private accounts (approved): nothing hidden, every author checked`,
      ...privateR,
      roundsRequestsPerSecond: privateRounds.map(rps),
    };
    results.hiveGatewayRouterRuntime = { ...hiveR, roundsRequestsPerSecond: hiveRounds.map(rps) };
    results.feedSubgraphIdsOnly = feedSubgraph;
    results.sqlPullQuery = pull;
    const round2 = (n: number) => Math.round(n * 100) / 100;
    const total = (rounds: LoadResult[]) => rounds.reduce((sum, r) => sum + r.requests, 0);
    const cpuOf = (rounds: LoadResult[], name: string) => {
      const ms = rounds.map((r) => r.cpuMsPerRequest?.[name] ?? NaN).sort((a, b) => a - b);
      return ms[Math.floor(ms.length / 2)]!;
    };
    // Feed pages served over all rounds (same duration each), Mosaic over Hive.
    results.ratioMosaicToHive = round2(total(mosaicRounds) / total(hiveRounds));
    results.ratioOfMedianRounds = round2(mosaic.requestsPerSecond / hiveR.requestsPerSecond);
    results.ratioPerRoundPair = mosaicRounds.map((m, i) => round2(rps(m) / rps(hiveRounds[i]!)));
    // Pages of private authors over pages of public ones, through Mosaic, over all rounds.
    results.ratioPrivateToPublicAuthors = round2(total(privateRounds) / total(mosaicRounds));
    // Each gateway's own CPU per page (median round): what it costs apart from the
    // subgraphs and databases both share.
    const gatewayCpu = { mosaic: cpuOf(mosaicRounds, 'gateway'), hive: cpuOf(hiveRounds, 'hive') };
    results.gatewayCpuMsPerPage = gatewayCpu;
    results.gatewayCpuRatioHiveToMosaic = round2(gatewayCpu.hive / gatewayCpu.mosaic);
    results.target = 'Mosaic gateway >= 1.25x Hive Gateway';
    console.log('ratio mosaic/hive', results.ratioMosaicToHive, results.ratioPerRoundPair);
  } finally {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
          }),
      ),
    );
    redis.disconnect();
    await pool.end();
    await env.drop();
  }
  const file = await writeResults('feed-read', results);
  console.log(`results: ${file}`);
}
