// npm run bench soak — a mixed workload through the gateway for SOAK_SECONDS (default 600):
// 80 % feed reads, 10 % posts, 5 % follows, 5 % searches, from SOAK_CLIENTS concurrent
// clients. Every service runs as its own process (`node dist/scripts/start.js <name>`), so
// errors, latency and memory are per process as deployed. Goal: zero 5xx.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { parseConfig } from '../lib/config.js';
import { signAccessToken } from '../lib/auth/tokens.js';
import { SUBGRAPH_NAMES } from '../lib/registry.js';
import {
  benchEnv,
  freePort,
  localServiceEnv,
  rssBytes,
  startChild,
  summarize,
  writeResults,
} from './support.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const CLIENTS = Number(process.env.SOAK_CLIENTS ?? 16);
const USERS = 2000;
const WORDS = [
  'sunset',
  'coffee',
  'beach',
  'mountains',
  'city',
  'friends',
  'café',
  '日本',
  'pizza',
  'golden',
];

type Op = 'feed' | 'post' | 'follow' | 'search';
const pickOp = (x: number): Op =>
  x < 0.8 ? 'feed' : x < 0.9 ? 'post' : x < 0.95 ? 'follow' : 'search';

/** nodejs_heap_size_used_bytes from a service's /metrics (prom-client's default metrics). */
async function heapUsedBytes(port: number): Promise<number | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, {
      signal: AbortSignal.timeout(2000),
    });
    const m = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)$/m.exec(await res.text());
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export async function run(): Promise<void> {
  const env = await benchEnv('soak');
  const storageDir = await mkdtemp(path.join(os.tmpdir(), 'mosaic-soak-'));
  const names = [...SUBGRAPH_NAMES, 'gateway'];
  const ports = Object.fromEntries(
    await Promise.all(names.map(async (n) => [n, await freePort()] as const)),
  );
  const shared: Record<string, string> = {
    ...env.env,
    STORAGE_DIR: storageDir,
    MEDIA_JANITOR_INTERVAL_SECONDS: '0',
    ...localServiceEnv(ports),
  };
  const cfg = parseConfig({ ...process.env, ...shared });
  const pool = new pg.Pool({ connectionString: env.databaseUrl, max: 4 });
  const children: Awaited<ReturnType<typeof startChild>>[] = [];
  try {
    // Accounts, a random follow graph with exact counters, and READY media for the posts.
    const { rows } = await pool.query<{ id: string }>(
      `INSERT INTO users.users (username, username_lower, email, password_hash)
       SELECT 'soak' || g, 'soak' || g, 'soak' || g || '@example.com', 'x' FROM generate_series(1, $1) g RETURNING id::text`,
      [USERS],
    );
    const ids = rows.map((r) => r.id);
    await pool.query(
      `INSERT INTO graph.follows (follower_id, followee_id)
       SELECT a, b FROM (SELECT a.id a, b.id b FROM unnest($1::bigint[]) a(id) CROSS JOIN LATERAL
         (SELECT id FROM unnest($1::bigint[]) id ORDER BY random() LIMIT 40) b) x WHERE a <> b ON CONFLICT DO NOTHING`,
      [ids],
    );
    await pool.query(`
      INSERT INTO graph.user_stats (user_id, follower_count, following_count)
      SELECT u, (SELECT count(*) FROM graph.follows WHERE followee_id = u), (SELECT count(*) FROM graph.follows WHERE follower_id = u)
      FROM (SELECT DISTINCT followee_id u FROM graph.follows UNION SELECT follower_id FROM graph.follows) s`);
    const media = await pool.query<{ id: string; owner_id: string }>(
      `INSERT INTO posts.media (owner_id, type, status, mime_type, bytes, width, height, storage_key, variants, object_keys)
       SELECT o, 'IMAGE', 'READY', 'image/jpeg', 1000, 640, 480, 'm/soak/1080.jpg',
              '[{"width":640,"height":480,"mimeType":"image/jpeg","key":"m/soak/640.jpg","bytes":900}]', '{}'
       FROM unnest($1::bigint[]) o, generate_series(1, 40) RETURNING id::text, owner_id::text`,
      [ids],
    );
    const spare = new Map<string, string[]>();
    for (const m of media.rows) spare.set(m.owner_id, [...(spare.get(m.owner_id) ?? []), m.id]);
    const tokens = await Promise.all(
      ids.map((id) => signAccessToken(cfg, { userId: id, sessionId: '1' })),
    );

    for (const n of names) children.push(await startChild(n, shared));
    const gateway = `http://127.0.0.1:${ports.gateway}/graphql`;

    const stats: Record<Op, { ms: number[]; errors: number; serverErrors: number }> = {
      feed: { ms: [], errors: 0, serverErrors: 0 },
      post: { ms: [], errors: 0, serverErrors: 0 },
      follow: { ms: [], errors: 0, serverErrors: 0 },
      search: { ms: [], errors: 0, serverErrors: 0 },
    };
    const errorSamples: string[] = [];
    const memory: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
    // V8 heap in use, from each service's /metrics: RSS alone cannot tell a leak from V8
    // keeping pages it has grown into; a leak raises the heap's lower envelope (the heap
    // right after collections) minute after minute.
    const heap: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
    const sampler = setInterval(() => {
      void Promise.all(
        children.map(async (c, i) => {
          const name = names[i]!;
          const bytes = await rssBytes(c.pid);
          if (!Number.isNaN(bytes)) memory[name]!.push(Math.round((bytes / 2 ** 20) * 10) / 10);
          const used = await heapUsedBytes(ports[name]!);
          if (used !== null) heap[name]!.push(Math.round((used / 2 ** 20) * 10) / 10);
        }),
      );
    }, 5000);

    const end = Date.now() + SECONDS * 1000;
    console.log(`soak: ${CLIENTS} clients for ${SECONDS} s`);
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (Date.now() < end) {
          const i = Math.floor(Math.random() * ids.length);
          const op = pickOp(Math.random());
          let body: object;
          if (op === 'feed')
            body = {
              query:
                '{ feed(first: 20) { nodes { id caption author { username } media { url } } pageInfo { endCursor } } }',
            };
          else if (op === 'post') {
            const mediaId = spare.get(ids[i]!)?.pop();
            if (!mediaId) continue;
            body = {
              query: 'mutation($input: CreatePostInput!) { createPost(input: $input) { id } }',
              variables: {
                input: { caption: `Soak #${WORDS[i % WORDS.length]} ${i}`, mediaIds: [mediaId] },
              },
            };
          } else if (op === 'follow')
            body = {
              query: 'mutation($id: ID!) { follow(userId: $id) { user { followerCount } } }',
              variables: {
                id: ids[(i + 1 + Math.floor(Math.random() * (ids.length - 1))) % ids.length],
              },
            };
          else
            body = {
              query: 'query($q: String!) { searchPosts(query: $q, first: 20) { nodes { id } } }',
              variables: {
                q:
                  Math.random() < 0.5
                    ? `#${WORDS[i % WORDS.length]}`
                    : WORDS[(i + 3) % WORDS.length],
              },
            };
          const t = performance.now();
          try {
            const res = await fetch(gateway, {
              method: 'POST',
              headers: {
                'content-type': 'application/json',
                authorization: `Bearer ${tokens[i]!.token}`,
              },
              body: JSON.stringify(body),
            });
            const json = (await res.json()) as { errors?: { extensions?: { code?: string } }[] };
            stats[op].ms.push(performance.now() - t);
            const code = json.errors?.[0]?.extensions?.code;
            if (
              res.status >= 500 ||
              code === 'INTERNAL_SERVER_ERROR' ||
              code === 'SERVICE_UNAVAILABLE'
            ) {
              stats[op].serverErrors++;
              if (errorSamples.length < 10)
                errorSamples.push(`${op}: ${res.status} ${JSON.stringify(json.errors?.[0])}`);
            } else if (json.errors) {
              stats[op].errors++;
              if (errorSamples.length < 10)
                errorSamples.push(`${op}: ${res.status} ${JSON.stringify(json.errors[0])}`);
            }
          } catch (err) {
            stats[op].serverErrors++;
            if (errorSamples.length < 10) errorSamples.push(`${op}: ${(err as Error).message}`);
          }
        }
      }),
    );
    clearInterval(sampler);

    const total = Object.values(stats).reduce((n, s) => n + s.ms.length, 0);
    const perOp = Object.fromEntries(
      Object.entries(stats).map(([op, s]) => [
        op,
        {
          requests: s.ms.length,
          clientErrors: s.errors,
          serverErrors: s.serverErrors,
          latencyMs: summarize(s.ms),
        },
      ]),
    );
    // Memory growth: the last minute's average over the first minute's (after warm-up).
    const window = Math.max(1, Math.floor(60 / 5));
    const memoryMB = Object.fromEntries(
      Object.entries(memory).map(([n, xs]) => {
        const avg = (a: number[]) => a.reduce((s, x) => s + x, 0) / Math.max(1, a.length);
        const first = avg(xs.slice(1, 1 + window));
        const last = avg(xs.slice(-window));
        return [
          n,
          {
            start: Math.round(first),
            end: Math.round(last),
            growth: Math.round(last - first),
            max: Math.max(...xs),
          },
        ];
      }),
    );
    // The heap's lowest sample in each minute: flat means no leak, whatever RSS does.
    const heapUsedMinMB = Object.fromEntries(
      Object.entries(heap).map(([n, xs]) => {
        const minutes: number[] = [];
        for (let at = 0; at < xs.length; at += window)
          minutes.push(Math.min(...xs.slice(at, at + window)));
        return [n, minutes];
      }),
    );
    const results = {
      seconds: SECONDS,
      clients: CLIENTS,
      mix: '80 % feed, 10 % posts, 5 % follows, 5 % searches',
      requests: total,
      requestsPerSecond: Math.round(total / SECONDS),
      serverErrors: Object.values(stats).reduce((n, s) => n + s.serverErrors, 0),
      goal: 'zero 5xx',
      perOperation: perOp,
      memoryMB,
      heapUsedMinMBPerMinute: heapUsedMinMB,
      errorSamples,
    };
    console.log(JSON.stringify(results, null, 2));
    console.log(`results: ${await writeResults('soak', results)}`);
  } finally {
    for (const c of children.reverse()) await c.close();
    await pool.end();
    await rm(storageDir, { recursive: true, force: true });
    await env.drop();
  }
}
