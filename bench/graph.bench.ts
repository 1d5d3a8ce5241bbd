// npm run bench graph — follow/unfollow throughput through the gateway, and paging every
// follower of a user with 1,000,000 followers (internal batch API, GraphQL, raw SQL).
import pg from 'pg';
import { parseConfig, type Config } from '../lib/config.js';
import { signAccessToken } from '../lib/auth/tokens.js';
import { createGraphClient } from '../lib/clients/graph-client.js';
import { baseOf } from '../lib/clients/internal-http.js';
import type { RunningService } from '../lib/platform/http/server.js';
import { SUBGRAPHS } from '../scripts/services.js';
import { startGateway } from '../gateway/src/server.js';
import { benchEnv, freePort, summarize, writeResults } from './support.js';

const FOLLOWERS = Number(process.env.BENCH_GRAPH_FOLLOWERS ?? 1_000_000);
const USERS = 200;
const CONCURRENCY = 32;
const DURATION_MS = 10_000;

async function post(url: string, token: string, query: string, variables: object): Promise<number> {
  const t = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return performance.now() - t;
}

async function followThroughput(cfg: Config, gatewayUrl: string, ids: string[]) {
  const tokens = await Promise.all(
    ids.map((id) => signAccessToken(cfg, { userId: id, sessionId: '1' })),
  );
  const FOLLOW = 'mutation($id: ID!) { follow(userId: $id) { user { id followerCount } } }';
  const UNFOLLOW = 'mutation($id: ID!) { unfollow(userId: $id) { user { id followerCount } } }';
  const latencies: number[] = [];
  const end = Date.now() + DURATION_MS;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, worker) => {
      let i = worker;
      while (Date.now() < end) {
        const a = i % ids.length;
        const b = (i * 7 + 3) % ids.length;
        i += CONCURRENCY;
        if (a === b) continue;
        latencies.push(
          await post(`${gatewayUrl}/graphql`, tokens[a]!.token, FOLLOW, { id: ids[b] }),
        );
        latencies.push(
          await post(`${gatewayUrl}/graphql`, tokens[a]!.token, UNFOLLOW, { id: ids[b] }),
        );
      }
    }),
  );
  return {
    opsPerSecond: Math.round(latencies.length / (DURATION_MS / 1000)),
    concurrency: CONCURRENCY,
    latencyMs: summarize(latencies),
  };
}

export async function run(): Promise<void> {
  const env = await benchEnv('graph');
  const cfg = parseConfig({ ...process.env, ...env.env });
  const pool = new pg.Pool({ connectionString: env.databaseUrl, max: 2 });
  const running: RunningService[] = [];
  try {
    // Accounts straight into the table: sign-up cost (Argon2) is not what is measured here.
    const { rows } = await pool.query<{ id: string }>(
      `INSERT INTO users.users (username, username_lower, email, password_hash)
       SELECT 'bench' || g, 'bench' || g, 'bench' || g || '@example.com', 'x' FROM generate_series(1, $1) g
       RETURNING id::text`,
      [USERS],
    );
    const ids = rows.map((r) => r.id);
    // Ports first, so each subgraph knows the other's URL: graph asks user whether an
    // account exists, user asks graph for the visibility rule.
    const ports = { user: await freePort(), graph: await freePort() };
    const runCfg = {
      ...cfg,
      SUBGRAPH_USER_URL: `http://127.0.0.1:${ports.user}/graphql`,
      SUBGRAPH_GRAPH_URL: `http://127.0.0.1:${ports.graph}/graphql`,
    };
    for (const name of ['user', 'graph'] as const)
      running.push(await SUBGRAPHS[name]!(runCfg, ports[name]));
    const gateway = await startGateway(runCfg, {
      port: 0,
      subgraphUrls: { user: running[0]!.url, graph: running[1]!.url },
    });
    running.push(gateway);

    console.log(
      `follow/unfollow through the gateway, ${CONCURRENCY} concurrent clients, ${DURATION_MS / 1000} s`,
    );
    const follow = await followThroughput(runCfg, gateway.url, ids);
    console.log(follow);

    console.log(`generating ${FOLLOWERS.toLocaleString()} followers of one user`);
    const star = ids[0]!;
    let t = performance.now();
    await pool.query(
      `INSERT INTO graph.follows (follower_id, followee_id) SELECT g, $1::bigint FROM generate_series(1000000000, 1000000000 + $2 - 1) g`,
      [star, FOLLOWERS],
    );
    await pool.query(
      `INSERT INTO graph.user_stats (user_id, follower_count) VALUES ($1, $2)
       ON CONFLICT (user_id) DO UPDATE SET follower_count = graph.user_stats.follower_count + $2`,
      [star, FOLLOWERS],
    );
    await pool.query('VACUUM ANALYZE graph.follows');
    const generateSeconds = (performance.now() - t) / 1000;

    // 1) The feed's path: internal batch API, 10,000 per batch.
    const graph = createGraphClient({
      baseUrl: baseOf(running[1]!.url),
      caller: 'bench',
      secret: cfg.INTERNAL_SIGNING_SECRET,
    });
    t = performance.now();
    let n = 0;
    for await (const batch of graph.allFollowers(star, 10_000)) n += batch.length;
    const internalSeconds = (performance.now() - t) / 1000;

    // 2) The same keyset scan in raw SQL, for the ratio.
    t = performance.now();
    let m = 0;
    let before: string | null = null;
    for (;;) {
      const r: pg.QueryResult<{ id: string; seq: string }> = await pool.query(
        `SELECT follower_id AS id, seq FROM graph.follows WHERE followee_id = $1 AND ($2::bigint IS NULL OR seq < $2) ORDER BY seq DESC LIMIT 10000`,
        [star, before],
      );
      m += r.rows.length;
      if (r.rows.length < 10_000) break;
      before = r.rows.at(-1)!.seq;
    }
    const sqlSeconds = (performance.now() - t) / 1000;

    // 3) Public GraphQL through the gateway, 100 per page, for the first 50,000.
    const token = (await signAccessToken(cfg, { userId: ids[1]!, sessionId: '1' })).token;
    const PAGE = `query($after: String) { user(username: "bench1") { followers(first: 100, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } } }`;
    t = performance.now();
    let k = 0;
    let after: string | null = null;
    while (k < 50_000) {
      const res = await fetch(`${gateway.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: PAGE, variables: { after } }),
      });
      const body = (await res.json()) as {
        data: { user: { followers: { nodes: unknown[]; pageInfo: { endCursor: string | null } } } };
      };
      k += body.data.user.followers.nodes.length;
      after = body.data.user.followers.pageInfo.endCursor;
      if (!after) break;
    }
    const graphqlSeconds = (performance.now() - t) / 1000;

    const paging = {
      followers: FOLLOWERS,
      generateSeconds: Math.round(generateSeconds * 10) / 10,
      internalApi: {
        rows: n,
        seconds: Math.round(internalSeconds * 100) / 100,
        rowsPerSecond: Math.round(n / internalSeconds),
      },
      rawSql: {
        rows: m,
        seconds: Math.round(sqlSeconds * 100) / 100,
        rowsPerSecond: Math.round(m / sqlSeconds),
      },
      internalToRawSqlRatio: Math.round((n / internalSeconds / (m / sqlSeconds)) * 100) / 100,
      graphqlThroughGateway: {
        rows: k,
        pageSize: 100,
        seconds: Math.round(graphqlSeconds * 100) / 100,
        rowsPerSecond: Math.round(k / graphqlSeconds),
      },
    };
    console.log(paging);
    const file = await writeResults('graph', { followThroughput: follow, paging });
    console.log(`results: ${file}`);
  } finally {
    for (const s of running.reverse()) await s.close();
    await pool.end();
    await env.drop();
  }
}
