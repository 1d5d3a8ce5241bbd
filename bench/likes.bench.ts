// npm run bench likes — a hot key against spread keys, through the gateway, in one run:
// 10,000 likes of ONE post by 10,000 users from 64 concurrent clients, against 10,000 likes
// spread over 10,000 posts from 64 concurrent clients. Goal: the hot case keeps at least 50 %
// of the spread case's throughput (sharded counters: engagement.post_counters), and both
// final counts are exact.
import pg from 'pg';
import { parseConfig } from '../lib/config.js';
import { signAccessToken } from '../lib/auth/tokens.js';
import type { RunningService } from '../lib/platform/http/server.js';
import { SUBGRAPHS } from '../scripts/services.js';
import { startGateway } from '../gateway/src/server.js';
import { benchEnv, freePort, summarize, writeResults } from './support.js';

const LIKES = Number(process.env.BENCH_LIKES ?? 10_000);
const CONCURRENCY = 64;
const WARMUP = 500;
const SUBGRAPH_SET = ['user', 'post', 'graph', 'engagement'] as const;
const LIKE =
  'mutation($id: ID!) { likePost(postId: $id) { post { id likeCount viewerHasLiked } } }';

async function like(url: string, token: string, postId: string): Promise<number> {
  const t = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: LIKE, variables: { id: postId } }),
  });
  const body = (await res.json()) as { errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return performance.now() - t;
}

/** `n` likes, the i-th by tokens[i] on postOf(i), from CONCURRENCY clients sharing a counter. */
async function storm(url: string, tokens: string[], postOf: (i: number) => string, n: number) {
  const latencies: number[] = [];
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < n; i = next++)
        latencies.push(await like(url, tokens[i]!, postOf(i)));
    }),
  );
  const seconds = (performance.now() - t) / 1000;
  return {
    likes: n,
    concurrency: CONCURRENCY,
    seconds: Math.round(seconds * 100) / 100,
    likesPerSecond: Math.round(n / seconds),
    latencyMs: summarize(latencies),
  };
}

export async function run(): Promise<void> {
  const env = await benchEnv('likes');
  const cfg = parseConfig({ ...process.env, ...env.env });
  const pool = new pg.Pool({ connectionString: env.databaseUrl, max: 2 });
  const running: RunningService[] = [];
  try {
    // Accounts and posts straight into the tables: sign-up and upload are not measured here.
    const users = LIKES + WARMUP;
    const { rows: userRows } = await pool.query<{ id: string }>(
      `INSERT INTO users.users (username, username_lower, email, password_hash)
       SELECT 'liker' || g, 'liker' || g, 'liker' || g || '@example.com', 'x' FROM generate_series(1, $1) g
       RETURNING id::text`,
      [users],
    );
    const ids = userRows.map((r) => r.id);
    const author = ids[0]!;
    const { rows: postRows } = await pool.query<{ id: string }>(
      `INSERT INTO posts.posts (author_id, caption) SELECT $1::bigint, 'post ' || g
       FROM generate_series(1, $2) g RETURNING id::text`,
      [author, LIKES + 2],
    );
    const posts = postRows.map((r) => r.id);
    const [hotPost, warmPost] = [posts[0]!, posts[1]!];
    const spreadPosts = posts.slice(2);
    await pool.query('ANALYZE');

    const ports = Object.fromEntries(
      await Promise.all(SUBGRAPH_SET.map(async (n) => [n, await freePort()] as const)),
    ) as Record<(typeof SUBGRAPH_SET)[number], number>;
    const runCfg = {
      ...cfg,
      SUBGRAPH_USER_URL: `http://127.0.0.1:${ports.user}/graphql`,
      SUBGRAPH_POST_URL: `http://127.0.0.1:${ports.post}/graphql`,
      SUBGRAPH_GRAPH_URL: `http://127.0.0.1:${ports.graph}/graphql`,
      SUBGRAPH_ENGAGEMENT_URL: `http://127.0.0.1:${ports.engagement}/graphql`,
    };
    const urls: Record<string, string> = {};
    for (const name of SUBGRAPH_SET) {
      const s = await SUBGRAPHS[name]!(runCfg, ports[name]);
      running.push(s);
      urls[name] = s.url;
    }
    const gateway = await startGateway(runCfg, { port: 0, subgraphUrls: urls });
    running.push(gateway);
    const url = `${gateway.url}/graphql`;
    const tokens = await Promise.all(
      ids.map(async (id) => (await signAccessToken(cfg, { userId: id, sessionId: '1' })).token),
    );
    const likers = tokens.slice(WARMUP);

    console.log(`warm-up: ${WARMUP} likes`);
    await storm(url, tokens, () => warmPost, WARMUP);

    console.log(`spread: ${LIKES} likes over ${LIKES} posts, ${CONCURRENCY} concurrent clients`);
    const spread = await storm(url, likers, (i) => spreadPosts[i]!, LIKES);
    console.log(spread);
    console.log(`hot: ${LIKES} likes of one post, ${CONCURRENCY} concurrent clients`);
    const hot = await storm(url, likers, () => hotPost, LIKES);
    console.log(hot);

    // Exactness: the summed shards equal the stored likes, in both cases.
    const { rows: exact } = await pool.query<{
      hot: string;
      hot_rows: string;
      spread: string;
      spread_rows: string;
      shards: string;
    }>(
      `SELECT
         (SELECT coalesce(sum(like_count), 0) FROM engagement.post_counters WHERE post_id = $1)::text AS hot,
         (SELECT count(*) FROM engagement.likes WHERE post_id = $1)::text AS hot_rows,
         (SELECT coalesce(sum(like_count), 0) FROM engagement.post_counters WHERE post_id = ANY($2::bigint[]))::text AS spread,
         (SELECT count(*) FROM engagement.likes WHERE post_id = ANY($2::bigint[]))::text AS spread_rows,
         (SELECT count(*) FROM engagement.post_counters WHERE post_id = $1)::text AS shards`,
      [hotPost, spreadPosts],
    );
    const e = exact[0]!;
    const counts = {
      hotCount: Number(e.hot),
      hotRows: Number(e.hot_rows),
      hotShards: Number(e.shards),
      spreadCount: Number(e.spread),
      spreadRows: Number(e.spread_rows),
      exact:
        Number(e.hot) === LIKES &&
        Number(e.hot_rows) === LIKES &&
        Number(e.spread) === LIKES &&
        Number(e.spread_rows) === LIKES,
    };
    const hotToSpread = Math.round((hot.likesPerSecond / spread.likesPerSecond) * 100) / 100;
    console.log({ hotToSpread, goal: 0.5, ...counts });
    const file = await writeResults('likes', {
      spread,
      hot,
      hotToSpreadRatio: hotToSpread,
      goal: 'hot >= 0.5 x spread',
      met: hotToSpread >= 0.5,
      counts,
    });
    console.log(`results: ${file}`);
  } finally {
    for (const s of running.reverse()) await s.close();
    await pool.end();
    await env.drop();
  }
}
